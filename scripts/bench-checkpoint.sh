#!/bin/bash
# bench-checkpoint.sh: time to write and to load (verify) a checkpoint of a 784-1024-1024-10
# model with Adam state (1.86 M parameters, 22 MB), on this machine's disk. Needs build/.
#   scripts/bench-checkpoint.sh [REPEATS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
reps=${1:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/nn-bench-ckpt.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OPENBLAS_NUM_THREADS=1
"$root/build/tests/tools/make_data" blobs "$work/d.h5" 256 784 10 1
# One step per epoch (batch 0), a checkpoint after each: io_s in the metrics is the write.
"$root/build/nn-train" --data "$work/d.h5" --layers 784,1024,1024,10 --batch 0 \
    --epochs "$reps" --val-fraction 0 --checkpoint-dir "$work/ck" --keep 1 --quiet \
    --metrics "$work/m.csv"
ck=$(ls "$work"/ck/ckpt-*.h5 | tail -1)
echo "checkpoint: $(basename "$ck"), $(stat -c %s "$ck") bytes"
awk -F, 'NR > 1 { s += $10; if (min == "" || $10 < min) min = $10; n++ }
    END { printf "write (build in memory, write, fsync, rename): mean %.1f ms, best %.1f ms over %d\n",
          1000 * s / n, 1000 * min, n }' "$work/m.csv"
# Load = nn-train --verify (open, read every tensor through Fletcher32, checksum) minus the
# start-up of the same binary doing nothing (--version).
t() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000)); }
best_v=999999999 best_0=999999999
for _ in $(seq "$reps"); do
    v=$(t "$root/build/nn-train" --verify "$ck"); z=$(t "$root/build/nn-train" --version)
    [ "$v" -lt "$best_v" ] && best_v=$v
    [ "$z" -lt "$best_0" ] && best_0=$z
done
echo "load and verify: $(((best_v - best_0) / 1000)) ms (best of $reps; --verify $((best_v / 1000)) ms minus start-up $((best_0 / 1000)) ms)"
