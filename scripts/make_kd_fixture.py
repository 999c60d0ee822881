#!/usr/bin/python3
"""make_kd_fixture.py: writes tests/fixtures/torch_kd.h5, the PyTorch reference for the
distillation loss (nn_kd.h) that tests/test_kd_fixture.c checks the C core against.

For a few tiny MLP students with fixed, seeded float32 weights, a batch, its labels and a
teacher's logits, it records the distillation loss summed over the batch,
    sum_i w_i [alpha T^2 KL(softmax(t_i/T) || softmax(s_i/T)) + (1 - alpha) CE(s_i, y_i)],
(w_i the class weight of y_i, or 1) and its gradient with respect to every parameter, by
autograd in float64, with the KL from torch.nn.functional.kl_div and the cross-entropy from
cross_entropy (an implementation independent of src/core/kd.c).

Run with Debian's interpreter (it has python3-torch and python3-h5py):
    /usr/bin/python3 scripts/make_kd_fixture.py [output.h5]

Layout: a dense kernel is [in, out] (torch.nn.Linear.weight transposed), as in checkpoints.
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

# (name, layer sizes, hidden activation, batch, temperature, alpha, class weights?, seed)
CASES = [
    ("relu_t4", [5, 7, 3], "relu", 6, 4.0, 0.7, False, 11),
    ("tanh_weighted", [4, 6, 5, 4], "tanh", 5, 2.5, 0.3, True, 22),
    ("soft_only_t1", [3, 8, 6], "sigmoid", 4, 1.0, 1.0, False, 33),
    ("hard_only", [6, 5, 3], "relu", 7, 3.0, 0.0, True, 44),
]
ACTS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def put(grp, name, data):
    """A compact dataset: the few bytes live in the object header (a small, stable file)."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    grp.create_dataset(name, data=np.asarray(data), dcpl=dcpl)


def new_group(parent, name):
    """A group without times, so that the same seeds give a byte-identical file."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl)
    return parent[name]


def case(f, name, sizes, act, B, T, alpha, weighted, seed):
    g = torch.Generator().manual_seed(seed)
    K = sizes[-1]
    params = []
    for i in range(len(sizes) - 1):
        w = (torch.rand(sizes[i], sizes[i + 1], generator=g) * 2 - 1).float()
        b = (torch.rand(sizes[i + 1], generator=g) * 0.2 - 0.1).float()
        params += [w, b]
    x = torch.randn(B, sizes[0], generator=g).float()
    y = torch.randint(0, K, (B,), generator=g)
    zt = (torch.randn(B, K, generator=g) * 2).float()
    cw = (torch.rand(K, generator=g) * 1.5 + 0.25).float() if weighted else None

    p64 = [p.double().requires_grad_(True) for p in params]
    h = x.double()
    for i in range(len(sizes) - 1):
        h = h @ p64[2 * i] + p64[2 * i + 1]
        if i < len(sizes) - 2:
            h = ACTS[act](h)
    w = cw.double()[y] if weighted else torch.ones(B, dtype=torch.float64)
    kl = F.kl_div(F.log_softmax(h / T, dim=1), F.softmax(zt.double() / T, dim=1),
                  reduction="none").sum(dim=1)
    ce = F.cross_entropy(h, y, reduction="none")
    loss = (w * (alpha * T * T * kl + (1 - alpha) * ce)).sum()
    loss.backward()

    c = new_group(f, name)
    c.attrs["layers"] = np.asarray(sizes, dtype=np.int32)
    c.attrs["activation"] = np.bytes_(act)
    c.attrs["temperature"] = np.float64(T)
    c.attrs["alpha"] = np.float64(alpha)
    put(c, "x", x.numpy())
    put(c, "labels", y.numpy().astype(np.int32))
    put(c, "teacher_logits", zt.numpy())
    if weighted:
        put(c, "class_weight", cw.numpy())
    put(c, "loss", np.float64(loss.item()))
    pg, gg = new_group(c, "params"), new_group(c, "grads")
    for i in range(len(sizes) - 1):
        for grp, src in ((pg, params), (gg, [p.grad.float() for p in p64])):
            lg = new_group(grp, f"dense_{i}")
            put(lg, "kernel", src[2 * i].detach().numpy().astype(np.float32))
            put(lg, "bias", src[2 * i + 1].detach().numpy().astype(np.float32))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "torch_kd.h5")
    torch.use_deterministic_algorithms(True)
    with h5py.File(out, "w", libver="earliest", track_order=False) as f:
        f.attrs["generator"] = np.bytes_("scripts/make_kd_fixture.py")
        f.attrs["torch_version"] = np.bytes_(torch.__version__)
        for c in CASES:
            case(f, *c)
    print(f"wrote {out}: {len(CASES)} cases")


if __name__ == "__main__":
    main()
