#!/usr/bin/python3
"""explain_reference.py: an independent reference for nn-predict --explain and --importance ig.

    scripts/explain_reference.py CHECKPOINT DATA OUT --method ig|gradxinput|saliency|importance-ig
        [--split S] [--rows LIST] [--class pred|N] [--steps N] [--baseline mean|zero|FILE]
        [--ig-method auto|exact|riemann] [--engine torch|numpy] [--tol T]

Rebuilds the model from the checkpoint (scripts/torch_predict.py's loader), takes the same rows
of the split and computes, in float64, the attributed value f (the softmax probability of the
class, or the regression output mapped back through /preprocess's y_shift and y_scale) and its
gradient with respect to the RAW features (through x' = (x - x_shift) / x_scale):
  - engine torch: autograd (torch.autograd.grad) on a float64 copy of the model;
  - engine numpy: the chain rule written out layer by layer (numpy only, as CI may have).
Then the method as docs/explain.md defines it: saliency |df/dx|, gradient x input x * df/dx,
integrated gradients (x - b) * mean over s of df/dx(b + (s + 1/2)/steps (x - b)), and for
importance-ig the mean and standard deviation over the rows of |IG| per feature.

IG's exact method (--ig-method exact, or auto on a relu or linear model, as nn-predict): the
path's linear pieces found in another way than nn-predict's (which finds them layer by layer
between points): a walk along the path in float64, forward mode. At a point a0 each hidden
unit's pre-activation h and its derivative v along the path (through the pattern just past
a0, h + 1e-10 v > 0) give the next crossing, min -h/v over the units heading for zero; on the
piece the logits are affine, and the piece's share is J^T times the integral of df/dz along
the line (16-node Gauss-Legendre on sub-pieces of at most 0.5 in every logit).

Checks OUT, nn-predict's CSV or HDF5 output: the rows, classes and f(x) (to 1e-5 relative to
max(1, |f|)); every attribution within T (default 1e-4) relative to the row's largest; for IG
also f(baseline), the attributions' sum and the completeness gap recomputed from them. Prints one
summary line, including the reference's own completeness (rows within 1%, largest gap); exit 0,
or 1 with one FAIL line.
"""
import argparse
import sys

import h5py
import numpy as np


