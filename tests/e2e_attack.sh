#!/bin/bash
# e2e_attack.sh: adversarial examples and adversarial training (docs/robustness.md).
#   tests/e2e_attack.sh CASE BUILD_DIR
# The data (robust.h5, written here with h5py): two classes, one feature that separates them
# with a wide margin and 40 weak ones that only do so together (Tsipras et al. 2019), so that
# a model trained as usual leans on the weak features, which a small L-infinity ball undoes.
# CASE:
#   predict  nn-predict --attack fgsm and pgd under mpirun -np 1 and 3: the adversarial inputs
#            (--attack-output) are the same bits at both rank counts; against numpy (h5py):
#            every row stays inside the ball and the training range the checkpoint carries
#            (x_min, x_max = numpy's min and max of /train), FGSM is x0 + eps sign(dL/dx) with
#            numpy's own input gradient of the cross-entropy (through the scaling), PGD's loss
#            is at least FGSM's on every row, and the attack lowers the accuracy by a third;
#            the accuracy it reports is nn-predict's on the written file
#   train    nn-train --adversarial pgd --adv-fraction 0.5: with --no-shuffle the step losses
#            at 1, 2 and 4 ranks agree to float rounding (1e-5 relative); shuffled and with
#            --dropout 0.2, a run stopped after 2 epochs and resumed ends bit-identical to the
#            uninterrupted one (state checksums); then adversarial training raises the PGD accuracy of the
#            same model by at least 25 points over training as usual (0.40 -> 0.92 here)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "${2:-}" attack-
py=/usr/bin/python3
need_h5py

make_robust() { # FILE SEED
    "$py" - "$1" "$2" <<'EOF'
import sys, h5py, numpy as np
rng = np.random.default_rng(int(sys.argv[2]))
def rows(n):
    y = rng.integers(0, 2, n).astype(np.int32)
    s = 2.0 * y - 1.0
    x = np.empty((n, 41), np.float32)
    x[:, 0] = s + 0.4 * rng.standard_normal(n)                          # robust
    x[:, 1:] = s[:, None] * 0.3 + rng.standard_normal((n, 40))          # weak, many
    return x, y
with h5py.File(sys.argv[1], "w") as f:
    for name, n in (("train", 1500), ("val", 500)):
        x, y = rows(n)
        f.create_dataset(name + "/x", data=x)
        f.create_dataset(name + "/y", data=y)
EOF
}
common=(--layers 41,16,2 --batch 50 --lr 0.01)
acc_of() { sed -n "s/.* $1 loss [0-9.e+-]* accuracy \([0-9.e+-]*\) .*/\1/p" "$2"; }

case_predict() {
    make_robust r.h5 3
    run_np 2 --data r.h5 "${common[@]}" --epochs 10 --checkpoint-dir ck --quiet
    ck=ck/$(cat ck/latest)
    for np in 1 3; do
        for a in fgsm pgd; do
            mpi_run $np "$predict" --model "$ck" --data r.h5 --split val --attack $a --eps 0.4 \
                --attack-steps 10 --attack-output $a$np.h5 >$a$np.txt
        done
    done
    grep -q "range  the training data's per-feature min and max" pgd1.txt ||
        fail "the range is not the checkpoint's: $(grep range pgd1.txt)"
    clean=$(sed -n 's/.*clean loss [0-9.e+-]* accuracy \([0-9.e+-]*\) .*/\1/p' pgd1.txt)
    adv=$(acc_of pgd pgd1.txt)
    [ -n "$clean" ] && [ -n "$adv" ] || fail "no result line: $(cat pgd1.txt)"
    # the accuracy --attack reports is the accuracy of the rows it wrote
    mpi_run 2 "$predict" --model "$ck" --data pgd3.h5 --split val >back.txt
    back=$(sed -n 's/.*accuracy \([0-9.e+-]*\) .*/\1/p' back.txt)
    [ "$back" = "$adv" ] || fail "--attack reported accuracy $adv, its output file scores $back"
    "$py" - "$ck" r.h5 0.4 <<'EOF' || fail "the adversarial inputs fail the numpy checks"
import sys, h5py, numpy as np
ck, data, eps = sys.argv[1], sys.argv[2], np.float32(sys.argv[3])
with h5py.File(ck, "r") as f:
    L = len([k for k in f["model"] if k.startswith("dense_")])
    W = [f[f"model/dense_{i}/kernel"][...].astype(np.float64) for i in range(L)]
    b = [f[f"model/dense_{i}/bias"][...].astype(np.float64) for i in range(L)]
    pre = {k: f["preprocess/" + k][...] for k in ("x_shift", "x_scale", "x_min", "x_max")}
with h5py.File(data, "r") as f:
    xt = f["train/x"][...]
    x0, y = f["val/x"][...], f["val/y"][...]
assert (pre["x_min"] == xt.min(0)).all() and (pre["x_max"] == xt.max(0)).all(), \
    "x_min/x_max are not the training rows' min and max"
def loss_grad(x):  # per-row cross-entropy and its gradient with respect to raw x
    h = [(x.astype(np.float64) - pre["x_shift"]) / pre["x_scale"]]
    for i in range(L):
        z = h[-1] @ W[i] + b[i]
        h.append(np.maximum(z, 0) if i + 1 < L else z)
    z = h[-1]
    p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y])
    d = p.copy(); d[np.arange(len(y)), y] -= 1
    for i in range(L - 1, -1, -1):
        d = d @ W[i].T
        if i > 0:
            d = d * (h[i] > 0)
    return loss, d / pre["x_scale"], (z.argmax(1) == y).mean()
