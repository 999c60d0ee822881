#!/usr/bin/python3
"""Check an nn-train checkpoint against docs/checkpoint.md and against the run's metrics.

usage: check_checkpoint.py CKPT DATA METRICS_CSV

1. Asserts the documented layout (format_version 1 to 4): root attributes, /model attributes,
   /model/dense_<i>/{kernel,bias} (float32, [in, out] and [out], chunked, Fletcher32), the
   /optimizer attributes, optimizer state groups that mirror /model, format 4's pruning masks
   (/prune/dense_<i>/mask, uint8, where every pruned weight and its moments are 0); and recomputes
   state_checksum from the file as docs/checkpoint.md defines it for the file's version.
2. Runs the model forward in numpy (float64) over DATA's validation split and computes the
   mean loss and accuracy the way nn-train does (src/core/kernels.c). The validation split is /val
   when DATA has one; otherwise the --val-fraction holdout of /train is rebuilt from the
   checkpoint's seed and config (Floyd's algorithm, as nn_holdout_split in src/core/shard.c).
   With target scaling (/preprocess/y_shift, y_scale) the loss is taken in the targets' own
   units, as nn-train reports it; with class weights (/preprocess/class_weight) it is the
   weighted mean sum(w_y * loss) / sum(w_y).
3. Compares them with the last row of METRICS_CSV (nn-train --metrics): val_loss to 1e-4
   relative, val_accuracy to 1e-6 absolute (both NaN when nn-train does not measure them).

Exit status: 0 all checks pass (one summary line), 1 a check failed (one line saying which),
2 usage error. Run with Debian's /usr/bin/python3 (h5py, numpy).
"""
import csv
import math
import os
import re
import struct
import sys

import h5py
import numpy as np

FORMAT_VERSIONS = (1, 2, 3, 4)
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
OPTIMIZERS = ("sgd", "gd", "adam", "adamw")
ROOT_ATTRS = {  # name -> numpy dtype kind/size as written by src/io/checkpoint.c
    "format_version": "i8", "program": "S", "program_version": "S", "epoch": "i8",
    "epoch_step": "i8", "step": "i8", "epoch_loss_sum": "f8", "seed": "u8", "batch": "i8",
    "epochs": "i8", "val_fraction": "f8", "no_shuffle": "i8", "world_size": "i8",
    "created": "S", "data": "S", "config": "S", "settings": "S", "config_hash": "u8",
    "normalize": "S", "dropout": "f8", "lr_schedule": "S", "warmup_epochs": "f8",
    "lr_step_epochs": "i8", "lr_gamma": "f8", "lr_min": "f8", "patience": "i8",
    "best_val_loss": "f8", "best_epoch": "i8", "bad_epochs": "i8", "state_checksum": "u8",
    "normalize_targets": "S", "class_weight": "S",  # format 3 on
    "prune_to": "f8", "prune_start": "f8", "prune_end": "f8", "prune_every": "i8",  # format 4 on
    "prune_scope": "S", "teacher": "S", "distill_alpha": "f8", "temperature": "f8",
    "adversarial": "S", "adv_eps": "f8", "adv_steps": "i8", "adv_step_size": "f8",
    "adv_fraction": "f8",  # format 4 on (docs/robustness.md)
}
V3_ROOT_ATTRS = ("normalize_targets", "class_weight")
# Format 4 (docs/shrink.md) hashes these after the format 3 attributes; an older file means
# 0 and "none".
V4_CHECKSUM = [("/", "prune_to", "f8"), ("/", "prune_start", "f8"), ("/", "prune_end", "f8"),
               ("/", "prune_every", "i8"), ("/", "prune_scope", "S"), ("/", "teacher", "S"),
               ("/", "distill_alpha", "f8"), ("/", "temperature", "f8"),
               ("/", "adversarial", "S"), ("/", "adv_eps", "f8"), ("/", "adv_steps", "i8"),
               ("/", "adv_step_size", "f8"), ("/", "adv_fraction", "f8")]
