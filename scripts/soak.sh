#!/bin/bash
# soak.sh: a long resume loop. One training run is interrupted RUNS times, each time at a
# random event (a checkpoint completed, a checkpoint being written, a rank reaching a step)
# by a random means (SIGKILL of a rank, SIGKILL of rank 0 inside a write, SIGUSR1 through
# mpirun, SIGTERM to every rank, a rank frozen until --comm-timeout ends the job), and resumed
# with --resume auto each time; the final state must be bit-identical to the uninterrupted
# run's. Not part of the CI suite (it takes minutes); docs/testing.md has its figure.
#   scripts/soak.sh [RUNS] [BUILD_DIR] [SEED]      (RUNS 200, BUILD_DIR build, SEED 1)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-200}
build=$(cd "${2:-$root/build}" && pwd)
RANDOM=${3:-1}
. "$root/tests/lib.sh" # the work directory, Open MPI's environment, checksum, newest
nn_test_setup soak "$build"
"$make_data" blobs d.h5 4000 10 4 9 0 2.0
# 57 steps an epoch; an interruption costs 7 to 30 steps, so this leaves room for RUNS of them
# (the run ends early, with fewer, only if every interruption comes late).
epochs=$(( (runs * 30) / 57 + 5 ))
A=(--data d.h5 --layers 10,64,64,4 --batch 64 --epochs "$epochs" --quiet --keep 3
   --checkpoint-every-steps 7)
step_of() { sed -n 's/.*-s0*\([0-9][0-9]*\)\.h5$/\1/p' <<<"$1"; }

t0=$SECONDS
mpirun -np 2 "$train" "${A[@]}" --checkpoint-dir ref >/dev/null &
bg=$!
wait "$bg" || fail "the uninterrupted run failed"
bg=""
want=$(checksum "$(newest ref)")
echo "soak: uninterrupted run of $epochs epochs: state checksum $want ($((SECONDS - t0)) s)"

# until_latest_past STEP: until a checkpoint beyond STEP is complete (or the job ended); the
# event is polled, never waited for by the clock
until_latest_past() {
    while kill -0 "$bg" 2>/dev/null; do
        local l
        l=$(cat s/latest 2>/dev/null || true)
        [ -n "$l" ] && [ "$(step_of "$l")" -gt "$1" ] && return 0
    done
}
ranks() { pgrep -P "$bg" -f "$train" | sort -n; }

declare -A used
interrupted=0 finished=0 start_step=0
t0=$SECONDS
for i in $(seq 1 "$runs"); do
    l=$(cat s/latest 2>/dev/null || true)
    start_step=$([ -n "$l" ] && step_of "$l" || echo 0)
    how=$((RANDOM % 6))
    freeze=""
    [ $how = 5 ] && freeze="allreduce:$((RANDOM % 2)):$((start_step + 1 + RANDOM % 20))"
    NN_TEST_FREEZE=$freeze mpirun -np 2 -x NN_TEST_FREEZE "$train" "${A[@]}" --checkpoint-dir s \
        --resume auto --comm-timeout 2 >out.txt 2>err.txt &
    bg=$!
    case $how in
    0) # SIGKILL a random rank once the next checkpoint is complete
        until_latest_past "$start_step"; victim=$(ranks | sed -n "$((RANDOM % 2 + 1))p")
        [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null || true ;;
    1) # SIGKILL rank 0 while it writes a checkpoint
        while kill -0 "$bg" 2>/dev/null && ! compgen -G 's/*.tmp' >/dev/null; do :; done
        victim=$(ranks | head -1); [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null || true ;;
    2) # SIGUSR1 through mpirun after a checkpoint: checkpoint, exit 75
        until_latest_past "$start_step"; kill -USR1 "$bg" 2>/dev/null || true ;;
    3) # SIGTERM to every rank at once
        until_latest_past "$start_step"; for r in $(ranks); do kill -TERM "$r" 2>/dev/null || true; done ;;
    4) # SIGKILL the whole job after two more checkpoints
        until_latest_past $((start_step + 7)); for r in $(ranks); do kill -9 "$r" 2>/dev/null || true; done ;;
    5) # a rank freezes itself at a step; the watchdog ends the job (status 3)
        ;;
    esac
    set +e; wait "$bg"; rc=$?; set -e
    pkill -9 -P "$bg" 2>/dev/null || true
    bg=""
    used[$how:$rc]=$((${used[$how:$rc]:-0} + 1))
    if [ $rc = 0 ]; then finished=1; break; fi
    case $how:$rc in
    2:75 | 3:75 | 5:3 | [014]:*) ;;
    *) cat err.txt >&2; fail "run $i (kind $how): unexpected exit status $rc" ;;
    esac
    interrupted=$((interrupted + 1))
    ls s/*.h5 >/dev/null 2>&1 || continue # killed before the first checkpoint: start again
    checksum "$(newest s)" >/dev/null
done
[ $finished = 1 ] || mpirun -np 2 "$train" "${A[@]}" --checkpoint-dir s --resume auto >/dev/null ||
    fail "the last resumed run failed"
got=$(checksum "$(newest s)")
summary=$(for k in "${!used[@]}"; do echo "$k=${used[$k]}"; done | sort | tr '\n' ' ')
echo "soak: $interrupted interruptions (kind:status=count: $summary) in $((SECONDS - t0)) s"
[ "$got" = "$want" ] || fail "final state $got after $interrupted interruptions; uninterrupted $want"
echo "soak: PASS: final state bit-identical to the uninterrupted run ($got)"