got = {}
for a in ("fgsm", "pgd"):
    for np_ in (1, 3):
        with h5py.File(f"{a}{np_}.h5", "r") as f:
            got[a, np_] = f["val/x"][...]
            assert (f["val/y"][...] == y).all(), "y changed"
    assert got[a, 1].tobytes() == got[a, 3].tobytes(), f"{a}: np 1 and np 3 differ"
lo = np.minimum(pre["x_min"], x0); hi = np.maximum(pre["x_max"], x0)
for a in ("fgsm", "pgd"):
    xa = got[a, 1]
    d = np.abs(xa.astype(np.float64) - x0)
    assert d.max() <= eps * (1 + 1e-6), f"{a}: |x_adv - x| up to {d.max()}"
    assert (xa >= lo).all() and (xa <= hi).all(), f"{a}: outside the range"
    print(f"{a}: max |x_adv - x| {d.max():.7g}, every value within the range")
# FGSM against numpy's own gradient (entries whose gradient is ~0 may round either way)
l0, g, acc0 = loss_grad(x0)
want = np.clip(x0 + eps * np.sign(g).astype(np.float32), np.maximum(lo, x0 - eps),
               np.minimum(hi, x0 + eps)).astype(np.float32)
tiny = np.abs(g) <= 1e-6 * np.abs(g).max(1, keepdims=True)
bad = (want != got["fgsm", 1]) & ~tiny
assert not bad.any(), f"FGSM differs from x0 + eps sign(g) at {bad.sum()} entries"
print(f"fgsm: x0 + eps sign(dL/dx) at all {want.size - tiny.sum()} entries with a gradient")
lf, _, accf = loss_grad(got["fgsm", 1])
lp, _, accp = loss_grad(got["pgd", 1])
worst = (lf - lp).max()
assert worst <= 1e-5 * max(1.0, np.abs(lf).max()), f"PGD below FGSM by up to {worst} on a row"
print(f"loss per row: pgd >= fgsm on all {len(y)} rows (mean {lp.mean():.4f} vs {lf.mean():.4f})")
assert accp <= acc0 - 1 / 3, f"the attack left accuracy {accp} of clean {acc0}"
print(f"accuracy clean {acc0:.4f}, fgsm {accf:.4f}, pgd {accp:.4f} (numpy)")
EOF
    say "nn-predict: clean accuracy $clean, pgd $adv (the written file scores $back)"
}

case_train() {
    make_robust r.h5 3
    adv=(--adversarial pgd --adv-eps 0.4 --adv-steps 3 --adv-fraction 0.5)
    for np in 1 2 4; do
        run_np $np --data r.h5 "${common[@]}" "${adv[@]}" --epochs 2 --no-shuffle --quiet \
            --step-log s$np.csv
    done
    for np in 2 4; do
        read -r diff steps <<<"$(paste -d, s1.csv s$np.csv | awk -F, 'NR > 1 {
            if ($1 != $4) { bad = 1; exit }
            d = $3 - $6; if (d < 0) d = -d; a = $3 < 0 ? -$3 : $3;
            r = d / (a > 1e-30 ? a : 1e-30); if (r > m) m = r; n++ }
            END { if (bad) print "mismatch 0"; else printf "%.3g %d\n", m, n }')"
        [ "$steps" -ge 50 ] || fail "np $np: only $steps steps compared"
        awk -v d="$diff" 'BEGIN { exit !(d <= 1e-5) }' ||
            fail "np $np's step losses differ from np 1's by $diff relative; expected <= 1e-5"
        say "--no-shuffle: np 1 vs np $np over $steps steps: max relative loss difference $diff"
    done
    # resumed, shuffled and with dropout (whose masks come from (seed, step, rank))
    adv+=(--dropout 0.2)
    run_np 2 --data r.h5 "${common[@]}" "${adv[@]}" --epochs 4 --checkpoint-dir full --quiet
    run_np 2 --data r.h5 "${common[@]}" "${adv[@]}" --epochs 2 --checkpoint-dir part --quiet
    run_np 2 --data r.h5 --epochs 4 --resume auto --checkpoint-dir part >res.txt
    grep -q "adversarial pgd: eps 0.4, 3 steps" res.txt ||
        fail "the resumed run did not take --adversarial from the checkpoint: $(cat res.txt)"
    a=$(checksum "$(newest full)") b=$(checksum "$(newest part)")
    [ "$a" = "$b" ] || fail "resumed state $b, uninterrupted $a"
    say "stopped after 2 epochs and resumed: the same final state (checksum $a)"
    run_np 2 --data r.h5 "${common[@]}" --epochs 10 --checkpoint-dir std --quiet
    run_np 2 --data r.h5 "${common[@]}" --epochs 10 --adversarial pgd --adv-eps 0.4 \
        --adv-steps 5 --checkpoint-dir rob --quiet
    for m in std rob; do
        mpi_run 2 "$predict" --model "$m/$(cat $m/latest)" --data r.h5 --split val \
            --attack pgd --eps 0.4 >$m.txt
    done
    s=$(acc_of pgd std.txt) r=$(acc_of pgd rob.txt)
    awk -v s="$s" -v r="$r" 'BEGIN { exit !(r >= s + 0.25) }' ||
        fail "PGD accuracy $r after adversarial training, $s without; expected 25 points more"
    say "PGD-10 accuracy at eps 0.4: $s trained as usual, $r with --adversarial pgd"
}

"case_$case_name"
