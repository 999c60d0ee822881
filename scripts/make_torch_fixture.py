#!/usr/bin/python3
"""make_torch_fixture.py: writes tests/fixtures/torch_mlp.h5, the PyTorch reference that
tests/test_torch_fixture.c checks the C core against.

For a few tiny MLPs with fixed, seeded float32 weights it records the loss and gradients
at init and the parameters after 3 steps of Adam, AdamW and SGD with momentum, so that any
drift in the C forward/backward/optimizer math shows up as a numeric mismatch against an
independent implementation.

Run with Debian's interpreter (it has python3-torch and python3-h5py):
    /usr/bin/python3 scripts/make_torch_fixture.py [output.h5]

Layout conventions match the C core (include/core/nn_model.h): a dense kernel is stored as
[in, out], i.e. torch.nn.Linear.weight transposed, and gradients are of the MEAN loss.
"""
import os
import sys

import h5py
import numpy as np
import torch

# (name, layer sizes, hidden activation, loss, batch size, seed)
CASES = [
    ("xent_relu", [5, 8, 6, 4], "relu", "xent", 6, 1234),
    ("mse_tanh", [3, 5, 2], "tanh", "mse", 5, 2345),
    ("xent_sigmoid", [4, 6, 3], "sigmoid", "xent", 4, 3456),
]

ACTS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}

N_STEPS = 3
ADAM_LR = 0.01
SGD_LR, SGD_MOMENTUM = 0.05, 0.9
ADAMW_LR, ADAMW_WD = 0.01, 0.1


def build_model(sizes, act):
    """Linear layers with the activation between them; the output layer stays linear."""
    mods = []
    for i in range(len(sizes) - 1):
        mods.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            mods.append(ACTS[act]())
    return torch.nn.Sequential(*mods).float()


def linears(model):
    return [m for m in model if isinstance(m, torch.nn.Linear)]


def loss_fn(loss):
    # Both reduce with 'mean': CrossEntropyLoss over the batch, MSELoss over all B*K
    # elements, the conventions the C side reproduces as loss_sum / B.
    return torch.nn.CrossEntropyLoss() if loss == "xent" else torch.nn.MSELoss()


def put(grp, name, data):
    """A dataset with compact layout: the few bytes live in the object header, which keeps
    the fixture a few KB instead of a page-aligned contiguous block per tensor."""
    data = np.asarray(data)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    grp.create_dataset(name, data=data, dcpl=dcpl)


