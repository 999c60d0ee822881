#!/bin/bash
# shrink.sh: the Fashion-MNIST figures of docs/shrink.md, printed as its tables (issue 15,
# Shrink): the standard recipe's model (scripts/fashion-mnist.sh) dense and pruned to 90%
# (--prune-to 0.9, all kernels together and each kernel on its own, with the recipe's dropout
# 0.2 and without), and a 784-64-10
# student trained alone and distilled from that dense model (--teacher) over 3 seeds.
#   scripts/shrink.sh [BUILD_DIR [OUT_DIR]]     (defaults: build, out/shrink)
# FMNIST_H5 names the data file (default out/fashion-mnist/fmnist.h5, which
# scripts/fashion-mnist.sh writes); NP the ranks (default 2). 12 runs of 20 epochs: 10 to 25
# minutes on 2 cores. A run whose final checkpoint is in OUT_DIR is reused (delete it to redo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$root/build}" && pwd)
out=${2:-$root/out/shrink}
data=${FMNIST_H5:-$root/out/fashion-mnist/fmnist.h5}
np=${NP:-2}
die() { echo "shrink: error: $*" >&2; exit 1; }
[ -x "$bin/nn-train" ] || die "no nn-train in $bin (scripts/build.sh $bin)"
[ -f "$data" ] || die "no $data: run scripts/fashion-mnist.sh first, or set FMNIST_H5"
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The standard recipe (scripts/fashion-mnist.sh) but for the layers and the seed.
recipe=(--data "$data" --activation relu --optimizer adam --lr 1e-3 --lr-schedule cosine
        --dropout 0.2 --batch 128 --epochs 20)

