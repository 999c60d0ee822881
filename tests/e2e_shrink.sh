#!/bin/bash
# e2e_shrink.sh: pruning and distillation under real mpirun (docs/shrink.md).
#   e2e_shrink.sh CASE BUILD_DIR
# CASE:
#   prune_np      --prune-to with --no-shuffle at 1, 2 and 3 ranks: the same masks (byte for
#                 byte) at every rank count, exactly floor(S n) kernel weights pruned (all
#                 kernels together, and each kernel with --prune-scope layer), every pruned
#                 weight and its Adam moments exactly 0 (scripts/check_checkpoint.py, which
#                 also recomputes the state checksum over the masks), and the accuracy still
#                 that of a model that learned
#   prune_resume  a pruning run at 3 ranks resumed from a checkpoint inside an epoch, in the
#                 middle of the schedule, ends bit-identical to the uninterrupted run
#   prune_bad     flags that cannot work: one line, exit status 2 (at 2 ranks: on every rank);
#                 ranks whose masks differ (NN_TEST_PRUNE_SKEW) stop at the first mask update
#   distill_np    --teacher with --distill-alpha 1 (the labels unused: all the student knows
#                 comes through the teacher's softened outputs) at 1, 2 and 3 ranks with
#                 --no-shuffle: the student learns to within 5 points of its teacher, from a
#                 teacher scaled as the run (zscore) and from one scaled otherwise (minmax:
#                 each model's own scaling applied), and the runs agree across rank counts
#   distill_resume a distillation run at 2 ranks resumed inside an epoch (the teacher taken
#                 from the checkpoint's settings) ends bit-identical to the uninterrupted run
#   distill_bad   a teacher of other inputs or a regression model, a missing file, and the
#                 distillation flags without --teacher: one line, exit status 2 or 1
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "${1:?usage: $0 CASE BUILD_DIR}" "${2:-}" shrink-
"$make_data" blobs d.h5 1200 10 4 9 0 2.0 >/dev/null
A=(--data d.h5 --layers 10,24,12,4 --batch 50 --lr 0.01 --epochs 6 --quiet)
P=(--prune-to 0.75 --prune-start 1 --prune-end 4 --prune-every 4)

# masks CKPT: "pruned total sha256" of the file's masks, or fails
masks() {
    /usr/bin/python3 - "$1" <<'PY'
import hashlib, sys
import h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
ms = [f[f"prune/dense_{i}/mask"][...] for i in range(len(f["prune"]))]
h = hashlib.sha256(b"".join(m.tobytes() for m in ms)).hexdigest()[:16]
print(sum(int((m == 0).sum()) for m in ms), sum(m.size for m in ms), h,
      " ".join(str(int((m == 0).sum())) + "/" + str(m.size) for m in ms))
PY
}
check() { /usr/bin/python3 "$src/scripts/check_checkpoint.py" "$@" >c.txt 2>&1 || { cat c.txt >&2; fail "check_checkpoint: $*"; }; }

case_prune_np() {
    local np want="" got
    run_np 1 "${A[@]}" --no-shuffle --metrics dense.csv
    dense=$(tail -1 dense.csv | cut -d, -f5)
    for np in 1 2 3; do
        run_np "$np" "${A[@]}" "${P[@]}" --no-shuffle --checkpoint-dir "ck$np" --metrics "m$np.csv" ||
            fail "np $np: exit status $?"
        check "$(newest "ck$np")" d.h5 "m$np.csv"
        read -r pruned total sha per <<<"$(masks "$(newest "ck$np")")"
        [ "$pruned" = $((total * 75 / 100)) ] || fail "np $np: $pruned of $total pruned, expected floor(0.75 n)"
        [ -z "$want" ] || [ "$sha" = "$want" ] || fail "np $np: masks $sha, np 1's $want"
        want=$sha
        acc=$(tail -1 "m$np.csv" | cut -d, -f5)
        awk -v a="$acc" -v d="$dense" 'BEGIN { exit !(a >= d - 0.05) }' ||
            fail "np $np: validation accuracy $acc, the dense model's $dense"
        say "np $np: $pruned of $total kernel weights pruned ($per), masks $sha, val accuracy $acc (dense $dense)"
    done
    run_np 2 "${A[@]}" "${P[@]}" --prune-scope layer --checkpoint-dir ckl --metrics ml.csv
    check "$(newest ckl)" d.h5 ml.csv
    read -r pruned total sha per <<<"$(masks "$(newest ckl)")"
    for lt in $per; do
        z=${lt%/*} n=${lt#*/}
        [ "$z" = $((n * 75 / 100)) ] || fail "--prune-scope layer: a kernel has $z of $n pruned"
    done
    say "--prune-scope layer: each kernel at floor(0.75 n): $per"
}

