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
#   prune_bad     flags that cannot work: one line, exit status 2 (at 2 ranks: on every rank)
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
}

"case_$case_name"
