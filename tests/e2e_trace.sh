#!/bin/bash
# e2e_trace.sh: nn-train --trace FILE, the timeline (Chrome trace-event JSON) under real mpirun.
#   e2e_trace.sh CASE BUILD_DIR
# CASE: plain (one process), shm (2 ranks, one node: the shared-memory sum), nodes (4 ranks as
#   2 nodes of 2: the sum between nodes), mpi (2 ranks, each its own node: MPI_Allreduce),
#   short (a run shorter than the window), same (tracing changes no result), clash (--trace
#   that is an input, and one that cannot be written).
# Each traced run is checked by tests/trace_check.py: every rank, every step of the window,
# each span where it belongs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "${1:?usage: $0 CASE BUILD_DIR}" "${2:-}" trace-
"$make_data" blobs c.h5 1200 8 3 5 0 3.0 >/dev/null
common=(--data c.h5 --layers 8,16,16,3 --batch 40 --epochs 2 --quiet)

# traced NP RANKS_PER_NODE SUM_KIND [FLAGS...]: a traced run of steps 3-7 and its check.
traced() {
    local np=$1 per=$2 kind=$3
    shift 3
    NN_TEST_RANKS_PER_NODE=$per mpi_run "$np" "$train" "${common[@]}" --trace t.json \
        --trace-from 3 --trace-steps 5 "$@" >run.txt 2>&1 || fail "the traced run failed: $(tail -3 run.txt)"
    local ranks=$np
    [ "$np" = plain ] && ranks=1
    /usr/bin/python3 "$here/trace_check.py" t.json "$ranks" 3 7 3 "$kind" ||
        fail "t.json is not the timeline expected (above)"
}

case "$case_name" in
plain) traced plain "" none ;;
shm) traced 2 "" shm ;;
nodes) traced 4 2 nodes ;;
mpi) traced 2 1 mpi ;;
short)
    # 2 epochs of 27 steps (1080 training rows, batch 40): the window 50-70 ends with the run
    mpi_run 2 "$train" "${common[@]}" --trace t.json --trace-from 50 --trace-steps 21 \
        >run.txt 2>&1 || fail "the run failed: $(tail -3 run.txt)"
    /usr/bin/python3 "$here/trace_check.py" t.json 2 50 54 3 shm || fail "the short run's timeline"
    ;;
same)
    # The recorder only reads clocks: the losses of every step are the same bits with it on.
    mpi_run 2 "$train" "${common[@]}" --step-log a.csv >/dev/null 2>&1 || fail "untraced run"
    mpi_run 2 "$train" "${common[@]}" --step-log b.csv --trace t.json --trace-from 1 \
        --trace-steps 54 >/dev/null 2>&1 || fail "traced run"
    cmp -s a.csv b.csv || fail "--trace changed the step losses: $(diff a.csv b.csv | head -4)"
    /usr/bin/python3 "$here/trace_check.py" t.json 2 1 54 3 shm || fail "the whole run's timeline"
    ;;
clash)
    rc=0
    before=$(sha256sum <c.h5)
    mpi_run 2 "$train" "${common[@]}" --trace c.h5 >out.txt 2>&1 || rc=$?
    [ "$rc" = 2 ] || fail "--trace c.h5 (the data): exit $rc, expected 2"
    grep -q -- "--trace c.h5 is the same file as --data c.h5" out.txt || fail "message: $(cat out.txt)"
    [ "$(sha256sum <c.h5)" = "$before" ] || fail "the data file was changed"
    rc=0
    mpi_run 2 "$train" "${common[@]}" --trace no/such/dir/t.json >out.txt 2>&1 || rc=$?
    [ "$rc" = 1 ] || fail "--trace in a missing directory: exit $rc, expected 1 (a file that cannot be written, as for --metrics)"
    grep -q -- "--trace no/such/dir/t.json: cannot write" out.txt || fail "message: $(cat out.txt)"
    ;;
*) fail "unknown case" ;;
esac
say "ok"
