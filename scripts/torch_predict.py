#!/usr/bin/python3
"""torch_predict.py: an independent reference for nn-predict.

    scripts/torch_predict.py CHECKPOINT DATA PREDS [--split S] [--engine torch|numpy] [--tol T]

Loads an nn-train checkpoint with h5py, rebuilds the model, runs it over one split of DATA
(applying the checkpoint's /preprocess, if any, as nn-predict does) and checks that PREDS, the
CSV or HDF5 file nn-predict wrote, holds the same predictions:

  - engine torch: a torch.nn.Sequential of Linear layers (weight = kernel.T, bias = bias), the
    hidden activation from /model's attribute after every layer but the last, and a Softmax
    when /model's output is softmax; float32, as PyTorch runs it.
  - engine numpy: the same forward pass in float64 with numpy only (CI has h5py and numpy
    but maybe not torch).

The default engine is torch if it can be imported, else numpy; the script says which it used.
The split defaults to nn-predict's choice: test if DATA has /test, else val, else train.

Checks: the header and row numbers; every probability (classification) or value (regression)
within T (default 1e-5) of the reference, in absolute terms for probabilities and relative to
max(1, |value|) for regression values (whose units the checkpoint's y_scale may enlarge); and
the class column equal to the reference's argmax wherever the two largest reference
probabilities differ by more than T. Exit status 0 on success, 1 with one FAIL line otherwise.
When the split has labels or targets it also prints the reference loss (and accuracy), the
figures nn-predict prints on its "result" line.
"""
import argparse
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # pragma: no cover
    print(f"torch_predict: FAIL: {e} (install python3-h5py and python3-numpy)", file=sys.stderr)
    sys.exit(1)

FORMAT_VERSIONS = (1, 2, 3, 4)  # the layout is the same; 2 widened the state checksum, 3 added
# the target scaling and class weights (attributes, /preprocess/class_weight), 4 the pruning,
# distillation and adversarial-training attributes, /prune masks (the kernels themselves hold
# the zeros) and /preprocess/x_min, x_max: nothing a forward pass reads


