#!/usr/bin/env python3
"""export_ref.py: numpy's side of tests/e2e_export.sh (docs/export.md).

  export_ref.py file CKPT NNQ
      the exported file against the float checkpoint, from the formula: per output channel
      s = max|w| / 127 (float32), codes rint(w / s) (ties to even), the same bits; CSC layers
      hold exactly the nonzero codes, column starts increasing, rows increasing; the dequantised
      weights codes * s; the biases and /preprocess copied bit for bit.
  export_ref.py predict NNQ DATA SPLIT CSV
      the int8 forward pass written out in numpy (row codes rint(x / a), a = max|x| / 127, int64
      sums, z = float32(sum) * (a * s) + b) against nn-predict's CSV of the exported model:
      classes equal, probabilities within 1e-6.
Exits non-zero, saying what differs, on any mismatch.
"""
import sys

import h5py
import numpy as np

f32 = np.float32


def fail(msg):
    print("export_ref.py: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def codes_of(g, n_in, n_out):
    """The dense int8 codes (in, out) of layer group g, either storage."""
    st = g.attrs["storage"]
    st = st.decode() if isinstance(st, bytes) else st
    if st == "int8":
        q = g["kernel_q"][...]
        if q.dtype != np.int8 or q.shape != (n_in, n_out):
            fail(f"{g.name}/kernel_q: {q.dtype} {q.shape}")
        return q.astype(np.int64), st
    vals, row, ptr = g["values"][...], g["row"][...], g["col_ptr"][...]
    if vals.dtype != np.int8 or row.dtype != np.uint16 or ptr.dtype != np.uint32:
        fail(f"{g.name}: CSC types {vals.dtype} {row.dtype} {ptr.dtype}")
    if ptr.shape != (n_out + 1,) or ptr[0] != 0 or ptr[-1] != len(vals) or np.any(np.diff(ptr.astype(np.int64)) < 0):
        fail(f"{g.name}/col_ptr is not 0 .. nnz increasing")
    q = np.zeros((n_in, n_out), np.int64)
    for j in range(n_out):
        r = row[ptr[j]:ptr[j + 1]].astype(np.int64)
        if len(r) and (np.any(np.diff(r) <= 0) or r[-1] >= n_in):
            fail(f"{g.name}: column {j} rows {r}")
        q[r, j] = vals[ptr[j]:ptr[j + 1]]
    if np.any(vals == 0):
        fail(f"{g.name}: CSC stores a zero code")
    return q, st


def check_file(ckpt, nnq):
    with h5py.File(ckpt, "r") as c, h5py.File(nnq, "r") as e:
        sizes = [int(v) for v in e.attrs["layers"]]
        if sizes != [int(v) for v in c["model"].attrs["layers"]]:
            fail(f"layers {sizes}")
        total = 0
        for i in range(len(sizes) - 1):
            w = c[f"model/dense_{i}/kernel"][...].astype(f32)
            b = c[f"model/dense_{i}/bias"][...].astype(f32)
            g = e[f"model/dense_{i}"]
            s = (np.max(np.abs(w), axis=0) / f32(127)).astype(f32)
            if g["scale"][...].tobytes() != s.tobytes():
                fail(f"layer {i}: scales differ from max|w| / 127")
            if g["bias"][...].tobytes() != b.tobytes():
                fail(f"layer {i}: biases differ")
            with np.errstate(divide="ignore", invalid="ignore"):
                want = np.where(s > 0, np.rint(w / s), 0).astype(np.int64)
            q, st = codes_of(g, sizes[i], sizes[i + 1])
            if not np.array_equal(q, want):
                k = np.argwhere(q != want)[0]
                fail(f"layer {i} ({st}): code at {tuple(k)} is {q[tuple(k)]}, rint(w/s) = {want[tuple(k)]}")
            deq = (q.astype(f32) * s).astype(f32)
            ref = (want.astype(f32) * s).astype(f32)
            if deq.tobytes() != ref.tobytes():
                fail(f"layer {i}: dequantised weights differ from rint(w/s)*s")
            total += int(np.count_nonzero(q))
            print(f"layer {i}: {st}, {np.count_nonzero(q)} of {q.size} codes nonzero, "
                  f"max |w - q s| / s = {np.max(np.abs(w - deq) / np.where(s > 0, s, 1)):.3f}")
        if "preprocess" in c:
            for name in ("x_shift", "x_scale"):
                if c["preprocess"][name][...].tobytes() != e["preprocess"][name][...].tobytes():
                    fail(f"/preprocess/{name} differs")
        print(f"file {nnq}: codes, scales, biases and /preprocess as the formula gives ({total} nonzero codes)")


def forward(nnq, x):
    with h5py.File(nnq, "r") as e:
        sizes = [int(v) for v in e.attrs["layers"]]
        act = e.attrs["activation"]
        act = act.decode() if isinstance(act, bytes) else act
        if act != "relu":
            fail(f"activation {act}: this reference does relu only")
        if "preprocess" in e:
            p = e["preprocess"]
            x = ((x.astype(f32) - p["x_shift"][...]) / p["x_scale"][...]).astype(f32)
        a = x.astype(f32)
        for i in range(len(sizes) - 1):
            g = e[f"model/dense_{i}"]
            q, _ = codes_of(g, sizes[i], sizes[i + 1])
            s, b = g["scale"][...], g["bias"][...]
            m = np.max(np.abs(a), axis=1)
            sa = (m / f32(127)).astype(f32)
            with np.errstate(divide="ignore", invalid="ignore"):
                xq = np.where(sa[:, None] > 0, np.rint(a / sa[:, None]), 0).astype(np.int64)
            acc = xq @ q  # exact int64 sums
            z = (acc.astype(f32) * (sa[:, None] * s[None, :]).astype(f32)).astype(f32) + b
            z = z.astype(f32)
            a = np.maximum(z, f32(0)) if i + 2 < len(sizes) else z
        return a


def check_predict(nnq, data, split, csv):
    with h5py.File(data, "r") as d:
        x = d[f"{split}/x"][...]
    z = forward(nnq, x).astype(np.float64)
    zz = np.exp(z - z.max(axis=1, keepdims=True))
    prob = (zz / zz.sum(axis=1, keepdims=True)).astype(f32)
    cls = np.argmax(z, axis=1)
    got = np.loadtxt(csv, delimiter=",", skiprows=1, ndmin=2)
    if got.shape[0] != len(x):
        fail(f"{csv}: {got.shape[0]} rows, expected {len(x)}")
    bad = np.flatnonzero(got[:, 1].astype(np.int64) != cls)
    if len(bad):
        fail(f"row {bad[0]}: class {int(got[bad[0], 1])}, numpy's int8 pass says {cls[bad[0]]}")
    d = np.max(np.abs(got[:, 2:] - prob))
    if not d <= 1e-6:
        fail(f"probabilities differ from numpy's int8 pass by {d:g} (tolerance 1e-6)")
    print(f"predict {nnq}: {len(x)} rows, classes equal to numpy's int8 pass, probabilities within {d:.1e}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "file":
        check_file(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "predict":
        check_predict(*sys.argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