def fail(msg):
    print(f"explain_reference: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def load_checkpoint(path):
    """The model and /preprocess of a checkpoint (docs/checkpoint.md; any format_version:
    these parts are laid out the same in all)."""
    with h5py.File(path, "r") as f:
        m = f["model"]
        sizes = [int(s) for s in m.attrs["layers"]]
        model = {"sizes": sizes, "activation": text(m.attrs["activation"]),
                 "output": text(m.attrs["output"]), "pre": None,
                 "params": [(np.asarray(m[f"dense_{i}/kernel"][...], dtype=np.float32),
                             np.asarray(m[f"dense_{i}/bias"][...], dtype=np.float32))
                            for i in range(len(sizes) - 1)]}
        g = f.get("preprocess")
        if g is not None and text(g.attrs["method"]) != "none":
            model["pre"] = {k: np.asarray(g[k][...], dtype=np.float32)
                            for k in ("x_shift", "x_scale", "y_shift", "y_scale") if k in g}
    return model


def load_split(path, split):
    with h5py.File(path, "r") as f:
        split = split or next(s for s in ("test", "val", "train") if s in f)
        return split, np.asarray(f[f"{split}/x"][...], dtype=np.float32), None


def parse_rows(spec, n):
    if spec is None:
        return np.arange(n)
    rows = set()
    for item in spec.split(","):
        a, _, b = item.partition("-")
        rows.update(range(int(a), int(b or a) + 1))
    return np.array(sorted(rows))


DACT = {"relu": lambda h, a: (h > 0).astype(np.float64), "tanh": lambda h, a: 1.0 - a * a,
        "sigmoid": lambda h, a: a * (1.0 - a), "linear": lambda h, a: np.ones_like(h)}
ACT = {"relu": lambda h: np.maximum(h, 0.0), "tanh": np.tanh,
       "sigmoid": lambda h: 1.0 / (1.0 + np.exp(-h)), "linear": lambda h: h}


def value_and_grad_numpy(model, x, cls):
    """f (n) and df/dx (n, D) of raw rows x (n, D) for classes cls (n), float64."""
    pre, params = model["pre"], model["params"]
    shift = pre["x_shift"].astype(np.float64) if pre else 0.0
    scale = pre["x_scale"].astype(np.float64) if pre else 1.0
    h = (x - shift) / scale
    hs, acts = [], []
    for i, (w, b) in enumerate(params):
        z = h @ w.astype(np.float64) + b.astype(np.float64)
        if i < len(params) - 1:
            hs.append(z)
            h = ACT[model["activation"]](z)
            acts.append(h)
        else:
            h = z
    n = np.arange(x.shape[0])
    if model["output"] == "softmax":
        p = np.exp(h - h.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        f = p[n, cls]
        dz = -f[:, None] * p
        dz[n, cls] += f
    else:
        ys = pre["y_scale"].astype(np.float64) if pre and "y_scale" in pre else np.ones(h.shape[1])
        yb = pre["y_shift"].astype(np.float64) if pre and "y_shift" in pre else np.zeros(h.shape[1])
        f = h[n, cls] * ys[cls] + yb[cls]
        dz = np.zeros_like(h)
        dz[n, cls] = ys[cls]
    for i in range(len(params) - 1, -1, -1):
        dz = dz @ params[i][0].astype(np.float64).T
        if i > 0:
            dz = dz * DACT[model["activation"]](hs[i - 1], acts[i - 1])
    return f, dz / scale


def dfdz(model, z, k):
    """df/dz (m, K) at logits z (m, K) for class (or output) k."""
    if model["output"] == "softmax":
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g = -p[:, k:k + 1] * p
        g[:, k] += p[:, k]
        return g
    pre = model["pre"]
    g = np.zeros_like(z)
    g[:, k] = pre["y_scale"][k] if pre and "y_scale" in pre else 1.0
    return g


GL_X, GL_W = np.polynomial.legendre.leggauss(16)


def ig_exact(model, x, base, k):
    """Exact IG of one raw row x (D) from base (D) for class k, float64: the walk along the
    path's linear pieces (module docstring)."""
    pre, params = model["pre"], model["params"]
    relu = model["activation"] == "relu"
    shift = pre["x_shift"].astype(np.float64) if pre else 0.0
    scale = pre["x_scale"].astype(np.float64) if pre else 1.0
    ws = [(w.astype(np.float64), b.astype(np.float64)) for w, b in params]
    b0 = (base - shift) / scale
    dx = (x - base) / scale
    h1_0 = b0 @ ws[0][0] + ws[0][1]  # layer 1 is affine along the whole path
    v1 = dx @ ws[0][0]
    a0, us, masks = 0.0, [], []
    while a0 < 1.0:
        h, v = h1_0 + a0 * v1, v1
        t_next, mk = 1.0 - a0, []
        for i in range(1, len(ws)):
            if relu:
                on = h + 1e-10 * v > 0  # the pattern just past a0
                head = (h * v < 0) & (-h / np.where(v == 0, 1, v) > 1e-10)
                if head.any():
                    t_next = min(t_next, float((-h[head] / v[head]).min()))
                mk.append(on)
                a, va = np.where(on, h, 0.0), np.where(on, v, 0.0)
            else:
                a, va = h, v
            h, v = a @ ws[i][0] + ws[i][1], va @ ws[i][0]
        # the logits h + t v on the piece t in [0, t_next]: df/dz integrated over it
        m = max(1, int(np.ceil(np.abs(v).max() * t_next / 0.5)))
        edges = np.linspace(0.0, t_next, m + 1)
        u = np.zeros_like(h)
        for lo_, hi_ in zip(edges[:-1], edges[1:]):
            t = 0.5 * (lo_ + hi_) + 0.5 * (hi_ - lo_) * GL_X
            u += 0.5 * (hi_ - lo_) * (GL_W[:, None] * dfdz(model, h + t[:, None] * v, k)).sum(0)
        us.append(u)
        masks.append(mk)
        a0 += t_next
    g = np.zeros(x.shape[0])
    for u, mk in zip(us, masks):  # J^T u through the piece's pattern
        for i in range(len(ws) - 1, 0, -1):
            u = u @ ws[i][0].T
            if relu:
                u = u * mk[i - 1]
        g += u @ ws[0][0].T
    return (x - base) * g / scale


def value_and_grad_torch(model, x, cls):
    import torch
    pre, params = model["pre"], model["params"]
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    h = xt
    if pre:
        h = (h - torch.tensor(pre["x_shift"], dtype=torch.float64)) / \
            torch.tensor(pre["x_scale"], dtype=torch.float64)
    acts = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
            "linear": lambda t: t}
    for i, (w, b) in enumerate(params):
        h = h @ torch.tensor(w, dtype=torch.float64) + torch.tensor(b, dtype=torch.float64)
        if i < len(params) - 1:
            h = acts[model["activation"]](h)
    idx = torch.arange(x.shape[0])
    c = torch.tensor(cls)
    if model["output"] == "softmax":
        f = torch.softmax(h, dim=1)[idx, c]
    else:
        f = h[idx, c]
        if pre and "y_scale" in pre:
            f = f * torch.tensor(pre["y_scale"], dtype=torch.float64)[c] + \
                torch.tensor(pre["y_shift"], dtype=torch.float64)[c]
    (g,) = torch.autograd.grad(f.sum(), xt)
    return f.detach().numpy(), g.numpy()


def read_out(path, d):
    """(rows, classes, f_x, f_b, sum, gap, attributions (n, d)) from nn-predict's output."""
    if path.endswith((".h5", ".hdf5")):
        with h5py.File(path, "r") as f:
            get = (lambda k: np.asarray(f[k][...], dtype=np.float64) if k in f else None)
            return (get("rows"), get("classes"), get("f_x"), get("f_baseline"), get("attr_sum"),
                    get("gap"), get("attributions"))
    with open(path) as fh:
        header = fh.readline().rstrip("\n").split(",")
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    ig = header[3] == "f_baseline"
    h = 6 if ig else 3
    if a.shape[1] != h + d:
        fail(f"{path}: {a.shape[1]} columns; expected {h + d}")
    col = (lambda j: a[:, j] if ig else None)
    return a[:, 0], a[:, 1], a[:, 2], col(3), col(4), col(5), a[:, h:]


def read_importance(path):
    with open(path) as fh:
        fh.readline()
        imp, spread = {}, {}
        for line in fh:
            parts = line.rstrip("\n").split(",")
            j = int(parts[1])
            imp[j], spread[j] = float(parts[-2]), float(parts[-1])
    return imp, spread


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--method", required=True,
                    choices=["ig", "gradxinput", "saliency", "importance-ig"])
    ap.add_argument("--split", choices=["test", "val", "train"])
    ap.add_argument("--rows")
    ap.add_argument("--class", dest="klass", default="pred")
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--baseline", default="mean")
    ap.add_argument("--ig-method", choices=["auto", "exact", "riemann"], default="auto")
    ap.add_argument("--engine", choices=["torch", "numpy"])
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()

    engine = args.engine
    if engine is None:
        try:
            import torch  # noqa: F401
            engine = "torch"
        except ImportError:
            engine = "numpy"
    vg = value_and_grad_torch if engine == "torch" else value_and_grad_numpy

    model = load_checkpoint(args.checkpoint)
    split, x, _ = load_split(args.data, args.split)
    rows = parse_rows(args.rows, x.shape[0])
    x = x[rows].astype(np.float64)
    n, d = x.shape
    classify = model["output"] == "softmax"
    if args.klass == "pred":
        cls = None if classify else np.zeros(n, dtype=int)
    else:
        cls = np.full(n, int(args.klass))
    if cls is None:  # the argmax of the logits is the argmax of the probabilities
        f0, _ = vg(model, x, np.zeros(n, dtype=int))
        params = model["params"]
        pre = model["pre"]
        h = (x - pre["x_shift"]) / pre["x_scale"] if pre else x
        for i, (w, b) in enumerate(params):
            h = h @ w.astype(np.float64) + b
            if i < len(params) - 1:
                h = ACT[model["activation"]](h)
        cls = h.argmax(axis=1)
    fx, g = vg(model, x, cls)
    ig = args.method in ("ig", "importance-ig")
    if ig:
        if args.baseline == "mean":
            base = model["pre"]["x_shift"].astype(np.float64)
        elif args.baseline == "zero":
            base = np.zeros(d)
        else:
            base = np.array(open(args.baseline).read().replace(",", " ").split(), dtype=np.float64)
        exact = args.ig_method == "exact" or (
            args.ig_method == "auto" and (model["activation"] in ("relu", "linear")
                                          or len(model["params"]) == 1))
        if exact:
            attr = np.stack([ig_exact(model, x[i], base, int(cls[i])) for i in range(n)])
        else:
            alphas = (np.arange(args.steps) + 0.5) / args.steps
            acc = np.zeros((n, d))
            for a in alphas:
                _, ga = vg(model, base + a * (x - base), cls)
                acc += ga
            attr = (x - base) * acc / args.steps
        fb, _ = vg(model, np.repeat(base[None, :], n, axis=0), cls)
        delta = fx - fb
        gap = np.abs(attr.sum(axis=1) - delta) / np.abs(delta)
    elif args.method == "gradxinput":
        attr = x * g
    else:
        attr = np.abs(g)

    if args.method == "importance-ig":
        imp, spread = read_importance(args.out)
        want = np.abs(attr).mean(axis=0)
        want_s = np.abs(attr).std(axis=0)
        top = max(want.max(), 1e-30)
        for j in range(d):
            if abs(imp[j] - want[j]) > args.tol * top or abs(spread[j] - want_s[j]) > args.tol * top:
                fail(f"feature {j}: importance {imp[j]:.7g} +- {spread[j]:.7g}; reference "
                     f"{want[j]:.7g} +- {want_s[j]:.7g}")
        order = np.argsort(-want, kind="stable")
        print(f"explain_reference: OK ({engine}): mean |IG| of {d} features over {n} rows within "
              f"{args.tol:g} of the largest; top {list(order[:5])}")
        return

    r, c, ofx, ofb, osum, ogap, oattr = read_out(args.out, d)
    if len(r) != n or np.any(r != rows):
        fail(f"{args.out}: rows {r[:5]}...; expected {rows[:5]}...")
    if np.any(c != cls):
        i = int(np.argmax(c != cls))
        fail(f"row {rows[i]}: class {int(c[i])}; reference {cls[i]}")
    bad = np.abs(ofx - fx) > 1e-5 * np.maximum(1.0, np.abs(fx))
    if bad.any():
        i = int(np.argmax(bad))
        fail(f"row {rows[i]}: f(x) {ofx[i]:.9g}; reference {fx[i]:.9g}")
    scale = np.maximum(np.abs(attr).max(axis=1, keepdims=True), 1e-12)
    err = np.abs(oattr - attr) / scale
    if err.max() > args.tol:
        i, j = np.unravel_index(np.argmax(err), err.shape)
        over = int((err.max(axis=1) > args.tol).sum())
        fail(f"row {rows[i]} feature {j}: attribution {oattr[i, j]:.7g}; reference "
             f"{attr[i, j]:.7g} (relative to the row's largest, {err[i, j]:.3g} > {args.tol:g}; "
             f"{over} of {n} rows over)")
    line = f"explain_reference: OK ({engine}): {args.method} of {n} rows x {d} features within " \
           f"{err.max():.2g} of each row's largest"
    if ig:
        if np.any(np.abs(ofb - fb) > 1e-5 * np.maximum(1.0, np.abs(fb))):
            fail(f"f(baseline) {ofb[:3]}; reference {fb[:3]}")
        if np.any(np.abs(osum - oattr.sum(axis=1)) > 1e-4 * np.maximum(1.0, np.abs(osum))):
            fail("attr_sum is not the sum of the row's attributions")
        # the gap in f's units, |sum - (f(x) - f(b))|, against the file's (its floats are
        # printed to 9 digits: the sum of D of them carries that rounding)
        odelta = np.abs(ofx - ofb)
        mine = np.abs(oattr.sum(axis=1) - (ofx - ofb))
        bad = np.abs(mine - ogap * odelta) > 1e-6 * np.maximum(1.0, np.abs(ofx)) * (1 + d / 8)
        if bad.any():
            i = int(np.argmax(bad))
            fail(f"row {rows[i]}: gap {ogap[i]:.6g} of f(x) - f(b) = {ofx[i] - ofb[i]:.6g}; "
                 f"recomputed from the file {mine[i] / odelta[i]:.6g}")
        line += f"; reference completeness: {int((gap <= 0.01).sum())} of {n} rows within 1%, " \
                f"largest gap {100 * gap.max():.3g}%"
    print(line)


if __name__ == "__main__":
    main()