# run NAME ARGS...: trains into $out/NAME (checkpoints, metrics, log) unless its final
# checkpoint is there already (delete the folder to train again); prints the wall seconds.
run() {
    local name=$1 t0 t1
    shift
    if [ -f "$out/$name/ckpt/latest" ] && [ -f "$out/$name/seconds" ]; then
        cat "$out/$name/seconds"
        return
    fi
    rm -rf "${out:?}/$name"
    mkdir -p "$out/$name"
    t0=$(date +%s.%N)
    mpirun -np "$np" --oversubscribe "$bin/nn-train" "${recipe[@]}" "$@" \
        --checkpoint-dir "$out/$name/ckpt" --metrics "$out/$name/metrics.csv" \
        >"$out/$name/train.log" 2>&1 || { tail -5 "$out/$name/train.log" >&2; die "$name failed"; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", b - a }' | tee "$out/$name/seconds"
}
ckpt() { echo "$out/$1/ckpt/$(cat "$out/$1/ckpt/latest")"; }
# test NAME: "accuracy loss" of NAME's final checkpoint on the 10,000 test images
test_of() {
    local r
    r=$(mpirun -np "$np" --oversubscribe "$bin/nn-predict" --model "$(ckpt "$1")" --data "$data" \
        --split test --output "$out/$1/test-preds.csv" 2>&1 | grep '^result ') ||
        die "no result line from nn-predict on $1"
    echo "$(sed -n 's/.* accuracy \([0-9.]*\) .*/\1/p' <<<"$r") $(sed -n 's/.* loss \([^ ]*\) .*/\1/p' <<<"$r")"
}
# sparsity NAME: "zeros per kernel ...; all" of NAME's final checkpoint's kernels
sparsity() {
    /usr/bin/python3 - "$(ckpt "$1")" <<'PY'
import sys
import h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
ks = [f[f"model/dense_{i}/kernel"][...] for i in range(len(f["model"]))]
z = [int((k == 0).sum()) for k in ks]
n = [k.size for k in ks]
print(" ".join(f"{100 * a / b:.1f}%" for a, b in zip(z, n)) +
      f"; all {100 * sum(z) / sum(n):.2f}% ({sum(z)} of {sum(n)})")
PY
}
pct() { awk -v a="$1" 'BEGIN { printf "%.2f%%", 100 * a }'; }

echo "shrink: $("$bin/nn-train" --version | head -1), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), $np ranks, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "shrink: recipe ${recipe[*]}"
echo

# ---- pruning ----
P=(--prune-to 0.9 --prune-start 1 --prune-end 10)
# name, the flags beyond the recipe as the table shows them, and as nn-train takes them
rows=("dense|(none)|"
      "dense-nodrop|--dropout 0|--dropout 0"
      "pruned-global|${P[*]}|${P[*]}"
      "pruned-global-nodrop|${P[*]} --dropout 0|${P[*]} --dropout 0"
      "pruned-layer|${P[*]} --prune-scope layer|${P[*]} --prune-scope layer"
      "pruned-layer-nodrop|${P[*]} --prune-scope layer --dropout 0|${P[*]} --prune-scope layer --dropout 0")
declare -A secs
for r in "${rows[@]}"; do
    IFS='|' read -r name _ args <<<"$r"
    # shellcheck disable=SC2086 # the flags split into words
    secs[$name]=$(run "$name" --layers 784,256,128,10 --seed 42 $args)
done
read -r a_dense l_dense <<<"$(test_of dense)"
echo "### Pruning: 784-256-128-10 to 90% sparsity"
echo
echo "| model | flags beyond the recipe | kernel weights pruned, per layer; all | test accuracy | test loss | change from dense | training |"
echo "|---|---|---|---|---|---|---|"
best="" best_a=0
for r in "${rows[@]}"; do
    IFS='|' read -r name flags _ <<<"$r"
    read -r a l <<<"$(test_of "$name")"
    d=$(awk -v a="$a" -v b="$a_dense" 'BEGIN { printf "%+.2f points", 100 * (a - b) }')
    echo "| $name | \`$flags\` | $(sparsity "$name") | $(pct "$a") | $l | $d | ${secs[$name]} s |"
    if [[ $name == pruned-* ]] && awk -v a="$a" -v b="$best_a" 'BEGIN { exit !(a > b) }'; then
        best=$name best_a=$a
    fi
done
echo
awk -v a="$best_a" -v b="$a_dense" -v n="$best" 'BEGIN {
    d = 100 * (b - a)
    printf "Best at 90%%: %s, %.2f points below the dense model (%s 0.5).\n", n, d, d <= 0.5 ? "within" : "NOT within" }'
echo

# ---- distillation ----
teacher=$(ckpt dense)
echo "### Distillation: a 784-64-10 student, alone and from the dense model above"
echo
echo "Teacher: the dense model ($(pct "$a_dense") test accuracy). Distilled: \`--teacher dense.h5 --distill-alpha 0.5 --temperature 1\`."
echo
echo "| seed | alone: test accuracy | distilled: test accuracy | gain | alone: training | distilled: training |"
echo "|---|---|---|---|---|---|"
gains=()
for seed in 1 2 3; do
    sa=$(run "student-$seed" --layers 784,64,10 --seed "$seed")
    sd=$(run "distilled-$seed" --layers 784,64,10 --seed "$seed" --teacher "$teacher" \
        --distill-alpha 0.5 --temperature 1)
    read -r aa _ <<<"$(test_of "student-$seed")"
    read -r ad _ <<<"$(test_of "distilled-$seed")"
    g=$(awk -v a="$ad" -v b="$aa" 'BEGIN { printf "%.2f", 100 * (a - b) }')
    gains+=("$g")
    echo "| $seed | $(pct "$aa") | $(pct "$ad") | ${g} points | ${sa} s | ${sd} s |"
done
printf '%s\n' "${gains[@]}" | awk 'NR == 1 || $1 < lo { lo = $1 } { s += $1; q += $1 * $1; n++ } END {
    m = s / n; sd = n > 1 ? sqrt((q - n * m * m) / (n - 1)) : 0
    printf "\nGain over %d seeds: mean %+.2f points, standard deviation %.2f, smallest %+.2f.\n", n, m, sd, lo }'
