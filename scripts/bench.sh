#!/bin/bash
# bench.sh: the training step of nn-train against PyTorch and against its own sgemm ceiling,
# in one run on one machine (docs/performance.md).
#
#   scripts/bench.sh [--quick] [BUILD_DIR]        (BUILD_DIR defaults to build/)
#
# For each model (1-64-64-1 batch 32, 784-256-128-10 batch 128, 784-1024-1024-1024-10 batch
# 256) it measures samples/s of:
#   - nn-train at -np 1 and -np 2, one OpenBLAS thread per rank, Adam, on a synthetic file in
#     a temporary directory (--val-fraction 0, 3 epochs, default shuffle). The figure is the
#     mean samples_per_sec of epochs 2-3 from --metrics (the training loop only: no loading,
#     no validation); epoch 1 is warm-up.
#   - PyTorch (scripts/bench_torch.py under /usr/bin/python3, or $TORCH_PYTHON): one process
#     at its best 2-core setting (torch 1 thread + OpenBLAS 2, or torch 2 + OpenBLAS 1), and
#     DDP (gloo, 2 processes x 1 thread). Skipped, with a note, if torch does not import.
#   - the sgemm ceiling (tests/sgemm_ceiling): only the matrix products of one step, on 2
#     OpenBLAS threads at the full batch, best of many repetitions.
# and nn-train's np 2 step split (rank 0): matrix products, element-wise work + optimizer,
# waiting in the allreduce. nn-train reports compute_s and allreduce_s per epoch; the matrix
# share is ESTIMATED as steps x the median time of the same products in isolation
# (sgemm_ceiling at the rank's batch, 1 thread); element-wise + optimizer = compute - that.
# --quick runs shorter epochs (about 1 s instead of 3 s); its figures are noisier.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=3
if [ "${1:-}" = --quick ]; then
    secs=1
    shift
fi
build=${1:-$root/build}
torch_py=${TORCH_PYTHON:-/usr/bin/python3}

if [ ! -x "$build/nn-train" ] || [ ! -x "$build/tests/make_data" ] ||
    [ ! -x "$build/tests/sgemm_ceiling" ]; then
    echo "bench: building in $build" >&2
    "$root/scripts/build.sh" "$build" >&2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_pml=ob1

have_torch=0
if [ -x "$torch_py" ] && "$torch_py" -c 'import torch' 2>/dev/null; then
    have_torch=1
fi

