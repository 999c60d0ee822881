#!/bin/bash
# fuzz.sh: builds the libFuzzer harnesses of tests/fuzz (clang, ASan, UBSan) and runs them
# (docs/fuzzing.md).
#   scripts/fuzz.sh [--ci] [HARNESS...]     replay the committed corpus and the regression
#                                           inputs, then fuzz each harness for FUZZ_SECONDS
#                                           (15) seconds; fails on a crash in our code
#   scripts/fuzz.sh --long RUNS [HARNESS...]  fuzz each harness for at least RUNS executions
#                                           and print executions, exec/s, corpus and coverage
#   scripts/fuzz.sh --replay FILE... --harness NAME   run single inputs, reports in full
#   scripts/fuzz.sh --triage DIR --harness NAME       classify the findings in DIR again
# HARNESS: csv idx data ckpt serve (default: all). FUZZ_BUILD: the build directory (build-fuzz).
# FUZZ_WORK: where fuzzing writes its corpus and findings (a fresh temp dir for --ci,
# FUZZ_BUILD/long for --long, kept).
#
# HDF5 itself is not instrumented, and HDF5 1.10 crashes on some damaged files (docs/fuzzing.md
# lists what was found). So every finding is replayed and classified: a crash whose faulting
# code, or whose overrun buffer, is ours (src/, tests/fuzz/), any UBSan report, a leak, and
# any harness check fails the run; a crash inside libhdf5 on memory HDF5 allocated is counted
# and listed, and does not; so is one that does not crash again when replayed alone, or
# whose report has no stack (libFuzzer's RSS-limit report).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
mode=ci runs=0 replay_harness="" files=()
harnesses=()
while [ $# -gt 0 ]; do
    case $1 in
    --ci) mode=ci ;;
    --long) mode=long; runs=${2:?--long needs RUNS}; shift ;;
    --replay) mode=replay ;;
    --triage) mode=triage; triage_dir=${2:?--triage needs DIR}; shift ;;
    --harness) replay_harness=${2:?}; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    csv|idx|data|ckpt|serve) harnesses+=("$1") ;;
    *) [ "$mode" = replay ] && files+=("$1") || { echo "fuzz.sh: unknown argument '$1'" >&2; exit 2; } ;;
    esac
    shift
done
[ ${#harnesses[@]} = 0 ] && harnesses=(csv idx data ckpt serve)

# ---- tools: clang-14 and libFuzzer from Debian, with what the readers need
"$root/scripts/install-deps.sh" --fuzz

# ---- build
CC=clang-14 cmake -S "$root" -B "$build" -DNN_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)" >"$build/build.log" 2>&1 || { cat "$build/build.log" >&2; exit 1; }

fz=$root/tests/fuzz
# A huge allocation HDF5 asks for (a size read from a damaged file) returns NULL as glibc's
# malloc does, instead of ASan stopping the run; HDF5's own leaks are suppressed (lsan.supp).
export ASAN_OPTIONS=allocator_may_return_null=1:malloc_context_size=12:quarantine_size_mb=64:handle_abort=1
export LSAN_OPTIONS=suppressions=$fz/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
common=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=0)

# Reads a sanitizer report on stdin and prints "ours" or "hdf5" (see the banner). A stack
# frame is ours when it names a file of src/ or tests/fuzz/, HDF5's when it is in libhdf5;
# others (sanitizer interceptors, libc, libFuzzer) are passed over. The first frame that is
# either decides, and an overrun or freed buffer that we allocated makes it ours.
classify() {
    awk '
    function who(l) {
        if (l ~ /libhdf5/) return "hdf5"
        if (l ~ /\/(src\/([A-Za-z0-9_-]+\/)*[A-Za-z0-9_]+\.[ch]|tests\/fuzz\/[A-Za-z0-9_]+\.[ch]):[0-9]/) return "ours"
        return ""
    }
    /runtime error:|^fuzz(_[a-z]+)?: / { v = "ours"; exit }
    /allocated by thread|freed by thread/ { inalloc = 1; next }
    /^    #[0-9]+ / {
        w = who($0)
        if (w == "") next
        if (inalloc && owner == "") owner = w
        if (!inalloc && top == "") top = w
    }
    END {
        if (v == "" && top == "") v = "unknown"
        if (v == "") v = (top == "hdf5" && owner != "ours") ? "hdf5" : "ours"
        print v
    }'
}