def new_group(parent, name):
    """A group without creation/modification times, so that regenerating the fixture from
    the same seeds gives a byte-identical file (no spurious diff in git)."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl)
    return parent[name]


def write_params(grp, model, attr="data"):
    """Writes kernel [in, out] (Linear.weight transposed) and bias for each dense layer."""
    for i, lin in enumerate(linears(model)):
        w = getattr(lin.weight, attr)
        b = getattr(lin.bias, attr)
        g = new_group(grp, "dense_%d" % i)
        put(g, "kernel", np.ascontiguousarray(w.detach().numpy().T, dtype=np.float32))
        put(g, "bias", b.detach().numpy().astype(np.float32))


def min_nonzero_abs_grad(model):
    vals = [p.grad.abs().flatten() for p in model.parameters()]
    v = torch.cat(vals)
    v = v[v > 0]
    return float(v.min()) if v.numel() else 0.0


def run_optimizer(init_state, sizes, act, loss, x, y, make_opt):
    """N_STEPS steps from the init weights on the same batch; returns (model, losses, min |g|)."""
    model = build_model(sizes, act)
    model.load_state_dict(init_state)
    opt = make_opt(model)
    crit = loss_fn(loss)
    losses, min_g = [], float("inf")
    for _ in range(N_STEPS):
        opt.zero_grad()
        out = crit(model(x), y)
        out.backward()
        min_g = min(min_g, min_nonzero_abs_grad(model))
        losses.append(float(out.item()))
        opt.step()
    return model, losses, min_g


def adam(model):
    return torch.optim.Adam(model.parameters(), lr=ADAM_LR, foreach=False)


def sgdm(model):
    return torch.optim.SGD(model.parameters(), lr=SGD_LR, momentum=SGD_MOMENTUM, foreach=False)


def adamw(model):
    # Decay the kernels only, as the C trainer does (it passes weight_decay 0 for biases).
    lins = linears(model)
    groups = [
        {"params": [m.weight for m in lins], "weight_decay": ADAMW_WD},
        {"params": [m.bias for m in lins], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=ADAMW_LR, foreach=False)


def make_case(f, name, sizes, act, loss, B, seed):
    torch.manual_seed(seed)
    model = build_model(sizes, act)
    # Uniform(-0.5, 0.5) weights and biases: larger than torch's default init so every
    # layer (biases included) carries a clearly non-zero, non-symmetric signal.
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.5, 0.5)
    init_state = {k: v.clone() for k, v in model.state_dict().items()}

    x = torch.randn(B, sizes[0], dtype=torch.float32)
    K = sizes[-1]
    if loss == "xent":
        labels = torch.randint(0, K, (B,), dtype=torch.int64)
        y_torch, y_store = labels, labels.numpy().astype(np.int32)
    else:
        targets = torch.randn(B, K, dtype=torch.float32)
        y_torch, y_store = targets, targets.numpy().astype(np.float32)

    # Loss and gradients of the mean loss at init.
    crit = loss_fn(loss)
    model.zero_grad()
    l0 = crit(model(x), y_torch)
    l0.backward()

    g = new_group(f, name)
    g.attrs["layers"] = np.asarray(sizes, dtype=np.int32)
    # Fixed-length ASCII strings: simplest to read from the HDF5 C API.
    g.attrs["activation"] = np.bytes_(act)
    g.attrs["loss"] = np.bytes_(loss)
    put(g, "x", x.numpy().astype(np.float32))
    put(g, "y", y_store)
    put(g, "loss", np.float64(l0.item()))
    write_params(new_group(g, "init"), model, "data")
    write_params(new_group(g, "grad"), model, "grad")
    min_g = min_nonzero_abs_grad(model)

    summary = ["%s: layers=%s act=%s loss=%s B=%d loss0=%.6f" % (
        name, "-".join(map(str, sizes)), act, loss, B, l0.item())]
    for tag, make_opt in (("adam3", adam), ("sgdm3", sgdm), ("adamw3", adamw)):
        m, losses, mg = run_optimizer(init_state, sizes, act, loss, x, y_torch, make_opt)
        write_params(new_group(g, tag), m, "data")
        put(g, tag + "_losses", np.asarray(losses, dtype=np.float64))
        min_g = min(min_g, mg)
        summary.append("%s %.6f" % (tag, losses[-1]))
    summary.append("min|g|=%.2e" % min_g)
    # An Adam step is ~lr * g/(|g|+eps): a gradient that is tiny yet non-zero (cancellation)
    # would make the expected parameters hinge on float rounding, so refuse such a fixture.
    if 0.0 < min_g < 1e-5:
        sys.exit("%s: a gradient element is only %.2e; pick another seed" % (name, min_g))
    print(" ".join(summary))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fixtures", "torch_mlp.h5")
    torch.set_num_threads(1)  # deterministic reductions
    # v1.8 object headers store small groups' links inline (no B-tree + heap per group),
    # still readable by any HDF5 >= 1.8. The root group, like every other, is created
    # without timestamps so that the output is byte-for-byte reproducible.
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_V18, h5py.h5f.LIBVER_V18)
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    fid = h5py.h5f.create(out.encode(), h5py.h5f.ACC_TRUNC, fapl=fapl, fcpl=fcpl)
    with h5py.File(fid) as f:
        f.attrs["torch_version"] = np.bytes_(torch.__version__)
        f.attrs["generator"] = np.bytes_("scripts/make_torch_fixture.py")
        for case in CASES:
            make_case(f, *case)
    print("wrote %s (%d bytes)" % (os.path.normpath(out), os.path.getsize(out)))


if __name__ == "__main__":
    main()