# key=value from a sgemm_ceiling line
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
# a number from a JSON line of bench_torch.py
js() { sed -n "s/.*\"$1\": *\([-0-9.e+]*\).*/\1/p" <<<"$2"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

rows=()
splits=()
for spec in "1,64,64,1 32 regress" "784,256,128,10 128 blobs" "784,1024,1024,1024,10 256 blobs"; do
    read -r layers batch kind <<<"$spec"
    echo "bench: $layers batch $batch" >&2
    d=${layers%%,*}
    k=${layers##*,}
    half=$((batch / 2))

    # The sgemm ceiling, and the per-step product time the split is estimated from.
    c2=$("$build/tests/sgemm_ceiling" "$layers" "$batch" 2)
    c1=$("$build/tests/sgemm_ceiling" "$layers" "$batch" 1)
    ch=$("$build/tests/sgemm_ceiling" "$layers" "$half" 1)
    ceil2=$(kv samples_per_sec "$c2")
    mm1=$(kv median_step_s "$c1")
    mm2=$(kv median_step_s "$ch")

    # A data set of about $secs s of steps per epoch: guess nn-train at 40% of the 1-thread
    # ceiling; at least 20 batches, at most 60000 rows.
    n=$(awk -v c="$(kv samples_per_sec "$c1")" -v s="$secs" -v b="$batch" 'BEGIN {
        n = int(c * 0.4 * s / b) * b; if (n < 20 * b) n = 20 * b;
        if (n > 60000 && b > 32) n = 60000; print n }')
    if [ "$kind" = regress ]; then
        "$build/tests/make_data" regress "$work/d.h5" "$n" "$d" "$k" 3
    else
        "$build/tests/make_data" blobs "$work/d.h5" "$n" "$d" "$k" 3 0 8.0
    fi
    steps=$(((n + batch - 1) / batch))

    declare -A sps=() comp=() ar=()
    for np in 1 2; do
        rm -f "$work/m.csv"
        mpirun -np "$np" "$build/nn-train" --data "$work/d.h5" --layers "$layers" \
            --batch "$batch" --epochs 3 --val-fraction 0 --quiet --metrics "$work/m.csv"
        # columns: 6 samples_per_sec, 8 compute_s, 9 allreduce_s; epochs 2 and 3
        read -r sps[$np] comp[$np] ar[$np] < <(awk -F, 'NR > 2 { s += $6; c += $8; a += $9; m++ }
            END { printf "%.1f %.6f %.6f\n", s / m, c / m, a / m }' "$work/m.csv")
    done

    tsingle=- tddp=- tcfg=-
    if [ "$have_torch" = 1 ]; then
        out=$(timeout 300 "$torch_py" "$root/scripts/bench_torch.py" single --layers "$layers" \
            --batch "$batch" --seconds "$secs" | grep '"best": true' || true)
        tsingle=$(js samples_per_sec "$out")
        tcfg="$(js torch_threads "$out"):$(js openblas_threads "$out")"
        out=$(timeout 300 "$torch_py" "$root/scripts/bench_torch.py" ddp --layers "$layers" \
            --batch "$batch" --seconds "$secs" | grep '"best": true' || true)
        tddp=$(js samples_per_sec "$out")
        [ -n "$tsingle" ] || tsingle=-
        [ -n "$tddp" ] || tddp=-
    fi
    ratio() { if [ "$2" = - ]; then echo -; else calc "%.2f" "$1 / $2"; fi; }
    rows+=("$(printf '%s|%s|%.0f|%.0f|%s|%s|%s|%s|%.0f|%s|%s' "$layers" "$batch" \
        "${sps[1]}" "${sps[2]}" \
        "$([ "$tsingle" = - ] && echo - || calc %.0f "$tsingle") ($tcfg)" \
        "$([ "$tddp" = - ] && echo - || calc %.0f "$tddp")" \
        "$(ratio "${sps[2]}" "$tsingle")" "$(ratio "${sps[2]}" "$tddp")" \
        "$ceil2" "$(ratio "${sps[2]}" "$ceil2")" "$(ratio "${sps[2]}" "${sps[1]}")")")
    for np in 1 2; do
        mm=$([ "$np" = 1 ] && echo "$mm1" || echo "$mm2")
        splits+=("$(awk -v L="$layers" -v np="$np" -v st="$steps" -v mm="$mm" \
            -v c="${comp[$np]}" -v a="${ar[$np]}" 'BEGIN {
            t = c + a; m = st * mm; e = c - m;
            printf "%s|%d|%.4f|%.4f|%.0f%%|%.0f%%|%.0f%%|%.1f", L, np, t / st * 1e3, mm * 1e3,
                100 * m / t, 100 * e / t, 100 * a / t, a / st * 1e6 }')")
    done
    unset sps comp ar
done

echo
echo "samples/s, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'); nn-train: 1 OpenBLAS thread per rank"
[ "$have_torch" = 1 ] || echo "NOTE: torch does not import under $torch_py: PyTorch columns skipped"
printf '| %s |\n' "model | batch | nn np1 | nn np2 | torch single (t:ob) | torch DDP | np2/torch single | np2/torch DDP | sgemm ceiling (2 thr) | np2/ceiling | np2/np1"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do
    printf '| %s |\n' "${r//|/ | }"
done
echo
echo "nn-train step split (rank 0; mean of epochs 2-3). matmul is ESTIMATED: steps x the median"
echo "time of the same sgemm calls alone at the rank's batch on 1 thread (tests/sgemm_ceiling);"
echo "elementwise+optimizer = compute_s - matmul (so it also holds batch copies and zeroing);"
echo "allreduce = allreduce_s, the wait in the one allreduce per step (includes rank imbalance)."
printf '| %s |\n' "model | np | step ms | sgemm ms/step | % matmul | % elementwise+optimizer | % allreduce wait | allreduce us/step"
echo "|---|---|---|---|---|---|---|---|"
for r in "${splits[@]}"; do
    printf '| %s |\n' "${r//|/ | }"
done