# Replays each finding in $1 (a directory) with harness $2; prints a line per finding and
# returns the number that are ours.
triage() {
    local dir=$1 bin=$2 ours=0 f out kind
    for f in "$dir"/*; do
        [ -f "$f" ] || continue
        case $(basename "$f") in slow-unit-*) echo "  slow  $f"; continue ;; esac
        out=$("$bin" "${common[@]}" "$f" 2>&1 || true)
        kind=$(printf '%s\n' "$out" | classify)
        local what
        what=$(printf '%s\n' "$out" | grep -m1 -E "ERROR: |runtime error:|^fuzz(_[a-z]+)?: " | sed 's/^==[0-9]*==//' || true)
        if [ -z "$what" ]; then
            # Crashed in the run, not alone: memory HDF5 had damaged earlier (it is not
            # instrumented, so that goes unseen until something trips on it). Listed only.
            echo "  ?     $f: crashed during the run but not when replayed alone"
        elif [ "$kind" = unknown ]; then
            # No stack frame of ours or of HDF5 (libFuzzer's RSS-limit report has none).
            echo "  ?     $f: $what (no stack to attribute it)"
        elif [ "$kind" = ours ]; then
            ours=$((ours + 1))
            echo "  OURS  $f: $what"
            # --ci's work directory goes at exit: the input stays in the build directory
            mkdir -p "$build/kept" && cp "$f" "$build/kept/" &&
                echo "        kept as $build/kept/$(basename "$f")"
            printf '%s\n' "$out" | grep -E "^    #[0-9]+ |ERROR|runtime error|^fuzz" | head -40 | sed 's/^/        /'
        else
            echo "  hdf5  $f: $what"
        fi
    done
    return $ours
}

bin_of() { echo "$build/fuzz_$1"; }

if [ "$mode" = replay ]; then
    [ -n "$replay_harness" ] || { echo "fuzz.sh: --replay needs --harness NAME" >&2; exit 2; }
    rc=0
    for f in "${files[@]}"; do
        echo "== $f"
        FUZZ_VERBOSE=1 "$(bin_of "$replay_harness")" "${common[@]}" "$f" || rc=1
    done
    exit $rc
fi

if [ "$mode" = triage ]; then
    [ -n "$replay_harness" ] || { echo "fuzz.sh: --triage needs --harness NAME" >&2; exit 2; }
    set +e
    triage "$triage_dir" "$(bin_of "$replay_harness")"
    ours=$?
    set -e
    echo "fuzz.sh: $ours finding(s) in our code"
    [ "$ours" = 0 ]
    exit
fi

if [ "$mode" = ci ]; then
    work=${FUZZ_WORK:-$(mktemp -d)}
    [ -n "${FUZZ_WORK:-}" ] || trap 'rm -rf "$work"' EXIT
else
    work=${FUZZ_WORK:-$build/long}
fi
seconds=${FUZZ_SECONDS:-15}
failed=0
for h in "${harnesses[@]}"; do
    bin=$(bin_of "$h")
    corpus=$fz/corpus/$h regress=$fz/regressions/$h
    mkdir -p "$work/$h/corpus" "$work/$h/findings"
    dirs=("$corpus")
    [ -d "$regress" ] && dirs+=("$regress")
    dict=()
    [ -f "$fz/$h.dict" ] && dict=(-dict="$fz/$h.dict")
    # 1. Every committed input, regressions included, runs clean (leak checks on).
    if ! "$bin" "${common[@]}" -runs=0 "${dirs[@]}" >"$work/$h/replay.log" 2>&1; then
        echo "fuzz_$h: FAILED on a committed input:" >&2
        grep -E "ERROR|runtime error|^fuzz|Test unit|#[0-9]+ " "$work/$h/replay.log" | head -40 >&2
        failed=1
        continue
    fi
    # 2. Fuzz in a child process (fork mode), so that a crash inside HDF5 is recorded and the
    # run goes on. The HDF5 harnesses skip libFuzzer's per-input leak check there (HDF5's
    # free lists make it run after most inputs, at a quarter of the speed); step 3 does it.
    leaks=1
    case $h in data|ckpt) leaks=0 ;; esac
    if [ "$mode" = ci ]; then
        limit=(-max_total_time="$seconds")
    else
        limit=(-runs="$runs")
    fi
    start=$(date +%s.%N)
    "$bin" "${common[@]}" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
        -detect_leaks=$leaks "${limit[@]}" "${dict[@]}" -artifact_prefix="$work/$h/findings/" \
        "$work/$h/corpus" "${dirs[@]}" >"$work/$h/fuzz.log" 2>&1 || true
    end=$(date +%s.%N)
    execs=$(grep -oE "fuzzed for [0-9]+ iterations" "$work/$h/fuzz.log" | grep -oE "[0-9]+" | tail -1 || true)
    last=$(grep -E "^#[0-9]+: cov:" "$work/$h/fuzz.log" | tail -1 || true)
    [ -n "$execs" ] || execs=$(printf '%s' "$last" | sed -E 's/^#([0-9]+):.*/\1/')
    cov=$(printf '%s' "$last" | sed -nE 's/.*cov: ([0-9]+) ft: ([0-9]+).*/cov \1, features \2/p')
    # 3. Every input the run kept, once more with leak checks on.
    if [ "$leaks" = 0 ] && ! "$bin" "${common[@]}" -runs=0 -detect_leaks=1 \
            -artifact_prefix="$work/$h/findings/" "$work/$h/corpus" >"$work/$h/leaks.log" 2>&1; then
        grep -q "Test unit written" "$work/$h/leaks.log" || {
            echo "fuzz_$h: the leak replay failed without a finding:" >&2
            tail -20 "$work/$h/leaks.log" >&2
            failed=1
        }
    fi
    nfiles=$(find "$work/$h/corpus" -type f | wc -l)
    kib=$(du -sk "$work/$h/corpus" | cut -f1)
    rate=$(awk -v n="${execs:-0}" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
    echo "fuzz_$h: ${execs:-0} executions in $secs s ($rate exec/s), corpus $nfiles files ($kib KiB), $cov"
    set +e
    triage "$work/$h/findings" "$bin"
    ours=$?
    set -e
    if [ "$ours" -gt 0 ]; then
        echo "fuzz_$h: $ours finding(s) in our code: reproduce with scripts/fuzz.sh --replay FILE --harness $h;" \
             "once fixed, add the input to tests/fuzz/regressions/$h/" >&2
        failed=1
    fi
done
[ "$mode" = ci ] || echo "fuzz.sh: logs, corpora and findings in $work"
if [ "$failed" != 0 ]; then
    echo "fuzz.sh: FAILED" >&2
    exit 1
fi
echo "fuzz.sh: passed"
