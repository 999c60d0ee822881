#!/bin/bash
# bench-export.sh: the exported int8 models of docs/export.md side by side with the float
# checkpoints they came from, on Fashion-MNIST's test split: file size, weight bytes, the
# ratio to the float32 weights, test accuracy, single-row latency and batch throughput.
#   scripts/bench-export.sh [--build DIR] [--data FILE] [--dense CKPT] [--pruned CKPT]
#                           [--out DIR] [--repeats R] [--quick]
# Models: the standard recipe's checkpoint (scripts/fashion-mnist.sh: out/fashion-mnist) and a
# 90%-sparse one, trained here with the same recipe and --prune-to 0.9 unless --pruned names
# one (into OUT/pruned-ckpt, kept for the next run). Each is run as the float checkpoint
# (OpenBLAS sgemm, zeros and all) and exported with nn-predict --export: int8 (dense codes) and,
# for the pruned one, sparse (CSC codes). Timing: nn-predict's own "compute" time (the forward
# passes, softmax and metrics; not reading the data) over the 10,000 rows, one process, one
# OpenBLAS thread: --batch 1 for one row at a time (us/row), --batch 256 for throughput
# (rows/s); best of R rounds (5), each running every model once. --quick: 1 round and, if no
# pruned checkpoint exists, one pruned one-shot from the dense one (tests/tools/prune_ckpt)
# instead of training.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
data=$root/out/fashion-mnist/fmnist.h5
dense=""
pruned=""
out=$root/out/bench-export
reps=5
quick=0
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --data) data=$2; shift 2 ;;
    --dense) dense=$2; shift 2 ;;
    --pruned) pruned=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --repeats) reps=$2; shift 2 ;;
    --quick) quick=1; reps=1; shift ;;
    *) echo "bench-export.sh: unknown argument '$1' (see the comment at the top)" >&2; exit 2 ;;
    esac
done
predict=$build/nn-predict
[ -x "$predict" ] || { echo "bench-export.sh: no $predict (scripts/build.sh $build)" >&2; exit 1; }
[ -f "$data" ] || { echo "bench-export.sh: no $data (scripts/fashion-mnist.sh makes it)" >&2; exit 1; }
if [ -z "$dense" ]; then
    d=$root/out/fashion-mnist/ckpt
    [ -f "$d/latest" ] || { echo "bench-export.sh: no $d/latest (scripts/fashion-mnist.sh)" >&2; exit 1; }
    dense=$d/$(cat "$d/latest")
fi
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_pml=ob1 OMPI_MCA_rmaps_base_oversubscribe=1

# The pruned checkpoint: given, kept from an earlier run, or made now.
if [ -z "$pruned" ]; then
    if [ -f "$out/pruned-ckpt/latest" ]; then
        pruned=$out/pruned-ckpt/$(cat "$out/pruned-ckpt/latest")
    elif [ "$quick" = 1 ]; then
        pruned=$out/pruned-oneshot.h5
        "$build/tests/tools/prune_ckpt" "$dense" "$pruned" 0.9
    else
        echo "training the pruned model (the recipe with --prune-to 0.9) into $out/pruned-ckpt"
        mpirun -np 2 --oversubscribe "$build/nn-train" --data "$data" \
            --layers 784,256,128,10 --activation relu --optimizer adam --lr 1e-3 \
            --lr-schedule cosine --dropout 0.2 --batch 128 --epochs 20 --seed 42 \
            --prune-to 0.9 --checkpoint-dir "$out/pruned-ckpt" --metrics "$out/pruned-metrics.csv" \
            --quiet
        pruned=$out/pruned-ckpt/$(cat "$out/pruned-ckpt/latest")
    fi
fi

# The exports.
"$predict" --model "$dense" --export "$out/dense-int8.nnq" --export-storage int8 >"$out/dense-int8.txt"
"$predict" --model "$pruned" --export "$out/pruned-int8.nnq" --export-storage int8 >"$out/pruned-int8.txt"
"$predict" --model "$pruned" --export "$out/pruned-sparse.nnq" --export-storage auto >"$out/pruned-sparse.txt"

# compute_s MODEL BATCH: nn-predict's compute seconds for one run; leaves its output in
# $out/run.txt.
compute_s() {
    "$predict" --model "$1" --data "$data" --split test --batch "$2" >"$out/run.txt"
    sed -n 's/^time .* compute \([0-9.]*\)s .*/\1/p' "$out/run.txt"
}
params=$((784 * 256 + 256 * 128 + 128 * 10 + 256 + 128 + 10))
fw=$((params * 4))
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] || commit+=" (tree with uncommitted changes)"
echo "Export, $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)), load average $(cut -d' ' -f1-3 /proc/loadavg); commit $commit"
echo "dense: $dense"
echo "pruned: $pruned"
echo "float32 weights of 784-256-128-10: $params floats, $fw bytes; timing: nn-predict compute time on /test (10,000 rows), 1 process, 1 thread, best of $reps rounds"
echo
# The five models, timed in rounds (each round runs every model once at --batch 1 and 256),
# so that a busy spell on the machine falls on all of them; each keeps its best time.
names=(dense dense "pruned 90%" "pruned 90%" "pruned 90%")
formats=("float32 checkpoint" int8 "float32 checkpoint" int8 "sparse (CSC int8)")
models=("$dense" "$out/dense-int8.nnq" "$pruned" "$out/pruned-int8.nnq" "$out/pruned-sparse.nnq")
arrays() { sed -n 's/^size .* arrays \([0-9]*\) bytes.*/\1/p' "$1"; }
weights=("$fw" "$(arrays "$out/dense-int8.txt")" "$fw" "$(arrays "$out/pruned-int8.txt")"
         "$(arrays "$out/pruned-sparse.txt")")
declare -a one many acc
for _ in $(seq "$reps"); do
    for m in 0 1 2 3 4; do
        t=$(compute_s "${models[$m]}" 1)
        acc[m]=$(sed -n 's/^result .* accuracy \([^ ]*\) .*/\1/p' "$out/run.txt")
        one[m]=$(awk -v a="$t" -v b="${one[$m]:-}" 'BEGIN { print (b == "" || a < b) ? a : b }')
        t=$(compute_s "${models[$m]}" 256)
        many[m]=$(awk -v a="$t" -v b="${many[$m]:-}" 'BEGIN { print (b == "" || a < b) ? a : b }')
    done
done
echo "| model | format | file bytes | weight bytes | float32 weights / file | test accuracy | 1 row (us) | batch 256 (rows/s) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for m in 0 1 2 3 4; do
    awk -v n="${names[$m]}" -v f="${formats[$m]}" -v s="$(stat -c %s "${models[$m]}")" \
        -v w="${weights[$m]}" -v fw="$fw" -v a="${acc[$m]}" -v o="${one[$m]}" -v b="${many[$m]}" 'BEGIN {
        printf "| %s | %s | %d | %d | %.2fx | %.2f%% | %.1f | %.0f |\n", n, f, s, w, fw / s, 100 * a,
               1e6 * o / 10000, 10000 / b }'
done
echo
echo "nn-predict --export of the pruned model (storage auto):"
sed 's/^/    /' "$out/pruned-sparse.txt"
