#!/bin/bash
# e2e_adv_range.sh: the range nn-train --adversarial clips to (docs/robustness.md), step by
# step against numpy (h5py).
#   tests/e2e_adv_range.sh CASE BUILD_DIR
# CASE:
#   fgsm  a logistic regression (--layers 6,2) on overlapping blobs, --adversarial fgsm with a
#         ball wide enough that most perturbed inputs hit the training data's range, every
#         sample perturbed, plain SGD, --no-shuffle, a checkpoint after every step: inputs
#         scaled by zscore (1 rank), minmax (3 ranks) and not at all (2 ranks). From each
#         checkpoint numpy takes the next step: each row x0 of the batch (scaled) moves by
#         eps / |x_scale| times the sign of its own input gradient, clipped to the ball and to
#         the range [lo, hi] = numpy's per-feature min and max of the scaled training rows;
#         then one SGD step on those rows must land on the next checkpoint.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "${2:-}" adv-range-
py=/usr/bin/python3
need_h5py

case_fgsm() {
    "$make_data" blobs b.h5 400 6 2 5 100 3.0 >/dev/null
    local np norm runs=()
    for np_norm in 1:zscore 3:minmax 2:none; do
        np=${np_norm%%:*} norm=${np_norm#*:}
        run_np "$np" --data b.h5 --layers 6,2 --normalize "$norm" --optimizer sgd --lr 0.05 \
            --batch 64 --epochs 1 --no-shuffle --adversarial fgsm --adv-eps 8 \
            --checkpoint-dir "$norm" --checkpoint-every-steps 1 --keep 100 --quiet
        runs+=("$norm")
    done
    "$py" - "${runs[@]}" <<'EOF' || fail "the adversarial steps differ from numpy's"
import glob, re, sys, h5py, numpy as np
eps, lr, batch = 8.0, 0.05, 64
with h5py.File("b.h5", "r") as f:
    x_raw, y = f["train/x"][...], f["train/y"][...].astype(np.int64)
bad = 0
for run in sys.argv[1:]:
    files = sorted(glob.glob(run + "/ckpt-*.h5"), key=lambda p: int(re.search(r"-s(\d+)", p).group(1)))
    cks = []
    for p in files:
        with h5py.File(p, "r") as f:
            pre = (f["preprocess/x_shift"][...], f["preprocess/x_scale"][...]) if "preprocess" in f else None
            cks.append((int(f.attrs["step"]), f["model/dense_0/kernel"][...].astype(np.float64),
                        f["model/dense_0/bias"][...].astype(np.float64)))
    x = x_raw if pre is None else ((x_raw - pre[0]) / pre[1]).astype(np.float32)
    lo, hi = x.min(axis=0), x.max(axis=0)
    scale = np.ones(x.shape[1]) if pre is None else np.abs(pre[1].astype(np.float64))
    e = (eps / scale).astype(np.float32)
    n, steps = len(y), -(-len(y) // batch)
    assert len(cks) == steps, (run, len(cks), steps)
    worst, margin, clipped = 0.0, np.inf, 0
    def probs(xb, W, b):
        z = xb.astype(np.float64) @ W + b
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    for k in range(len(cks) - 1):
        step, W, b = cks[k]
        s = step % steps
        x0, yb = x[s * batch:(s + 1) * batch], y[s * batch:(s + 1) * batch]
        d = probs(x0, W, b)
        d[np.arange(len(yb)), yb] -= 1.0
        g = d @ W.T  # dCE/dx of each row
        margin = min(margin, float((np.abs(g) / np.abs(g).max(axis=1, keepdims=True)).min()))
        xa = (x0 + e * np.sign(g).astype(np.float32)).astype(np.float32)
        low, high = np.maximum(x0 - e, lo), np.minimum(x0 + e, hi)
        clipped += int(((xa < low) | (xa > high)).sum())
        xa = np.clip(xa, low, high)
        d = probs(xa, W, b)
        d[np.arange(len(yb)), yb] -= 1.0
        ref = np.concatenate([(-lr * xa.T.astype(np.float64) @ d / len(yb)).ravel(), -lr * d.sum(axis=0) / len(yb)])
        _, W1, b1 = cks[k + 1]
        got = np.concatenate([(W1 - W).ravel(), b1 - b])
        worst = max(worst, np.abs(got - ref).max() / np.abs(ref).max())
    print(f"{run}: {len(cks) - 1} steps, {clipped} coordinates clipped to the range or ball, update "
          f"within {worst:.2g} of numpy's (relative); smallest input gradient {margin:.2g} of its row's largest")
    # a gradient coordinate near 0 could take another sign in float32: this data has none
    bad += worst > 1e-4 or margin < 1e-3 or clipped < 100
sys.exit(1 if bad else 0)
EOF
    say "FGSM training steps clip to the scaled training range (zscore, minmax, none) as numpy does"
}

"case_$case_name"
