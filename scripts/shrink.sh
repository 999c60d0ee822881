#!/bin/bash
# shrink.sh: the Fashion-MNIST figures of docs/shrink.md, printed as its tables (issue 15,
# Shrink): the standard recipe's model (scripts/fashion-mnist.sh) dense and pruned to 90%
# (--prune-to 0.9, all kernels together and each kernel on its own, with the recipe's dropout
# 0.2 and without), and a 784-64-10 student trained alone and distilled from that dense model
# (--teacher): the settings (alpha, T, dropout, epochs) chosen on a validation split, then the
# chosen ones over 3 seeds on the test set.
#   scripts/shrink.sh [BUILD_DIR [OUT_DIR]]     (defaults: build, out/shrink)
# FMNIST_H5 names the data file (default out/fashion-mnist/fmnist.h5, which
# scripts/fashion-mnist.sh writes); NP the ranks (default 2); KD_OUT the distillation's
# folder (default out/kd). Pruning: 6 runs of 20 epochs in OUT_DIR, 10 to 25 minutes on 2
# cores; distillation: 57 runs in KD_OUT, most of them of the 784-64-10 student, 10 to 25
# minutes. A run whose final checkpoint is in its folder is reused (delete it to redo).
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
    local o=${rdir:-$out}
    if [ -f "$o/$name/ckpt/latest" ] && [ -f "$o/$name/seconds" ]; then
        cat "$o/$name/seconds"
        return
    fi
    rm -rf "${o:?}/$name"
    mkdir -p "$o/$name"
    t0=$(date +%s.%N)
    mpirun -np "$np" --oversubscribe "$bin/nn-train" "${recipe[@]}" "$@" \
        --checkpoint-dir "$o/$name/ckpt" --metrics "$o/$name/metrics.csv" \
        >"$o/$name/train.log" 2>&1 || { tail -5 "$o/$name/train.log" >&2; die "$name failed"; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", b - a }' | tee "$o/$name/seconds"
}
ckpt() { echo "${rdir:-$out}/$1/ckpt/$(cat "${rdir:-$out}/$1/ckpt/latest")"; }
# val NAME: the final epoch's validation accuracy of a run (its metrics.csv)
val_of() { awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "val_accuracy") c = i } END { print $c }' "${rdir:-$out}/$1/metrics.csv"; }
# test NAME: "accuracy loss" of NAME's final checkpoint on the 10,000 test images
test_of() {
    local r
    r=$(mpirun -np "$np" --oversubscribe "$bin/nn-predict" --model "$(ckpt "$1")" --data "$data" \
        --split test --output "${rdir:-$out}/$1/test-preds.csv" 2>&1 | grep '^result ') ||
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
# Settings are chosen on a validation split, never on the test set: KD_OUT/fmnist-dev.h5 is
# the data file with 6000 of its /train rows (numpy default_rng(15)) moved to /val, a teacher
# is trained on the other 54000 (the recipe, seed 42) so that it has never seen /val, and each
# setting trains students of seeds 11 and 12 (not the final seeds). The best distilled
# setting and the best student alone by mean validation accuracy then train over seeds 1-3 on
# the full data file from the dense model above, and are compared on the test set.
kd=${KD_OUT:-$root/out/kd}
mkdir -p "$kd"
kd=$(cd "$kd" && pwd)
dev=$kd/fmnist-dev.h5
if [ ! -f "$dev" ]; then
    /usr/bin/python3 - "$data" "$dev.tmp" <<'PY'
import sys
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f, h5py.File(sys.argv[2], "w") as g:
    x, y = f["train/x"][...], f["train/y"][...]
    perm = np.random.default_rng(15).permutation(len(y))
    for name, rows in (("train", np.sort(perm[6000:])), ("val", np.sort(perm[:6000]))):
        g[f"{name}/x"], g[f"{name}/y"] = x[rows], y[rows]
    g["test/x"], g["test/y"] = f["test/x"][...], f["test/y"][...]
    for k, v in f.attrs.items():
        g.attrs[k] = v
    g.attrs["derived"] = "/train of " + sys.argv[1] + ": 6000 rows (numpy default_rng(15)) as /val"
PY
    mv "$dev.tmp" "$dev"
fi
teacher=$(ckpt dense)
# shellcheck disable=SC2054 # a flag and its value
S=(--layers 784,64,10)
rdir=$kd
tdev=$(run teacher-dev --data "$dev" --layers 784,256,128,10 --seed 42)
dev_teacher=$(ckpt teacher-dev)
echo "### Distillation: a 784-64-10 student, alone and from the dense model above"
echo
echo "#### Choosing the settings on a validation split"
echo
echo "Teacher: 784-256-128-10 on \`fmnist-dev.h5\` (54,000 rows; /val its 6,000 others), the recipe, seed 42: $(pct "$(val_of teacher-dev)") validation accuracy (${tdev} s)."
echo "Every student: the recipe with \`--layers 784,64,10\` and the dropout and epochs of its row (the cosine schedule spans the epochs); validation accuracy after the last epoch, seeds 11 and 12."
echo
echo "| student | dropout | epochs | seed 11 | seed 12 | mean |"
echo "|---|---|---|---|---|---|"
sel=() # "mean|tag|dropout|epochs|flags"
sfx() { [ "$1" = 20 ] || echo "-e$1"; } # run names: 20 epochs unmarked
for de in 0.2/20 0/20 0/40; do
    drop=${de%/*} ep=${de#*/}
    cfgs=("alone|")
    if [ "$ep" = 20 ]; then Ts=(1 2 4 8); else Ts=(1 4); fi
    for a in 0.5 0.9; do
        for T in "${Ts[@]}"; do cfgs+=("a$a-T$T|--distill-alpha $a --temperature $T"); done
    done
    for c in "${cfgs[@]}"; do
        IFS='|' read -r tag flags <<<"$c"
        vs=()
        for seed in 11 12; do
            name=dev-$tag-d$drop$(sfx "$ep")-s$seed
            if [ "$tag" = alone ]; then
                run "$name" --data "$dev" "${S[@]}" --seed "$seed" --dropout "$drop" --epochs "$ep" >/dev/null
            else
                # shellcheck disable=SC2086 # the flags split into words
                run "$name" --data "$dev" "${S[@]}" --seed "$seed" --dropout "$drop" --epochs "$ep" \
                    --teacher "$dev_teacher" $flags >/dev/null
            fi
            vs+=("$(val_of "$name")")
        done
        m=$(awk -v a="${vs[0]}" -v b="${vs[1]}" 'BEGIN { printf "%.6f", (a + b) / 2 }')
        sel+=("$m|$tag|$drop|$ep|$flags")
        echo "| ${flags:-alone} | $drop | $ep | $(pct "${vs[0]}") | $(pct "${vs[1]}") | $(pct "$m") |"
    done
done
# the best distilled and the best alone by mean validation accuracy (the first on a tie)
best() { printf '%s\n' "${sel[@]}" | awk -F'|' -v want="$1" '($2 == "alone") == (want == "alone") && $1 > m { m = $1; b = $0 } END { print b }'; }
IFS='|' read -r _ _ drop_d ep_d flags_d <<<"$(best distilled)"
IFS='|' read -r _ _ drop_a ep_a _ <<<"$(best alone)"
echo
echo "Chosen: distilled \`$flags_d --dropout $drop_d --epochs $ep_d\`; alone \`--dropout $drop_a --epochs $ep_a\`."
echo
echo "#### The chosen settings on the test set, seeds 1-3"
echo
echo "Teacher: the dense model above ($(pct "$a_dense") test accuracy), on the full data file; test accuracy of each final checkpoint on the 10,000 test images."
echo
echo "| seed | alone, the recipe (dropout 0.2, 20 epochs) | alone, chosen | distilled, chosen | gain over alone, chosen | gain over the recipe alone | distilled: training |"
echo "|---|---|---|---|---|---|---|"
gains=() gains2=()
for seed in 1 2 3; do
    run "alone-d0.2-s$seed" "${S[@]}" --seed "$seed" --dropout 0.2 >/dev/null
    na=alone-d$drop_a$(sfx "$ep_a")-s$seed
    nd=distilled-$(tr -d ' -' <<<"$flags_d" | sed 's/distillalpha/a/; s/temperature/-T/')-d$drop_d$(sfx "$ep_d")-s$seed
    run "$na" "${S[@]}" --seed "$seed" --dropout "$drop_a" --epochs "$ep_a" >/dev/null
    # shellcheck disable=SC2086 # the flags split into words
    sd=$(run "$nd" "${S[@]}" --seed "$seed" --dropout "$drop_d" --epochs "$ep_d" --teacher "$teacher" $flags_d)
    read -r a2 _ <<<"$(test_of "alone-d0.2-s$seed")"
    read -r aa _ <<<"$(test_of "$na")"
    read -r ad _ <<<"$(test_of "$nd")"
    g=$(awk -v a="$ad" -v b="$aa" 'BEGIN { printf "%.2f", 100 * (a - b) }')
    g2=$(awk -v a="$ad" -v b="$a2" 'BEGIN { printf "%.2f", 100 * (a - b) }')
    gains+=("$g") gains2+=("$g2")
    echo "| $seed | $(pct "$a2") | $(pct "$aa") | $(pct "$ad") | ${g} points | ${g2} points | ${sd} s |"
done
stats() { printf '%s\n' "$@" | awk 'NR == 1 || $1 < lo { lo = $1 } { s += $1; q += $1 * $1; n++ } END {
    m = s / n; sd = n > 1 ? sqrt((q - n * m * m) / (n - 1)) : 0
    r = "inf"
    if (sd > 0) r = sprintf("%.1f", m / sd)
    printf "mean %+.2f points, standard deviation %.2f, smallest %+.2f, mean / standard deviation %s", m, sd, lo, r }'; }
echo
echo "Gain over alone as chosen, 3 seeds: $(stats "${gains[@]}")."
echo "Gain over the recipe alone, 3 seeds: $(stats "${gains2[@]}")."
# A check of the plumbing (the rows, the teacher's inference pass and its input scaling): a
# student as large as the teacher, from the teacher's outputs alone (--distill-alpha 1, the
# labels unused) at T 1, should come close to the teacher and agree with it on most images.
run "check-a1-T1" --layers 784,256,128,10 --seed 5 --dropout 0 --epochs 10 --teacher "$teacher" \
    --distill-alpha 1 --temperature 1 >/dev/null
read -r ac _ <<<"$(test_of check-a1-T1)"
agree=$(/usr/bin/python3 - "$kd/check-a1-T1/test-preds.csv" "$out/dense/test-preds.csv" <<'PY'
import csv, sys
a, b = ([r["class"] for r in csv.DictReader(open(p))] for p in sys.argv[1:])
print(f"{100 * sum(x == y for x, y in zip(a, b)) / len(a):.1f}%")
PY
)
ttrain=$(mpirun -np "$np" --oversubscribe "$bin/nn-predict" --model "$teacher" --data "$data" \
    --split train 2>&1 | sed -n 's/^result .* accuracy \([0-9.]*\) .*/\1/p')
[ -n "$ttrain" ] || die "no result line from nn-predict on the teacher's training images"
echo
echo "The dense model on the 60,000 training images (most of which it trained on): $(pct "$ttrain") accuracy."
echo
echo "Check: a 784-256-128-10 student from the dense model's outputs alone (\`--distill-alpha 1 --temperature 1 --dropout 0 --epochs 10\`, seed 5): $(pct "$ac") test accuracy (the teacher: $(pct "$a_dense")); it predicts the teacher's class on $agree of the test images."
