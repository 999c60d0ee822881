#!/usr/bin/python3
"""bench_torch.py: PyTorch's training step on the models nn-train benchmarks (scripts/bench.sh).

The step is the one nn-train times: zero the gradients, forward, loss, backward (with DDP: the
gradient allreduce, overlapped with the backward by DDP's buckets), Adam (lr 1e-3). The data
are random and already in memory: a pool of 8 batches, cycled. Hidden layers use ReLU, the
output is linear; the loss is softmax cross-entropy on class labels, or MSE when the model has
one output (1-64-64-1). After a warm-up, the step count is sized for about --seconds of steps,
and samples/s = global batch x steps / wall time.

Modes (one JSON object per line on stdout):
  single  one process. Runs each --configs entry TORCH_THREADS:OPENBLAS_THREADS[:malloc]
          (default 1:2, 2:1, 1:2:malloc and 2:1:malloc) in a fresh child process, since
          OpenBLAS reads OPENBLAS_NUM_THREADS when it loads, prints one line per config, then
          a line with "best": true.
  ddp     DistributedDataParallel, gloo on 127.0.0.1, --nproc processes (default 2) with
          1 torch thread and 1 OpenBLAS thread each; the global batch is split evenly.
          --malloc: with the malloc tuning below.

malloc: glibc's malloc tuned for PyTorch's large short-lived tensors, GLIBC_TUNABLES=
glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456 (blocks up to
64 MiB come from the heap instead of fresh mmap'ed pages, and the heap is kept instead of
trimmed): without it each step of the Fashion-MNIST model maps, faults in and unmaps its
activations and gradients again. The JSON lines say "malloc_tuned".

  scripts/bench_torch.py single --layers 784,256,128,10 --batch 128 [--seconds 3]
  scripts/bench_torch.py ddp    --layers 784,256,128,10 --batch 128 [--nproc 2]

Debian's python3-torch is under /usr/bin/python3 (not a pyenv python3 on PATH).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

MALLOC_TUNING = "glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456"


def build(layers):
    import torch
    mods = []
    for i in range(len(layers) - 1):
        mods.append(torch.nn.Linear(layers[i], layers[i + 1]))
        if i < len(layers) - 2:
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods)


def make_data(layers, batch, seed, pool=8):
    import torch
    g = torch.Generator().manual_seed(seed)
    xs = [torch.randn(batch, layers[0], generator=g) for _ in range(pool)]
    if layers[-1] == 1:
        ys = [torch.randn(batch, 1, generator=g) for _ in range(pool)]
        loss_fn = torch.nn.MSELoss()
    else:
        ys = [torch.randint(0, layers[-1], (batch,), generator=g) for _ in range(pool)]
        loss_fn = torch.nn.CrossEntropyLoss()
    return xs, ys, loss_fn


def run_steps(model, opt, loss_fn, xs, ys, n, k0=0):
    for k in range(k0, k0 + n):
        i = k % len(xs)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs[i]), ys[i])
        loss.backward()
        opt.step()
    return loss


def timed(model, opt, loss_fn, xs, ys, seconds, agree=None):
    """Warm-up, size the step count for `seconds`, time it. `agree` (DDP) makes every rank
    use rank 0's step count and start together. Returns (steps, wall seconds)."""
    run_steps(model, opt, loss_fn, xs, ys, 5)
    # A fixed number of calibration steps: with DDP every step is a collective, so every rank
    # must run the same count (a time-based loop here deadlocks the ranks).
    n = 10
    t0 = time.perf_counter()
    run_steps(model, opt, loss_fn, xs, ys, n)
    per = (time.perf_counter() - t0) / n
    steps = max(10, int(seconds / per))
    if agree is not None:
        steps = agree(steps)
    t0 = time.perf_counter()
    run_steps(model, opt, loss_fn, xs, ys, steps)
    return steps, time.perf_counter() - t0


def single_child(a):
    """One config, in this process (OPENBLAS_NUM_THREADS is already set by the parent)."""
    import torch
    torch.set_num_threads(a.torch_threads)
    torch.manual_seed(0)
    model = build(a.layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xs, ys, loss_fn = make_data(a.layers, a.batch, 1)
    steps, wall = timed(model, opt, loss_fn, xs, ys, a.seconds)
    print(json.dumps({
        "mode": "single", "layers": a.layers_str, "batch": a.batch,
        "torch_threads": torch.get_num_threads(),
        "openblas_threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")),
        "malloc_tuned": os.environ.get("GLIBC_TUNABLES", "") == MALLOC_TUNING,
        "steps": steps, "step_s": wall / steps,
        "samples_per_sec": a.batch * steps / wall, "torch": torch.__version__}), flush=True)


