#!/bin/bash
# compare-builds.sh: two nn-train binaries on the same training step, in turns, so that the
# slow and fast spells of a shared machine fall on both alike. For a change's before/after:
# build the old commit into one directory and the new one into another, then
#   scripts/compare-builds.sh OLD_NN_TRAIN NEW_NN_TRAIN [ROUNDS] [LAYERS] [BATCH] [ROWS] [NPS]
# Defaults: 3 rounds, 784,1024,1024,1024,10, batch 256, 20480 rows, np "1 2". Each run is
# 4 epochs on a synthetic file (tests/tools/make_data of the build next to NEW_NN_TRAIN); the
# figures are means of epochs 2-4 from --metrics: samples/s, rank 0's allreduce_s and the
# worst rank's allreduce_max_s (seconds per epoch; an old binary without that column shows
# "-"). The last lines give, per np, new/old samples/s of each round and their median.
set -euo pipefail
if [ $# -lt 2 ]; then
    sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
    exit 2
fi
old=$1 new=$2 rounds=${3:-3} layers=${4:-784,1024,1024,1024,10} batch=${5:-256}
rows=${6:-20480} nps=${7:-"1 2"}
for b in "$old" "$new"; do
    [ -x "$b" ] || { echo "compare-builds.sh: $b: not an executable" >&2; exit 2; }
done
make_data=$(dirname "$new")/tests/tools/make_data
[ -x "$make_data" ] || { echo "compare-builds.sh: $make_data: not found (build the tests)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$make_data" blobs "$work/d.h5" "$rows" "${layers%%,*}" "${layers##*,}" 3 0 8.0 >/dev/null

declare -A sps=()
echo "| round | build | np | samples/s | allreduce_s | allreduce_max_s |"
echo "|---|---|---|---|---|---|"
for ((r = 1; r <= rounds; r++)); do
    for which in old new; do
        bin=$old
        [ "$which" = new ] && bin=$new
        for np in $nps; do
            mpirun -np "$np" "$bin" --data "$work/d.h5" --layers "$layers" --batch "$batch" \
                --epochs 4 --val-fraction 0 --quiet --metrics "$work/m.csv" >/dev/null
            # columns: 6 samples_per_sec, 9 allreduce_s, 14 allreduce_max_s (when present)
            read -r s a w < <(awk -F, 'NR > 2 { s += $6; a += $9; w += $14; m++ }
                END { printf "%.1f %.4f %s\n", s / m, a / m, (NF >= 14 ? sprintf("%.4f", w / m) : "-") }' \
                "$work/m.csv")
            sps[$which,$np,$r]=$s
            echo "| $r | $which | $np | $s | $a | $w |"
        done
    done
done
echo
for np in $nps; do
    ratios=()
    for ((r = 1; r <= rounds; r++)); do
        ratios+=("$(awk -v a="${sps[old,$np,$r]}" -v b="${sps[new,$np,$r]}" 'BEGIN { printf "%.3f", b / a }')")
    done
    median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    echo "np $np: new/old samples/s by round: ${ratios[*]}; median $median"
done