V4_ROOT_ATTRS = tuple(n for _, n, _ in V4_CHECKSUM)
MODEL_ATTRS = {"layers": "i4", "activation": "S", "output": "S", "loss": "S"}
OPT_ATTRS = {"name": "S", "step": "i8", "lr": "f8", "momentum": "f8", "beta1": "f8",
             "beta2": "f8", "eps": "f8", "weight_decay": "f8", "l1": "f8", "l2": "f8"}
# What the format 2 state checksum covers after the tensors, in its order (docs/checkpoint.md,
# Integrity): (group, attribute, encoding). Everything but the provenance attributes program,
# program_version, created and config, and state_checksum itself.
CHECKSUM_V2 = [
    ("/", "format_version", "i8"), ("/", "epoch", "i8"), ("/", "epoch_step", "i8"),
    ("/", "step", "i8"), ("/", "epoch_loss_sum", "f8"), ("/", "seed", "u8"),
    ("/", "batch", "i8"), ("/", "epochs", "i8"), ("/", "val_fraction", "f8"),
    ("/", "no_shuffle", "i8"), ("/", "world_size", "i8"), ("/", "data", "S"),
    ("/", "settings", "S"), ("/", "config_hash", "u8"), ("/", "normalize", "S"),
    ("/", "dropout", "f8"), ("/", "lr_schedule", "S"), ("/", "warmup_epochs", "f8"),
    ("/", "lr_step_epochs", "i8"), ("/", "lr_gamma", "f8"), ("/", "lr_min", "f8"),
    ("/", "patience", "i8"), ("/", "best_val_loss", "f8"), ("/", "best_epoch", "i8"),
    ("/", "bad_epochs", "i8"),
    ("model", "layers", "i4s"), ("model", "activation", "S"), ("model", "output", "S"),
    ("model", "loss", "S"),
    ("optimizer", "name", "S"), ("optimizer", "step", "i8"), ("optimizer", "lr", "f8"),
    ("optimizer", "momentum", "f8"), ("optimizer", "beta1", "f8"), ("optimizer", "beta2", "f8"),
    ("optimizer", "eps", "f8"), ("optimizer", "weight_decay", "f8"), ("optimizer", "l1", "f8"),
    ("optimizer", "l2", "f8"),
]
# Format 3 hashes these after the format 2 attributes, and class_weight after y_scale.
CHECKSUM_V3 = CHECKSUM_V2 + [("/", "normalize_targets", "S"), ("/", "class_weight", "S")]
CHECKSUM_V4 = CHECKSUM_V3 + V4_CHECKSUM
PROVENANCE = ("program", "program_version", "created", "config")
assert ({n for g, n, _ in CHECKSUM_V4 if g == "/"} | set(PROVENANCE) | {"state_checksum"} ==
        set(ROOT_ATTRS) and {n for g, n, _ in CHECKSUM_V2 if g == "model"} == set(MODEL_ATTRS)
        and {n for g, n, _ in CHECKSUM_V2 if g == "optimizer"} == set(OPT_ATTRS))
LOSS_RTOL = 1e-4
ACC_ATOL = 1e-6