def single(a):
    results = []
    for cfg in a.configs.split(","):
        tt, ob, *tuned = cfg.split(":")
        env = dict(os.environ, OPENBLAS_NUM_THREADS=ob, OMP_NUM_THREADS=tt)
        env.pop("GLIBC_TUNABLES", None)
        if tuned == ["malloc"]:
            env["GLIBC_TUNABLES"] = MALLOC_TUNING
        elif tuned:
            sys.exit(f"bench_torch.py: --configs entry '{cfg}': expected T:O or T:O:malloc")
        cmd = [sys.executable, os.path.abspath(__file__), "single-child",
               "--layers", a.layers_str, "--batch", str(a.batch), "--seconds", str(a.seconds),
               "--torch-threads", tt]
        out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("{"):
                print(line, flush=True)
                results.append(json.loads(line))
    best = dict(max(results, key=lambda r: r["samples_per_sec"]))
    best["best"] = True
    print(json.dumps(best), flush=True)


def ddp_worker(rank, a, port):
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=a.nproc)
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(build(a.layers))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    local = a.batch // a.nproc + (1 if rank < a.batch % a.nproc else 0)
    xs, ys, loss_fn = make_data(a.layers, local, 1 + rank)

    def agree(steps):
        t = torch.tensor([steps], dtype=torch.int64)
        dist.broadcast(t, 0)
        dist.barrier()
        return int(t.item())

    steps, wall = timed(model, opt, loss_fn, xs, ys, a.seconds, agree)
    w = torch.tensor([wall], dtype=torch.float64)
    dist.all_reduce(w, op=dist.ReduceOp.MAX)  # the slowest rank's time
    if rank == 0:
        wall = float(w.item())
        print(json.dumps({
            "mode": "ddp", "layers": a.layers_str, "batch": a.batch, "nproc": a.nproc,
            "backend": "gloo", "torch_threads": 1, "openblas_threads": 1,
            "malloc_tuned": os.environ.get("GLIBC_TUNABLES", "") == MALLOC_TUNING,
            "steps": steps, "step_s": wall / steps,
            "samples_per_sec": a.batch * steps / wall, "torch": torch.__version__,
            "best": True}), flush=True)
    dist.destroy_process_group()


def ddp(a):
    # The spawned children import torch (and load OpenBLAS) before ddp_worker runs: the
    # thread counts must already be in the environment they inherit.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"
    if a.malloc:
        os.environ["GLIBC_TUNABLES"] = MALLOC_TUNING
    else:
        os.environ.pop("GLIBC_TUNABLES", None)
    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(ddp_worker, args=(a, port), nprocs=a.nproc, join=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["single", "ddp", "single-child"])
    p.add_argument("--layers", required=True, help="e.g. 784,256,128,10")
    p.add_argument("--batch", type=int, required=True, help="global batch")
    p.add_argument("--seconds", type=float, default=3.0, help="timed steps, about (default 3)")
    p.add_argument("--configs", default="1:2,2:1,1:2:malloc,2:1:malloc",
                   help="single: TORCH_THREADS:OPENBLAS_THREADS[:malloc] entries "
                        "(default 1:2,2:1,1:2:malloc,2:1:malloc)")
    p.add_argument("--malloc", action="store_true",
                   help="ddp: with glibc's malloc tuned (GLIBC_TUNABLES, see above)")
    p.add_argument("--nproc", type=int, default=2, help="ddp: processes (default 2)")
    p.add_argument("--torch-threads", type=int, default=1, help=argparse.SUPPRESS)
    a = p.parse_args()
    a.layers_str = a.layers
    a.layers = [int(v) for v in a.layers.split(",")]
    if len(a.layers) < 2 or a.batch < 1:
        p.error("--layers needs at least two sizes and --batch must be >= 1")
    {"single": single, "ddp": ddp, "single-child": single_child}[a.mode](a)


if __name__ == "__main__":
    main()