def fail(msg):
    print(f"torch_predict: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def text(v):
    """A string attribute: nn-train writes fixed-length strings (bytes); h5py writes str."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return text(v.item())
    return str(v)


def load_checkpoint(path):
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        fail(f"{path}: cannot open the checkpoint: {e}")
    with f:
        if "format_version" not in f.attrs or "model" not in f:
            fail(f"{path}: not an nn-train checkpoint (no format_version or /model)")
        if int(f.attrs["format_version"]) not in FORMAT_VERSIONS:
            fail(f"{path}: format_version {int(f.attrs['format_version'])}; "
                 f"this script reads versions {', '.join(map(str, FORMAT_VERSIONS))}")
        m = f["model"]
        sizes = [int(s) for s in m.attrs["layers"]]
        model = {
            "sizes": sizes,
            "activation": text(m.attrs["activation"]),
            "output": text(m.attrs["output"]),
            "loss": text(m.attrs["loss"]),
            "params": [(np.asarray(m[f"dense_{i}/kernel"][...], dtype=np.float32),
                        np.asarray(m[f"dense_{i}/bias"][...], dtype=np.float32))
                       for i in range(len(sizes) - 1)],
            "pre": None,
        }
        if "preprocess" in f:
            g = f["preprocess"]
            method = text(g.attrs["method"])
            if method != "none":
                pre = {"method": method,
                       "x_shift": np.asarray(g["x_shift"][...], dtype=np.float32),
                       "x_scale": np.asarray(g["x_scale"][...], dtype=np.float32)}
                if "y_shift" in g:
                    pre["y_shift"] = np.asarray(g["y_shift"][...], dtype=np.float32)
                    pre["y_scale"] = np.asarray(g["y_scale"][...], dtype=np.float32)
                model["pre"] = pre
    return model


def load_split(path, split):
    with h5py.File(path, "r") as f:
        if split is None:
            split = next((s for s in ("test", "val", "train") if s in f), None)
            if split is None:
                fail(f"{path}: has none of /test, /val and /train")
        elif split not in f:
            fail(f"{path}: has no /{split}")
        x = np.asarray(f[f"{split}/x"][...], dtype=np.float32)
        y = f[f"{split}/y"][...] if f"{split}/y" in f else None
    return split, x, y


ACT_NP = {"relu": lambda h: np.maximum(h, 0.0), "tanh": np.tanh,
          "sigmoid": lambda h: 1.0 / (1.0 + np.exp(-h)), "linear": lambda h: h}


def forward_numpy(model, x, probs=True):
    h = x.astype(np.float64)
    params = model["params"]
    for i, (w, b) in enumerate(params):
        h = h @ w.astype(np.float64) + b.astype(np.float64)  # kernel is [in, out]
        if i < len(params) - 1:
            h = ACT_NP[model["activation"]](h)
    if probs and model["output"] == "softmax":
        h = np.exp(h - h.max(axis=1, keepdims=True))
        h /= h.sum(axis=1, keepdims=True)
    return h


def forward_torch(model, x):
    import torch
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
            "linear": torch.nn.Identity}
    layers = []
    params = model["params"]
    for i, (w, b) in enumerate(params):
        lin = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))  # [out, in]
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(params) - 1:
            layers.append(acts[model["activation"]]())
    if model["output"] == "softmax":
        layers.append(torch.nn.Softmax(dim=1))
    net = torch.nn.Sequential(*layers).eval()
    with torch.no_grad():
        out = net(torch.from_numpy(np.ascontiguousarray(x))).numpy()
    return out.astype(np.float64)


def read_preds(path, classify, k):
    """Returns (rows, classes or None, values [n, k]) from nn-predict's CSV or HDF5 output."""
    if path.endswith((".h5", ".hdf5")):
        with h5py.File(path, "r") as f:
            vals = np.asarray(f["predictions"][...], dtype=np.float64).reshape(-1, k)
            cls = np.asarray(f["classes"][...]) if classify else None
            if classify != ("classes" in f):
                fail(f"{path}: /classes is {'missing' if classify else 'unexpected'}")
        return np.arange(vals.shape[0]), cls, vals
    with open(path) as fh:
        header = fh.readline().strip()
    want = ",".join(["row"] + (["class"] if classify else []) +
                    [f"{'p' if classify else 'y'}{j}" for j in range(k)])
    if header != want:
        fail(f"{path}: header '{header}'; expected '{want}'")
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    if a.size == 0:
        a = np.zeros((0, 1 + classify + k))
    if a.shape[1] != 1 + classify + k:
        fail(f"{path}: {a.shape[1]} columns; expected {1 + classify + k}")
    return a[:, 0], (a[:, 1] if classify else None), a[:, 1 + classify:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("data")
    ap.add_argument("preds", help="nn-predict's --output (.csv, .h5 or .hdf5)")
    ap.add_argument("--split", choices=["test", "val", "train"])
    ap.add_argument("--engine", choices=["torch", "numpy"])
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()

    engine, why = args.engine, ""
    if engine in (None, "torch"):
        try:
            import torch  # noqa: F401
            engine = "torch"
        except ImportError as e:
            if args.engine == "torch":
                fail(f"--engine torch: torch cannot be imported ({e})")
            engine, why = "numpy", " (torch is not importable)"
    if engine == "torch":
        import torch
        label = f"torch {torch.__version__}, float32"
    else:
        label = f"numpy {np.__version__}, float64"

    model = load_checkpoint(args.checkpoint)
    split, x, y = load_split(args.data, args.split)
    sizes, pre = model["sizes"], model["pre"]
    k, classify = sizes[-1], model["output"] == "softmax"
    if x.ndim != 2 or x.shape[1] != sizes[0]:
        fail(f"{args.data}: /{split}/x has shape {x.shape}; the model takes {sizes[0]} features")
    if pre is not None:  # float32, in nn-predict's order: (x - shift) / scale
        x = (x - pre["x_shift"]) / pre["x_scale"]
    ref = forward_torch(model, x) if engine == "torch" else forward_numpy(model, x)
    if not classify and pre is not None and "y_shift" in pre:
        ref = ref * pre["y_scale"].astype(np.float64) + pre["y_shift"].astype(np.float64)

    rows, cls, vals = read_preds(args.preds, classify, k)
    n = x.shape[0]
    if vals.shape[0] != n:
        fail(f"{args.preds}: {vals.shape[0]} rows; /{split} has {n}")
    if not np.array_equal(rows, np.arange(n)):
        fail(f"{args.preds}: the row column is not 0..{n - 1} in order")
    diff = np.abs(vals - ref)
    max_abs = float(diff.max()) if diff.size else 0.0
    scaled = diff if classify else diff / np.maximum(1.0, np.abs(ref))
    worst = float(scaled.max()) if scaled.size else 0.0
    if worst > args.tol:
        i, j = np.unravel_index(int(scaled.argmax()), scaled.shape)
        fail(f"{args.preds}: row {i} column {j} is {vals[i, j]:.9g}; the {engine} reference "
             f"gives {ref[i, j]:.9g} (difference {diff[i, j]:.3g} > {args.tol:g})")
    if classify and n:
        top2 = np.sort(ref, axis=1)[:, -2:] if k > 1 else np.zeros((n, 2))
        clear = (top2[:, 1] - top2[:, 0]) > args.tol
        want = ref.argmax(axis=1)
        bad = np.nonzero(clear & (cls.astype(np.int64) != want))[0]
        if bad.size:
            i = int(bad[0])
            fail(f"{args.preds}: row {i} has class {int(cls[i])}; the reference says {want[i]}")

    what = "probabilities" if classify else "values"
    print(f"torch_predict: OK: engine {engine}{why} ({label}): {args.checkpoint} on "
          f"{args.data} /{split}: {n} rows x {k} {what}, max abs diff {max_abs:.3g}"
          f"{'' if classify else f' (max relative {worst:.3g})'}, tolerance {args.tol:g}")
    if y is not None and n:  # metrics from float64 logits, whatever the engine
        z = forward_numpy(model, x, probs=False)
        labels = y.ndim == 1 and np.issubdtype(y.dtype, np.integer)
        if model["loss"] == "xent":
            lse = z.max(axis=1) + np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1))
            if labels:
                loss = np.mean(lse - z[np.arange(n), y])
            else:
                t = np.asarray(y, dtype=np.float64).reshape(n, k)
                loss = np.mean(lse * t.sum(axis=1) - (t * z).sum(axis=1))
        else:
            if pre is not None and "y_shift" in pre:
                z = z * pre["y_scale"].astype(np.float64) + pre["y_shift"].astype(np.float64)
            t = np.eye(k)[y] if labels else np.asarray(y, dtype=np.float64).reshape(n, k)
            loss = np.mean((z - t) ** 2)
        line = f"torch_predict: reference loss {loss:.9g} ({model['loss']})"
        if labels:
            line += f" accuracy {np.mean(z.argmax(axis=1) == y):.9g}"
        print(line)

if __name__ == "__main__":
    main()
