#!/bin/bash
# test.sh: installs the dependencies, builds with -Werror, and runs every test (unit tests,
# MPI tests at 1, 2, 3 and 4 ranks, end-to-end runs, bad input, a throw-away Slurm).
#   scripts/test.sh [--sanitize] [--load]
# --sanitize  also builds with AddressSanitizer + UndefinedBehaviorSanitizer, runs the suite
#             again there, and runs each libFuzzer harness briefly (scripts/fuzz.sh --ci)
# --load      keeps every core busy with a background load (stress-ng) for the whole run:
#             the tests wait for events, never for a fixed time, so they must pass on a
#             machine much slower than this one too (docs/testing.md)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sanitize=0 load=0
for a in "$@"; do
    case $a in
    --sanitize) sanitize=1 ;;
    --load) load=1 ;;
    *) echo "test.sh: unknown argument '$a' (expected --sanitize or --load)" >&2; exit 2 ;;
    esac
done
# The tests run side by side, one per core: none depends on the machine's speed, and most
# wait on process start-up rather than compute.
jobs=$(nproc)
"$root/scripts/install-deps.sh" --tests
"$root/scripts/build.sh" "$root/build"

if [ $load = 1 ]; then
    # One busy worker per core at the lowest priority difference that still takes the
    # cores: the suite's processes get half the CPU or less.
    stress-ng --cpu "$(nproc)" --cpu-method int64 --quiet &
    load_pid=$!
    trap 'kill "$load_pid" 2>/dev/null; wait "$load_pid" 2>/dev/null || true' EXIT
    echo "test.sh: stress-ng keeps $(nproc) cores busy (pid $load_pid)"
fi

(cd "$root/build" && ctest --output-on-failure --timeout 900 -j "$jobs")
if [ $sanitize = 1 ]; then
    "$root/scripts/build.sh" "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DNN_SANITIZE=ON
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    # Unit tests with LeakSanitizer on; under MPI, Open MPI's plugins keep allocations that
    # LeakSanitizer cannot even name (they are unloaded at exit), so the MPI tests check for
    # memory errors and undefined behaviour only.
    (cd "$root/build-asan" && ctest --output-on-failure --timeout 900 -j "$jobs" -L unit)
    # Fewer repetitions of the crash and byte-flip tests: under the sanitizers they check the
    # reader's memory safety on damaged files; the full counts ran in the first pass. Tests
    # labelled asan_skip repeat a layout or a logic check (tests/CMakeLists.txt says which).
    (cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=0 NN_FLIP_POINTS=40 NN_CRASH_POINTS=10 \
        ctest --output-on-failure --timeout 900 -j "$jobs" -L mpi -LE asan_skip)
    # nn-serve against real clients, leak checks on (tests/lib.sh's mpi_run turns them off
    # for the MPI programs that make the tests' models).
    (cd "$root/build-asan" && ctest --output-on-failure --timeout 900 -j "$jobs" -L serve)
    # Each libFuzzer harness for a short while on the committed corpus and regressions.
    FUZZ_SECONDS=${FUZZ_SECONDS:-10} "$root/scripts/fuzz.sh" --ci
fi
