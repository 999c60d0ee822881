#!/bin/bash
# e2e_compress.sh: nn-train --grad-compression bf16 under real mpirun, with pseudo-nodes
# (NN_TEST_RANKS_PER_NODE) so that the sum between nodes runs on one host.
#   e2e_compress.sh CASE BUILD_DIR
# CASE:
#   learn    the same run with none and bf16, on the MPI path (2 and 3 ranks, each its own
#            node) and between two nodes of two ranks: bf16 learns as well (validation
#            accuracy within 2 points, loss within 5%), its banner says so, and it differs
#            from none (the compression did something)
#   resume   a bf16 run stopped by SIGUSR1 mid-run and resumed ends bit-identical to the
#            uninterrupted bf16 run (checksums of the last checkpoints)
#   timeout  a rank frozen in the bf16 exchange ends the job with status 3 and the line that
#            names the wait (--comm-timeout)
#   overlap  --grad-overlap on and off give the same bits (step losses and final checkpoint)
#            between 2 nodes of 2 ranks and between 3 and 4 single-rank nodes, where the order
#            of the additions matters, with and without bf16, in buckets of 64 floats
#            (NN_TEST_XSUM_BUCKET) so that a bucket starts during backward
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "${1:?usage: $0 CASE BUILD_DIR}" "${2:-}" compress-
"$make_data" blobs d.h5 4000 10 4 9 0 2.0 >/dev/null
B=(--data d.h5 --layers 10,32,4 --batch 64)
A=("${B[@]}" --epochs 6 --quiet)

# figures FILE: "val_loss val_accuracy" of the last row of a --metrics file
figures() { tail -1 "$1" | awk -F, '{ print $4, $5 }'; }

case_learn() {
    local np per
    for layout in "2 1" "3 1" "4 2"; do
        read -r np per <<<"$layout"
        for c in none bf16; do
            NN_TEST_RANKS_PER_NODE=$per mpi_run "$np" "$train" "${A[@]}" --grad-compression "$c" \
                --metrics "$c.csv" >/dev/null 2>"$c.err" || fail "np $np/$per $c: $(tail -2 "$c.err")"
        done
        # (to a file first: grep -q would stop reading at the match, and under pipefail the
        # job's SIGPIPE would fail the pipeline)
        NN_TEST_RANKS_PER_NODE=$per mpi_run "$np" "$train" "${B[@]}" --epochs 1 \
            --grad-compression bf16 >banner.txt 2>&1 || fail "np $np/$per: $(tail -2 banner.txt)"
        grep -q "bfloat16 on the wire" banner.txt ||
            fail "np $np/$per: the banner does not say that bf16 is used"
        read -r l0 a0 <<<"$(figures none.csv)"
        read -r l1 a1 <<<"$(figures bf16.csv)"
        awk -v l0="$l0" -v a0="$a0" -v l1="$l1" -v a1="$a1" 'BEGIN {
            d = a1 - a0; if (d < 0) d = -d; r = (l1 - l0) / l0; if (r < 0) r = -r
            exit !(d <= 0.02 && r <= 0.05) }' ||
            fail "np $np/$per: bf16 val loss $l1, accuracy $a1 against none's $l0, $a0"
        ! cmp -s none.csv bf16.csv || fail "np $np/$per: bf16 gave exactly none's figures"
        say "np $np, $per rank(s) per node: none $l0 / $a0, bf16 $l1 / $a1"
    done
}

case_resume() {
    export NN_TEST_RANKS_PER_NODE=1
    mpi_run 2 "$train" "${A[@]}" --grad-compression bf16 --checkpoint-dir ref >/dev/null
    want=$(checksum "$(newest ref)")
    # rank 1 sends SIGUSR1 to mpirun at step 200 (of 342): a checkpoint, exit 75
    rc=0
    NN_TEST_FREEZE=allreduce:1:200 NN_TEST_FREEZE_SIGNAL=$(kill -l USR1):parent \
        mpirun -np 2 -x NN_TEST_FREEZE -x NN_TEST_FREEZE_SIGNAL -x NN_TEST_RANKS_PER_NODE \
        "$train" "${A[@]}" --grad-compression bf16 --checkpoint-dir u >u.out 2>&1 || rc=$?
    [ "$rc" = 75 ] || { cat u.out >&2; fail "after SIGUSR1: exit status $rc, expected 75"; }
    stopped=$(newest u)
    mpi_run 2 "$train" "${A[@]}" --grad-compression bf16 --checkpoint-dir u --resume auto >/dev/null
    got=$(checksum "$(newest u)")
    [ "$got" = "$want" ] || fail "resumed from $(basename "$stopped"): $got, expected $want"
    say "bf16: stopped at $(basename "$stopped"), resumed: bit-identical ($got)"
}

case_timeout() {
    rc=0
    NN_TEST_RANKS_PER_NODE=1 NN_TEST_FREEZE=allreduce:1:30 timeout 120 \
        mpirun -np 2 -x NN_TEST_FREEZE -x NN_TEST_RANKS_PER_NODE "$train" "${A[@]}" \
        --grad-compression bf16 --comm-timeout 2 >o.txt 2>e.txt || rc=$?
    [ "$rc" = 3 ] || { cat o.txt e.txt >&2; fail "exit status $rc, expected 3"; }
    grep -q "allreduce at step 30 has not completed after 2 s (--comm-timeout)" e.txt ||
        { cat e.txt >&2; fail "no line naming the wait"; }
    say "a rank frozen in the bf16 exchange: exit 3, $(grep -o 'allreduce at step 30' e.txt | head -1)"
}

case_overlap() {
    local np per c
    for layout in "4 2" "3 1" "4 1"; do
        read -r np per <<<"$layout"
        for c in none bf16; do
            for o in on off; do
                rm -rf "ck$o"
                NN_TEST_XSUM_BUCKET=64 NN_TEST_RANKS_PER_NODE=$per mpi_run "$np" "$train" "${A[@]}" --epochs 2 \
                    --grad-compression "$c" --grad-overlap "$o" --step-log "s$o.csv" \
                    --checkpoint-dir "ck$o" --quiet >/dev/null 2>"$o.err" || fail "np $np/$per $c $o: $(tail -2 "$o.err")"
                NN_TEST_XSUM_BUCKET=64 NN_TEST_RANKS_PER_NODE=$per mpi_run "$np" "$train" \
                    "${B[@]}" --epochs 1 --grad-compression "$c" --grad-overlap "$o" >"$o.out" 2>&1
            done
            grep -q "in [2-9] buckets.*started during backward" on.out ||
                fail "np $np/$per $c: the banner does not show several buckets: $(grep reduce on.out)"
            cmp -s son.csv soff.csv ||
                fail "np $np/$per $c: step losses differ with --grad-overlap on and off: $(diff son.csv soff.csv | head -3)"
            a=$(checksum "$(newest ckon)")
            b=$(checksum "$(newest ckoff)")
            [ "$a" = "$b" ] || fail "np $np/$per $c: final state $a with overlap, $b without"
            say "np $np, $per per node, $c: overlap on and off identical (state $a)"
        done
    done
}

"case_$case_name"
