#!/bin/bash
# e2e_class_weight.sh: what --class-weight's losses divide by (docs/tabular.md), step by step
# against numpy (h5py).
#   tests/e2e_class_weight.sh CASE BUILD_DIR
# CASE:
#   sums  a softmax regression (--layers 6,3) on imbalanced classes (200/100/40 training rows in
#         file order), --class-weight balanced, plain SGD, --no-shuffle, 2 epochs, a checkpoint
#         after every step, at 1 and 3 ranks. From each checkpoint numpy takes the next step:
#         the update is -lr * sum(w_y dCE/dparams) / (the batch's weight sum sum(w_y)), and the
#         step log's loss the batch's sum(w_y CE) / its weight sum (every step after the first;
#         the second epoch's batch sums are the first's, kept); each epoch's train_loss is
#         sum over steps of loss * batch weight sum / the training set's weight sum, and its
#         val_loss the validation set's weighted mean from the epoch's checkpoint.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "${2:-}" class-weight-
py=/usr/bin/python3
need_h5py

case_sums() {
    "$make_data" blobs c.h5 600 6 3 3 150 >/dev/null
    "$py" - <<'EOF'
import h5py, numpy as np
with h5py.File("c.h5", "r") as f, h5py.File("imb.h5", "w") as g:
    x, y = f["train/x"][...], f["train/y"][...]
    keep = np.sort(np.concatenate([np.flatnonzero(y == c)[:n] for c, n in ((0, 200), (1, 100), (2, 40))]))
    g["train/x"], g["train/y"] = x[keep], y[keep].astype(np.int32)
    g["val/x"], g["val/y"] = f["val/x"][...], f["val/y"][...].astype(np.int32)
EOF
    local np
    for np in 1 3; do
        run_np $np --data imb.h5 --layers 6,3 --optimizer sgd --lr 0.5 --batch 64 --epochs 2 \
            --no-shuffle --class-weight balanced --checkpoint-dir ck$np --checkpoint-every-steps 1 \
            --keep 100 --step-log s$np.csv --metrics m$np.csv --quiet
    done
    "$py" - 1 3 <<'EOF' || fail "the weighted steps or losses differ from numpy's"
import csv, glob, re, sys, h5py, numpy as np
lr, batch = 0.5, 64
with h5py.File("imb.h5", "r") as f:
    xs = {s: f[s + "/x"][...] for s in ("train", "val")}
    ys = {s: f[s + "/y"][...] for s in ("train", "val")}
n = len(ys["train"])
steps = -(-n // batch)

def load(p):
    with h5py.File(p, "r") as f:
        shift, scale = f["preprocess/x_shift"][...], f["preprocess/x_scale"][...]
        return (int(f.attrs["step"]), f["model/dense_0/kernel"][...].astype(np.float64),
                f["model/dense_0/bias"][...].astype(np.float64),
                lambda x: ((x - shift) / scale).astype(np.float32),
                f["preprocess/class_weight"][...].astype(np.float64))

def weighted(W, b, x, y, w):  # sum(w_y CE), its gradients, sum(w_y)
    z = x.astype(np.float64) @ W + b
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    wy = w[y]
    ce = -np.log(p[np.arange(len(y)), y])
    g = p.copy()
    g[np.arange(len(y)), y] -= 1.0
    g *= wy[:, None]
    return (wy * ce).sum(), x.T.astype(np.float64) @ g, g.sum(axis=0), wy.sum()

bad = 0
for ranks in sys.argv[1:]:
    files = sorted(glob.glob(f"ck{ranks}/ckpt-*.h5"), key=lambda p: int(re.search(r"-s(\d+)", p).group(1)))
    logged = [float(r[2]) for r in csv.reader(open(f"s{ranks}.csv")) if r[0].isdigit()]
    rows = list(csv.DictReader(open(f"m{ranks}.csv")))
    assert len(logged) == 2 * steps and len(files) == 2 * steps and len(rows) == 2, \
        (len(logged), len(files), len(rows), steps)
    cks = [load(p) for p in files]
    w = cks[0][4]
    cnt = np.bincount(ys["train"], minlength=3)
    assert np.array_equal(w.astype(np.float32), (n / (3 * cnt.astype(np.float64))).astype(np.float32)), w
    worst_u = worst_l = worst_t = worst_v = 0.0
    for k in range(len(cks) - 1):  # the step from checkpoint k (after step k + 1) to k + 1
        step, W, b, sc, _ = cks[k]
        s = step % steps  # the batch in file order
        lo, hi = s * batch, min(n, (s + 1) * batch)
        loss, gW, gb, wsum = weighted(W, b, sc(xs["train"][lo:hi]), ys["train"][lo:hi], w)
        _, W1, b1, _, _ = cks[k + 1]
        ref = np.concatenate([(-lr * gW / wsum).ravel(), -lr * gb / wsum])
        got = np.concatenate([(W1 - W).ravel(), b1 - b])
        worst_u = max(worst_u, np.abs(got - ref).max() / np.abs(ref).max())
        worst_l = max(worst_l, abs(logged[step] - loss / wsum) / (loss / wsum))
    bw = [w[ys["train"][s * batch:(s + 1) * batch]].sum() for s in range(steps)]
    train_w = w[ys["train"]].sum()
    for e, r in enumerate(rows):
        tl = sum(logged[e * steps + s] * bw[s] for s in range(steps)) / train_w
        worst_t = max(worst_t, abs(float(r["train_loss"]) - tl) / tl)
        _, W, b, sc, _ = cks[(e + 1) * steps - 1]
        vl, _, _, vw = weighted(W, b, sc(xs["val"]), ys["val"], w)
        worst_v = max(worst_v, abs(float(r["val_loss"]) - vl / vw) / (vl / vw))
    print(f"np {ranks}: {len(cks) - 1} steps: update within {worst_u:.2g}, step loss {worst_l:.2g}, "
          f"train_loss {worst_t:.2g}, val_loss {worst_v:.2g} of numpy's (relative)")
    bad += not (worst_u < 1e-4 and worst_l < 1e-5 and worst_t < 1e-6 and worst_v < 1e-5)
sys.exit(1 if bad else 0)
EOF
    say "the weighted SGD steps, step losses, train_loss and val_loss at 1 and 3 ranks are numpy's"
}

"case_$case_name"
