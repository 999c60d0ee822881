# tests/lib.sh: what the shell tests share; sourced, never run.
#   . "$(dirname "$0")/lib.sh"; nn_test_setup CASE BUILD_DIR [TAG]
# nn_test_setup names the case (for messages), finds the programs, makes a work directory
# ("nn-TAGCASE.XXXXXX" under TMPDIR) and
# enters it (removed at exit, after killing the background job $bg and its children), and sets
# Open MPI's environment for tests: root allowed, ob1 (no UCX probe), more ranks than cores,
# one OpenBLAS thread per rank. NN_KEEP=1 keeps the work directory (its path is printed).
# nn_on_exit FUNCTION adds a step to the clean-up: FUNCTION STATUS runs at exit, after the
# background job is killed and before the work directory goes, with the test's exit status.

nn_test_setup() {
    case_name=$1
    build=$([ -n "${2:-}" ] && cd "$2" 2>/dev/null && pwd) ||
        { echo "$case_name: no build directory '${2:-}' (usage: $0 [CASE] BUILD_DIR)" >&2; exit 2; }
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    here=$src/tests
    train=$build/nn-train
    predict=$build/nn-predict
    nndata=$build/nn-data
    make_data=$build/tests/tools/make_data
    tool=$build/tests/tools/predict_tool
    peak_rss=$build/tests/tools/peak_rss
    bg=""
    nn_exit_hooks=()
    work=$(mktemp -d "${TMPDIR:-/tmp}/nn-${3:-}$case_name.XXXXXX")
    trap nn_test_cleanup EXIT
    cd "$work"
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
    export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
}

nn_test_cleanup() {
    local rc=$? h
    # (|| true: under set -e a pkill that finds no child would end the clean-up here)
    [ -n "${bg:-}" ] && { pkill -9 -P "$bg" || true; kill -9 "$bg" || true; } 2>/dev/null
    for h in "${nn_exit_hooks[@]}"; do "$h" "$rc" || true; done
    if [ -n "${NN_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
nn_on_exit() { nn_exit_hooks+=("$1"); }

fail() { echo "FAIL [$case_name]: $*" >&2; exit 1; }
say() { echo "[$case_name] $*"; }
# skip WHY: the case cannot run here; it prints SKIP and exits 77, which ctest reports as
# skipped (tests/CMakeLists.txt gives every test SKIP_RETURN_CODE 77), except under CI=true
# (where the environment must provide what it needs), where it fails.
skip() {
    [ "${CI:-}" = true ] && fail "$* (CI=true: this environment must provide it)"
    echo "SKIP [$case_name]: $*"
    exit 77
}
# need_h5py: the case needs numpy and h5py (python3-h5py) for its reference: skip without.
need_h5py() {
    /usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null ||
        skip "python3-h5py (h5py and numpy) is not installed (scripts/install-deps.sh --tests)"
}
# have_h5py: whether a reference check that needs numpy and h5py can run; without them it
# prints SKIP and returns 1 (skip_part: under CI=true it fails).
have_h5py() {
    /usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null && return 0
    skip_part "reference check: python3-h5py (h5py and numpy) is not installed"
    return 1
}
# skip_part WHY: one check of a case cannot run here; the case goes on without it (SKIP is
# printed), except under CI=true, where it fails.
skip_part() {
    [ "${CI:-}" = true ] && fail "$* (CI=true: this environment must provide it)"
    echo "SKIP [$case_name] part: $*"
}

# mpi_run NP COMMAND ARGS...: COMMAND as a plain process (NP = plain) or under mpirun -np NP,
# with a hang guard (the limit only tells a hang from a run; no test depends on speed).
mpi_run() {
    local np=$1
    shift
    # Under AddressSanitizer, no leak report from MPI programs: Open MPI's plugins keep
    # allocations that LeakSanitizer cannot name (as scripts/test.sh --sanitize says); a
    # test's other programs (nn-serve) keep theirs.
    local asan=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
    if [ "$np" = plain ]; then ASAN_OPTIONS=$asan timeout 300 "$@"
    else ASAN_OPTIONS=$asan timeout 300 mpirun -np "$np" --oversubscribe "$@"; fi
}
# run_np NP ARGS...: nn-train with ARGS
run_np() {
    local np=$1
    shift
    mpi_run "$np" "$train" "$@"
}

# wait_line FILE PATTERN SECONDS: returns 0 as soon as a line of FILE (which may not exist yet)
# matches the grep PATTERN, as `tail -F` delivers the file's lines; 1 if none has after
# SECONDS, a hang guard only. No polling interval of our own: the wait ends on the line.
wait_line() {
    local follower fd rc=0
    exec {fd}< <(exec timeout "$3" tail -n +1 -F "$1" 2>/dev/null)
    follower=$!
    grep -q -m1 -- "$2" <&"$fd" || rc=1
    kill "$follower" 2>/dev/null || true
    exec {fd}<&-
    return "$rc"
}

# newest DIR: the newest checkpoint in DIR (names sort in the order they were written)
newest() { ls "$1"/ckpt-*.h5 | sort | tail -1; }
# checksum FILE: the state checksum `nn-train --verify` reports, verifying the file on the way
checksum() {
    "$train" --verify "$1" >v.txt 2>&1 || { cat v.txt >&2; fail "$1 does not verify"; }
    sed -n 's/.*state checksum \([0-9a-f]*\) verified.*/\1/p' v.txt
}