case_prune_resume() {
    run_np 3 "${A[@]}" "${P[@]}" --checkpoint-dir full --checkpoint-every-steps 7 --keep 100
    want=$(checksum "$(newest full)")
    # 22 steps per epoch, the schedule from step 22 to 88: step 49 is inside epoch 3
    mid=full/ckpt-e000002-s000000049.h5
    [ -f "$mid" ] || fail "expected $mid; have $(ls full)"
    read -r pruned total _ <<<"$(masks "$mid")"
    [ "$pruned" -gt 0 ] && [ "$pruned" -lt $((total * 75 / 100)) ] ||
        fail "$mid: $pruned of $total pruned, expected part of the way"
    run_np 3 --data d.h5 --resume "$mid" --checkpoint-dir part --quiet
    got=$(checksum "$(newest part)")
    [ "$got" = "$want" ] || fail "resumed from $mid ($pruned of $total pruned): $got, expected $want"
    say "resumed at step 49 with $pruned of $total pruned: bit-identical ($got)"
}

# expect_usage NP LINE ARGS...: nn-train ARGS at NP ranks exits 2 with LINE, once
expect_usage() {
    local np=$1 line=$2 rc=0
    shift 2
    run_np "$np" "$@" >o.txt 2>e.txt || rc=$?
    [ "$rc" = 2 ] || { cat o.txt e.txt >&2; fail "$*: exit status $rc, expected 2"; }
    [ "$(grep -c '^nn-train' e.txt)" = 1 ] && grep -qF -- "nn-train: error: $line" e.txt ||
        { cat e.txt >&2; fail "$*: expected the one line '$line'"; }
}

case_prune_bad() {
    expect_usage 2 "--prune-end 9 is after the run's last epoch (--epochs 6)" "${A[@]}" "${P[@]}" --prune-end 9
    expect_usage plain "--prune-end 1 must come after --prune-start 1" "${A[@]}" "${P[@]}" --prune-end 1
    expect_usage plain "--prune-every applies with --prune-to S (S > 0) only" "${A[@]}" --prune-every 3
    say "bad --prune-* flags: one line each, exit status 2"
    # ranks whose masks differ (a test hook makes rank 1's differ) stop together at the check
    rc=0
    NN_TEST_PRUNE_SKEW=1 mpi_run 2 -x NN_TEST_PRUNE_SKEW "$train" "${A[@]}" "${P[@]}" >o.txt 2>e.txt || rc=$?
    [ "$rc" != 0 ] && grep -q "nn-train: error: --prune-to: the ranks derived different masks at step 22" e.txt ||
        { cat e.txt >&2; fail "masks that differ between ranks: exit status $rc"; }
    say "masks that differ between ranks: exit status $rc at the first mask update (step 22)"
}

# a teacher, 10-32-16-4 (scaled as TAG says), trained once per case: teacher_TAG.h5
teacher() {
    run_np 2 "${A[@]}" --layers 10,32,16,4 --normalize "$1" --checkpoint-dir "t$1" --metrics "t$1.csv"
    cp "$(newest "t$1")" "teacher_$1.h5"
}
# val accuracy of the last row of a --metrics file
acc_of() { tail -1 "$1" | cut -d, -f5; }