class CheckError(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise CheckError(msg)


def attrs_of(obj, where, spec):
    """Checks that obj has exactly the attributes in spec with the given types; returns them
    as Python values (strings decoded)."""
    names = set(obj.attrs.keys())
    missing, extra = sorted(set(spec) - names), sorted(names - set(spec))
    need(not missing, f"{where}: missing attribute(s) {', '.join(missing)}")
    need(not extra, f"{where}: undocumented attribute(s) {', '.join(extra)}")
    out = {}
    for name, kind in spec.items():
        aid = obj.attrs.get_id(name)
        dt = aid.dtype
        if kind == "S":
            need(dt.kind == "S", f"{where} attribute {name}: expected a fixed-length ASCII "
                                 f"string, found {dt}")
            need(aid.shape == (), f"{where} attribute {name}: expected a scalar")
            out[name] = obj.attrs[name].decode("ascii")
        else:
            need(dt.kind == kind[0] and dt.itemsize == int(kind[1:]),
                 f"{where} attribute {name}: expected {np.dtype(kind)}, found {dt}")
            v = obj.attrs[name]
            if name == "layers":
                need(aid.shape is not None and len(aid.shape) == 1,
                     f"{where} attribute layers: expected a 1-D int32 array")
                out[name] = [int(s) for s in v]
            else:
                need(aid.shape == (), f"{where} attribute {name}: expected a scalar")
                out[name] = float(v) if kind[0] == "f" else int(v)
    return out


def check_tensors(group, where, sizes, ref=None):
    """Checks group/dense_<i>/{kernel,bias}; returns [(kernel, bias)] as float64 arrays."""
    L = len(sizes) - 1
    want = {f"dense_{i}" for i in range(L)}
    have = set(group.keys())
    need(have == want, f"{where}: expected groups {', '.join(sorted(want))}, found "
                       f"{', '.join(sorted(have)) or 'none'}")
    out = []
    for i in range(L):
        lg = group[f"dense_{i}"]
        need(isinstance(lg, h5py.Group), f"{where}/dense_{i}: expected a group")
        need(set(lg.keys()) == {"kernel", "bias"},
             f"{where}/dense_{i}: expected exactly kernel and bias, found {sorted(lg.keys())}")
        tensors = []
        for name, shape in (("kernel", (sizes[i], sizes[i + 1])), ("bias", (sizes[i + 1],))):
            ds = lg[name]
            path = f"{where}/dense_{i}/{name}"
            need(isinstance(ds, h5py.Dataset), f"{path}: expected a dataset")
            need(ds.dtype == np.dtype("<f4"), f"{path}: expected float32, found {ds.dtype}")
            need(ds.shape == shape, f"{path}: expected shape {list(shape)}, found "
                                    f"{list(ds.shape)}")
            need(ds.chunks is not None and ds.fletcher32,
                 f"{path}: expected chunked storage with the Fletcher32 filter")
            try:
                v = ds[...]
            except OSError as e:  # e.g. a Fletcher32 checksum mismatch
                raise CheckError(f"{path}: cannot be read ({e}); the file is corrupt")
            need(np.all(np.isfinite(v)), f"{path}: holds non-finite values")
            tensors.append(v.astype(np.float64))
        out.append(tuple(tensors))
    return out


def flat(group, sizes):
    """A group mirroring /model as nn-train's flat buffer: kernel then bias, layer by layer."""
    parts = []
    for i in range(len(sizes) - 1):
        parts.append(np.asarray(group[f"dense_{i}/kernel"], dtype="<f4").ravel())
        parts.append(np.asarray(group[f"dense_{i}/bias"], dtype="<f4").ravel())
    return np.concatenate(parts)


def check_masks(f, sizes, state):
    """Format 4: /prune/dense_<i>/mask uint8 [in, out] of 0 and 1, and every pruned weight and
    its optimizer moments exactly 0."""
    need(sorted(f["prune"].keys()) == [f"dense_{i}" for i in range(len(sizes) - 1)],
         f"/prune: expected dense_0 .. dense_{len(sizes) - 2}, found {sorted(f['prune'].keys())}")
    for i in range(len(sizes) - 1):
        d = f[f"prune/dense_{i}/mask"]
        need(d.dtype == np.uint8 and d.shape == (sizes[i], sizes[i + 1]),
             f"/prune/dense_{i}/mask: expected uint8 {(sizes[i], sizes[i + 1])}, found "
             f"{d.dtype} {d.shape}")
        need(d.fletcher32, f"/prune/dense_{i}/mask: no Fletcher32 filter")
        mask = d[...]
        need(np.isin(mask, (0, 1)).all(), f"/prune/dense_{i}/mask: values other than 0 and 1")
        for g in ["model"] + [f"optimizer/{s}" for s in state]:
            k = np.asarray(f[f"{g}/dense_{i}/kernel"])
            need((k[mask == 0] == 0).all(), f"/{g}/dense_{i}/kernel: a pruned weight is not 0")


def fnv1a64(h, data):
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def text_bytes(v):
    """A string attribute as the C reader parses it: the bytes up to the first NUL."""
    b = v if isinstance(v, bytes) else str(v).encode()
    return b.split(b"\0", 1)[0]


def encode_v2_attrs(f, version=2):
    """The bytes the format 2 (or 3) state checksum hashes after the tensors, from the file."""
    out = []
    for group, name, kind in (CHECKSUM_V4 if version >= 4 else
                              CHECKSUM_V3 if version >= 3 else CHECKSUM_V2):
        v = f[group].attrs[name]
        if kind == "i8":
            out.append(struct.pack("<q", int(v)))
        elif kind == "u8":
            out.append(struct.pack("<Q", int(v)))
        elif kind == "f8":
            out.append(struct.pack("<d", float(v)))
        elif kind == "S":
            b = text_bytes(v)
            out.append(struct.pack("<Q", len(b)) + b)
        else:  # i4s: an int32 array
            a = np.asarray(v).astype("<i4").ravel()
            out.append(struct.pack("<Q", len(a)) + a.tobytes())
    # /preprocess: method ("none" without the group), then x_shift, x_scale, y_shift, y_scale
    # as float32 arrays, each with its length (0 when absent or when the method is "none")
    p = f["preprocess"] if "preprocess" in f else None
    method = text_bytes(p.attrs["method"]) if p is not None else b"none"
    on = p is not None and method != b"none"
    out.append(struct.pack("<Q", len(method) if on else 4) + (method if on else b"none"))
    for name in (("x_shift", "x_scale", "y_shift", "y_scale") +
                 (("class_weight",) if version >= 3 else ()) +
                 (("x_min", "x_max") if version >= 4 else ())):  # format 4: the training range
        a = np.asarray(p[name], dtype="<f4").ravel() if on and name in p else np.zeros(0, "<f4")
        out.append(struct.pack("<Q", len(a)) + a.tobytes())
    return b"".join(out)


def state_of(f):
    """The optimizer state groups the file's /optimizer name and momentum call for."""
    name = text_bytes(f["optimizer"].attrs["name"]).decode("ascii", "replace")
    if name in ("adam", "adamw"):
        return ["m", "v"]
    if name == "sgd" and float(f["optimizer"].attrs["momentum"]) != 0.0:
        return ["momentum_buffer"]
    return []


def state_checksum_of(f):
    """Recomputes state_checksum independently from the file (None for a state over 4 MiB:
    pure Python FNV runs at a few MB/s). FNV-1a 64 over the parameters, then the optimizer
    buffers (m then v, or the momentum buffer), all as little-endian float32; then,
    format 1: epoch, epoch_step, step, seed as little-endian int64 and epoch_loss_sum as
    float64; format 2: every covered attribute and /preprocess (encode_v2_attrs)."""
    sizes = [int(s) for s in f["model"].attrs["layers"]]
    buffers = [flat(f["model"], sizes)] + [flat(f["optimizer"][g], sizes) for g in state_of(f)]
    if int(f.attrs["format_version"]) >= 4 and "prune" in f:  # format 4: the masks, as bytes
        buffers += [np.asarray(f[f"prune/dense_{i}/mask"], dtype="u1").ravel()
                    for i in range(len(sizes) - 1)]
    if sum(b.nbytes for b in buffers) > 4 << 20:
        return None
    h = 1469598103934665603
    for b in buffers:
        h = fnv1a64(h, b.tobytes())
    a = f.attrs
    if int(a["format_version"]) == 1:
        pos = [int(a["epoch"]), int(a["epoch_step"]), int(a["step"]), int(a["seed"])]
        h = fnv1a64(h, struct.pack("<qqqQ", *pos) + struct.pack("<d", float(a["epoch_loss_sum"])))
    else:
        h = fnv1a64(h, encode_v2_attrs(f, int(a["format_version"])))
    return h


def check_state_checksum(f, root):
    h = state_checksum_of(f)
    need(h is None or h == root["state_checksum"],
         f"/: state_checksum {root['state_checksum']:016x} but the contents hash to "
         f"{h or 0:016x} (format {root['format_version']})")


def check_layout(f):
    version = int(f.attrs["format_version"]) if "format_version" in f.attrs else 0
    spec = {k: v for k, v in ROOT_ATTRS.items()
            if (version >= 3 or k not in V3_ROOT_ATTRS) and (version >= 4 or k not in V4_ROOT_ATTRS)}
    root = attrs_of(f, "/", spec)
    for k in V3_ROOT_ATTRS:
        root.setdefault(k, "none")
    need(root["format_version"] in FORMAT_VERSIONS,
         f"/: format_version is {root['format_version']}, expected one of {FORMAT_VERSIONS}")
    need(root["program"] == "nn-train", f"/: program is {root['program']!r}, expected 'nn-train'")
    need(root["epoch"] >= 0 and root["step"] >= 1 and root["world_size"] >= 1,
         f"/: epoch {root['epoch']}, step {root['step']}, world_size {root['world_size']}: "
         "expected epoch >= 0, step and world_size >= 1")
    need(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", root["created"]) is not None,
         f"/: created {root['created']!r} is not an ISO 8601 UTC time (YYYY-MM-DDTHH:MM:SSZ)")
    groups = {"model", "optimizer"} | ({"preprocess"} if root["normalize"] != "none" or
                                       root["normalize_targets"] != "none" or
                                       root["class_weight"] != "none" else set())
    if version >= 4 and root["prune_to"] > 0 and "prune" in f:  # the masks (docs/shrink.md)
        groups.add("prune")
    need(set(f.keys()) == groups, f"/: expected groups {sorted(groups)} (normalize "
                                  f"{root['normalize']}), found {sorted(f.keys())}")

    model = attrs_of(f["model"], "/model", MODEL_ATTRS)
    sizes = model["layers"]
    need(len(sizes) >= 2 and all(s >= 1 for s in sizes),
         f"/model: layers {sizes}: expected at least two sizes, all >= 1")
    need(model["activation"] in ACTIVATIONS,
         f"/model: activation {model['activation']!r} not one of {ACTIVATIONS}")
    need(model["loss"] in ("xent", "mse"), f"/model: loss {model['loss']!r} not xent or mse")
    want_out = "softmax" if model["loss"] == "xent" else "linear"
    need(model["output"] == want_out,
         f"/model: output {model['output']!r} with loss {model['loss']!r}; expected {want_out!r}")
    params = check_tensors(f["model"], "/model", sizes)

    opt = attrs_of(f["optimizer"], "/optimizer", OPT_ATTRS)
    need(opt["name"] in OPTIMIZERS, f"/optimizer: name {opt['name']!r} not one of {OPTIMIZERS}")
    need(opt["step"] == root["step"],
         f"/optimizer: step {opt['step']} differs from the root step {root['step']}")
    need(all(math.isfinite(opt[k]) for k in OPT_ATTRS if k not in ("name", "step")),
         "/optimizer: a hyperparameter is not finite")
    need(opt["name"] == "adamw" or opt["weight_decay"] == 0.0,
         f"/optimizer: weight_decay {opt['weight_decay']} with {opt['name']}; expected 0 "
         "(it applies to adamw only)")
    if opt["name"] in ("adam", "adamw"):
        state = ["m", "v"]
    elif opt["name"] == "sgd" and opt["momentum"] != 0.0:
        state = ["momentum_buffer"]
    else:
        state = []
    have = sorted(f["optimizer"].keys())
    need(have == sorted(state), f"/optimizer: {opt['name']} (momentum {opt['momentum']}) "
                                f"expects groups {state or 'none'}, found {have or 'none'}")
    for g in state:
        check_tensors(f["optimizer"][g], f"/optimizer/{g}", sizes)
    need(state == state_of(f), "/optimizer: state groups disagree")
    if "prune" in f:
        check_masks(f, sizes, state)
    check_state_checksum(f, root)

    base = os.path.basename(f.filename)
    m = re.fullmatch(r"ckpt-e(\d+)-s(\d+)\.h5", base)
    if m:
        need(len(m.group(1)) == 6 and len(m.group(2)) == 9,
             f"{base}: expected ckpt-e<6 digits>-s<9 digits>.h5")
        need(int(m.group(1)) == root["epoch"] and int(m.group(2)) == root["step"],
             f"{base}: the name says epoch {int(m.group(1))} step {int(m.group(2))} but the "
             f"attributes say epoch {root['epoch']} step {root['step']}")
    return root, model, opt, params


# ---- the validation split, as nn-train picks it -------------------------------------------

M64 = (1 << 64) - 1


class Rng:
    """xoshiro256** seeded through splitmix64, as src/core/rng.c."""

    def __init__(self, seed, stream):
        x = (seed ^ (stream * 0xD1342543DE82EF95)) & M64
        x, _ = self._splitmix(x)
        self.s = []
        for _ in range(4):
            x, z = self._splitmix(x)
            self.s.append(z)

    @staticmethod
    def _splitmix(x):
        x = (x + 0x9E3779B97F4A7C15) & M64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return x, z ^ (z >> 31)

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & M64

    def next(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def below(self, n):
        limit = M64 - M64 % n
        while True:
            x = self.next()
            if x < limit:
                return x % n


def holdout_rows(n, frac, seed):
    """The validation rows of nn_holdout_split (src/core/shard.c), ascending."""
    k = int(frac * n)
    in_val = bytearray(n)
    r = Rng(seed, 2 << 56)  # nn_stream_id(NN_STREAM_SPLIT, 0, 0)
    for j in range(n - k, n):
        t = r.below(j + 1)
        in_val[j if in_val[t] else t] = 1
    return np.flatnonzero(np.frombuffer(bytes(in_val), dtype=np.uint8))


def val_fraction(config):
    frac = 0.1  # nn-train's default
    args = config.split()  # argv joined with single spaces (src/nn-train/main.c)
    for i, a in enumerate(args):
        if a == "--val-fraction" and i + 1 < len(args):
            frac = float(args[i + 1])
        elif a.startswith("--val-fraction="):
            frac = float(a.split("=", 1)[1])
    return frac


def load_val(path, root, d):
    """x (float64, from float32 as nn-train reads it), y labels (int64) or targets (float64)."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise CheckError(f"{path}: cannot open as HDF5 ({e})")
    with f:
        if "val" in f:
            split, rows = "val", None
        else:
            need("train" in f, f"{path}: has neither /val nor /train")
            n = f["train/x"].shape[0]
            frac = val_fraction(root["config"])
            rows = holdout_rows(n, frac, root["seed"])
            split = "train"
            need(len(rows) > 0, f"{path}: no /val and the holdout (--val-fraction {frac}) is "
                                "empty: nothing to check")
        xs, ys = f[f"{split}/x"], f[f"{split}/y"]
        need(xs.ndim == 2 and xs.shape[1] == d,
             f"{path}: /{split}/x has shape {list(xs.shape)}; the model expects [N, {d}]")
        x = xs[...] if rows is None else xs[rows]
        y = ys[...] if rows is None else ys[rows]
    x = x.astype(np.float32).astype(np.float64)
    if y.dtype.kind in "iu":
        y = np.clip(y.astype(np.int64), -2**31, 2**31 - 1)  # HDF5 saturates to int32
        return x, y, None, split
    t = y.astype(np.float32).astype(np.float64)
    return x, None, t.reshape(len(t), -1), split


# ---- the model and its loss, as src/core/kernels.c ---------------------------------------------

def forward(params, act, x):
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i + 1 < len(params):
            if act == "relu":
                h = np.maximum(h, 0.0)
            elif act == "tanh":
                h = np.tanh(h)
            elif act == "sigmoid":
                h = 1.0 / (1.0 + np.exp(-h))
    return h


def loss_and_accuracy(z, labels, targets, loss, y_map=None, class_weight=None):
    """The mean loss as nn-train reports it: y_map (shift, scale) maps outputs and targets
    back to the targets' units; class_weight weighs each sample by its label's weight."""
    n, k = z.shape
    if y_map is not None and targets is not None:
        shift, scale = (a.astype(np.float64) for a in y_map)
        z = z * scale + shift  # the targets are in their own units already
    if labels is not None:
        need(np.all((labels >= 0) & (labels < k)), f"labels outside [0, {k})")
    if loss == "xent":
        zmax = z.max(axis=1, keepdims=True)
        lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
        if labels is not None:
            per = lse - z[np.arange(n), labels]
        else:
            per = lse * targets.sum(axis=1) - (targets * z).sum(axis=1)
    else:
        t = np.eye(k)[labels] if labels is not None else targets
        need(t.shape == z.shape, f"targets have {t.shape[1]} columns, the model {k} outputs")
        per = ((z - t) ** 2).mean(axis=1)
    if class_weight is not None and labels is not None:
        w = class_weight.astype(np.float64)[labels]
        mean_loss = float((w * per).sum() / w.sum()) if n and w.sum() > 0 else float("nan")
    else:
        mean_loss = float(per.mean()) if n else float("nan")
    # nn-train reports accuracy for integer labels only (val_accuracy is NaN otherwise)
    acc = float((z.argmax(axis=1) == labels).mean()) if labels is not None and n else float("nan")
    return mean_loss, acc


def last_metrics(path):
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as e:
        raise CheckError(f"{path}: cannot read ({e.strerror})")
    need(rows, f"{path}: no data rows")
    for col in ("epoch", "val_loss", "val_accuracy"):
        need(col in rows[-1], f"{path}: no column {col}")
    r = rows[-1]
    return int(r["epoch"]), float(r["val_loss"]), float(r["val_accuracy"])


def same(a, b, rtol=0.0, atol=0.0):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= atol + rtol * abs(b)


def main(argv):
    if len(argv) != 4 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    ckpt, data, metrics = argv[1:]
    try:
        try:
            f = h5py.File(ckpt, "r")
        except OSError as e:
            raise CheckError(f"cannot open as HDF5 ({e})")
        with f:
            root, model, opt, params = check_layout(f)
        sizes = model["layers"]
        x, labels, targets, split = load_val(data, root, sizes[0])
        with h5py.File(ckpt, "r") as f:
            if "preprocess" in f:  # the input scaling nn-train applied: (x - shift) / scale
                p = f["preprocess"]
                shift = np.asarray(p["x_shift"], dtype=np.float32)
                scale = np.asarray(p["x_scale"], dtype=np.float32)
                need(shift.shape == (sizes[0],) and scale.shape == (sizes[0],) and
                     np.all(np.isfinite(scale)) and np.all(scale != 0),
                     "/preprocess: x_shift and x_scale must be finite [D] with no zero scale")
                x = ((x.astype(np.float32) - shift) / scale).astype(np.float64)
                y_map = (np.asarray(p["y_shift"], dtype=np.float32),
                         np.asarray(p["y_scale"], dtype=np.float32)) if "y_shift" in p else None
                cw = np.asarray(p["class_weight"], dtype=np.float32) if "class_weight" in p \
                    else None
            else:
                y_map = cw = None
        z = forward(params, model["activation"], x)
        loss, acc = loss_and_accuracy(z, labels, targets, model["loss"], y_map, cw)
        epoch, m_loss, m_acc = last_metrics(metrics)
        need(epoch == root["epoch"], f"{metrics}: the last row is epoch {epoch} but the "
                                     f"checkpoint is from epoch {root['epoch']}")
        need(same(loss, m_loss, rtol=LOSS_RTOL),
             f"val_loss: numpy {loss:.9g} vs metrics {m_loss:.9g} (relative difference "
             f"{abs(loss - m_loss) / max(abs(m_loss), 1e-300):.3g} > {LOSS_RTOL:g})")
        need(same(acc, m_acc, atol=ACC_ATOL),
             f"val_accuracy: numpy {acc:.9g} vs metrics {m_acc:.9g}")
    except CheckError as e:
        print(f"check_checkpoint: FAIL: {ckpt}: {e}", file=sys.stderr)
        return 1
    print(f"check_checkpoint: OK: {ckpt}: format {root['format_version']}, epoch {root['epoch']} "
          f"step {root['step']}, layers {'-'.join(map(str, sizes))} {model['activation']} "
          f"{model['loss']}, {opt['name']}; /{split} n={len(x)}: val_loss {loss:.6g} "
          f"(metrics {m_loss:.6g}), val_accuracy {acc:.6g} (metrics {m_acc:.6g})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
