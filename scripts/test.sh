#!/bin/bash
# test.sh: installs the dependencies, builds with -Werror, and runs every test (unit tests,
# MPI tests at 1, 2 and 4 ranks, end-to-end runs). With --sanitize it also builds with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite again there.
#   scripts/test.sh [--sanitize]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --tests
"$root/scripts/build.sh" "$root/build"
(cd "$root/build" && ctest --output-on-failure --timeout 900)
if [ "${1:-}" = --sanitize ]; then
    "$root/scripts/build.sh" "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DNN_SANITIZE=ON
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    # Unit tests with LeakSanitizer on; under MPI, Open MPI's plugins keep allocations that
    # LeakSanitizer cannot even name (they are unloaded at exit), so the MPI tests check for
    # memory errors and undefined behaviour only.
    (cd "$root/build-asan" && ctest --output-on-failure --timeout 900 -L unit)
    # Fewer repetitions of the crash and byte-flip tests: under the sanitizers they check the
    # reader's memory safety on damaged files; the full counts ran in the first pass.
    (cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=0 NN_FLIP_POINTS=40 NN_CRASH_POINTS=10 \
        ctest --output-on-failure --timeout 900 -L mpi)
fi