case_distill_np() {
    local np tag want=""
    for tag in zscore minmax; do
        teacher "$tag"
        local ta
        ta=$(acc_of "t$tag.csv")
        for np in 1 2 3; do
            run_np "$np" "${A[@]}" --layers 10,4 --teacher "teacher_$tag.h5" --distill-alpha 1 \
                --temperature 2 --no-shuffle --metrics "s$tag$np.csv" --quiet
            acc=$(acc_of "s$tag$np.csv")
            awk -v a="$acc" -v t="$ta" 'BEGIN { exit !(a >= t - 0.05) }' ||
                fail "$tag teacher, np $np: the student's accuracy $acc, the teacher's $ta"
            loss=$(tail -1 "s$tag$np.csv" | cut -d, -f4)
            [ -z "$want" ] || awk -v a="$loss" -v b="$want" 'BEGIN { d = (a - b) / b; exit !(d < 1e-4 && d > -1e-4) }' ||
                fail "$tag teacher, np $np: val loss $loss, np $((np - 1))'s $want"
            want=$loss
        done
        want=""
        say "teacher scaled by $tag (accuracy $ta): students from its outputs alone at 1, 2, 3 ranks: $acc (val loss $loss)"
    done
    run_np 1 --data d.h5 --layers 10,4 --teacher teacher_minmax.h5 --epochs 1 >o.txt
    grep -q "inputs in its own scaling" o.txt ||
        fail "the banner does not say that the minmax teacher sees its own scaling"
}

case_distill_resume() {
    teacher zscore
    D=("${A[@]}" --layers 10,8,4 --teacher teacher_zscore.h5 --distill-alpha 0.6 --temperature 3)
    run_np 2 "${D[@]}" --checkpoint-dir full --checkpoint-every-steps 10 --keep 100
    want=$(checksum "$(newest full)")
    mid=full/ckpt-e000002-s000000050.h5
    [ -f "$mid" ] || fail "expected $mid; have $(ls full)"
    run_np 2 --data d.h5 --resume "$mid" --checkpoint-dir part >o.txt
    grep -q "^distil from teacher_zscore.h5" o.txt || { cat o.txt >&2; fail "the resumed run has no teacher"; }
    got=$(checksum "$(newest part)")
    [ "$got" = "$want" ] || fail "resumed from $mid: $got, expected $want"
    say "distillation resumed at step 50 (the teacher from the checkpoint): bit-identical ($got)"
}

case_distill_bad() {
    teacher zscore
    "$make_data" blobs d6.h5 300 6 4 9 0 2.0 >/dev/null
    run_np plain --data d6.h5 --layers 6,4 --epochs 1 --quiet --checkpoint-dir t6
    expect_usage 2 "--teacher $(newest t6): a model of 6 inputs and 4 classes; expected the data's 10 inputs and 4 classes" \
        "${A[@]}" --layers 10,4 --teacher "$(newest t6)"
    expect_usage plain "--temperature applies with --teacher CKPT only" "${A[@]}" --temperature 3
    expect_usage plain "--distill-alpha applies with --teacher CKPT only" "${A[@]}" --distill-alpha 0.5
    rc=0
    run_np 2 "${A[@]}" --teacher nope.h5 >o.txt 2>e.txt || rc=$?
    [ "$rc" = 1 ] && [ "$(grep -c '^nn-train' e.txt)" = 1 ] && grep -q "nn-train: error: --teacher nope.h5: cannot open the checkpoint" e.txt ||
        { cat e.txt >&2; fail "a missing teacher: exit $rc"; }
    say "bad teachers and flags: one line each, exit status 2 (1 for a missing file)"
}

"case_$case_name"
