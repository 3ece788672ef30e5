"""The eager mode's intra-op threads (docs/eager.md, "Threads for large arrays"): per op and
size, and per ``chain`` step (1M float32, value and gradient), one thread against two, side by
side in one process. Reported: wall time and the calling thread's CPU time (on a shared machine
the wall time counts the neighbours' turns; the calling thread's CPU time is the critical
path's work when the second core is free). ``--force`` skips the load check (as if the cores
were free), so the threads run even on a busy machine.

``--pools``: only the ``chain`` step of each pool against PyTorch eager (:func:`chain_pools`);
``--first``: the first steps of fresh processes with and without the spinning pool
(:func:`first_steps`).

Run from the repository root:
``python -m benchmarks.eager_threads [--force] [--pools | --first] [ROUNDS]``."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np


def _time(f: Callable[[], object], reps: int) -> tuple[float, float]:
    """Median wall and calling-thread CPU time of ``f`` in microseconds."""
    wall, cpu = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.thread_time()
        f()
        wall.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    return statistics.median(wall) * 1e6, statistics.median(cpu) * 1e6


def per_op(reps: int) -> None:
    from dynamic import _parallel, _parallel_ops
    from staticgraph.ops import REGISTRY

    print("elements  op     1 thread wall/cpu us   2 threads wall/calling-thread cpu us")
    for n in (1 << 15, 1 << 16, 1 << 17, 1 << 18, 1 << 19, 1 << 20):
        x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
        for name, args in (("tanh", (x,)), ("mul", (x, x.copy()))):
            op = REGISTRY[name]
            _parallel.set_num_threads(1)
            s = _time(lambda op=op, args=args: op.impl(*args), reps)
            _parallel.set_num_threads(2)
            p = _time(lambda op=op, args=args: _parallel_ops.forward(op, *args), reps)
            print(f"{n:8d}  {name:5s}  {s[0]:8.0f}/{s[1]:<8.0f}      {p[0]:8.0f}/{p[1]:<8.0f}"
                  f"  cpu ratio {p[1] / s[1]:.2f}")


def chain(rounds: int) -> None:
    import dynamic as torch

    x = torch.tensor(np.random.default_rng(0).uniform(-2, 2, 1 << 20).astype(np.float32),
                     requires_grad=True)

    def step() -> object:
        a = torch.tanh(x)
        d = torch.tanh(torch.exp(torch.sigmoid(a * 1.5) * -1.0) * x + a)
        y = torch.sum(d)
        return torch.autograd.grad(y, x)

    for k in (1, 2, 1, 2):
        torch.set_num_threads(k)
        step()
    res: dict = {1: ([], []), 2: ([], [])}
    for _ in range(rounds):
        for k in (1, 2):
            torch.set_num_threads(k)
            w, c = _time(step, 1)
            res[k][0].append(w)
            res[k][1].append(c)
    for i, what in enumerate(("wall", "calling-thread cpu")):
        a, b = np.array(res[1][i]), np.array(res[2][i])
        r = b / a
        print(f"chain step {what}: 1 thread {np.median(a) / 1e3:.2f} ms, 2 threads "
              f"{np.median(b) / 1e3:.2f} ms, ratio {np.median(r):.2f} "
              f"(pair ratios IQR {np.percentile(r, 25):.2f}-{np.percentile(r, 75):.2f})")


def _pools(mode: str) -> None:
    """``queue``: the queue pool only; ``spin``: the spinning native pool (loaded first)."""
    from dynamic import _parallel_ops, _pool_native

    if mode == "spin":
        _pool_native.wait_ready()
        _parallel_ops._ready = _pool_native.ready
    else:
        _parallel_ops._ready = lambda: False


def chain_pools(rounds: int, block: int = 12) -> None:
    """The ``chain`` step (1M float32, value and gradient) side by side in one process:
    dynamic at 1 thread, at 2 threads on the queue pool and on the spinning pool, and PyTorch
    eager at 1 and 2 threads (if installed), in blocks of ``block`` steps (the median of the
    last ``block - 2``: the first steps after a switch wake the other mode's idle threads),
    the blocks' order rotating round by round. Reported: median of the block medians (ms),
    the spread over rounds, and each mode's ratio to PyTorch at 2 threads, pair by pair."""
    import dynamic as dtorch

    try:
        import torch
    except ImportError:
        torch = None
    x0 = np.random.default_rng(0).uniform(-2, 2, 1 << 20).astype(np.float32)
    xd = dtorch.tensor(x0, requires_grad=True)

    def step_d() -> object:
        a = dtorch.tanh(xd)
        d = dtorch.tanh(dtorch.exp(dtorch.sigmoid(a * 1.5) * -1.0) * xd + a)
        return dtorch.autograd.grad(dtorch.sum(d), xd)

    modes: dict = {"dynamic 1": (step_d, 1, "queue"), "dynamic 2 queue": (step_d, 2, "queue"),
                   "dynamic 2 spin": (step_d, 2, "spin")}
    if torch is not None:
        xt = torch.tensor(x0, requires_grad=True)

        def step_t() -> object:
            a = torch.tanh(xt)
            d = torch.tanh(torch.exp(torch.sigmoid(a * 1.5) * -1.0) * xt + a)
            return torch.autograd.grad(torch.sum(d), xt)

        modes["torch 1"] = (step_t, 1, None)
        modes["torch 2"] = (step_t, 2, None)
    res: dict = {m: [] for m in modes}
    names = list(modes)
    for r in range(rounds):
        for m in names[r % len(names):] + names[:r % len(names)]:
            f, k, pool = modes[m]
            if pool is None:
                torch.set_num_threads(k)
            else:
                dtorch.set_num_threads(k)
                _pools(pool)
            ts = []
            for _ in range(block):
                t = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t)
            res[m].append(statistics.median(ts[2:]) * 1e3)
    ref = res.get("torch 2")
    for m in names:
        v = np.array(res[m])
        line = f"{m:16s} {np.median(v):7.2f} ms  ({v.min():.2f}-{v.max():.2f})"
        if ref is not None:
            q = v / np.array(ref)
            line += f"  / torch 2: {np.median(q):.2f} (rounds {q.min():.2f}-{q.max():.2f})"
        print(line)


_FIRST = """
import time, numpy as np
t0 = time.perf_counter()
import dynamic as torch
from dynamic import _parallel
_parallel.cores_free = lambda: 2
torch.set_num_threads(2)
x = torch.tensor(np.random.default_rng(0).uniform(-2, 2, 1 << 20).astype(np.float32),
                 requires_grad=True)
ts = []
for _ in range(8):
    t = time.perf_counter()
    a = torch.tanh(x)
    d = torch.tanh(torch.exp(torch.sigmoid(a * 1.5) * -1.0) * x + a)
    torch.autograd.grad(torch.sum(d), x)
    ts.append((time.perf_counter() - t) * 1e3)
print(*ts)
"""


def first_steps(rounds: int) -> None:
    """The first 8 ``chain`` steps of a fresh process at 2 threads (load check off): the
    spinning pool with its code saved by an earlier process (mapped at the first op), the
    spinning pool in a process that must compile it (an empty cache directory: the first
    process on a machine; the queue pool until the background compile is done), and the queue
    pool only (``DYNAMIC_SPIN_POOL=0``), processes alternating; medians over processes (ms)
    of the first step, steps 2-4 and steps 5-8."""
    import os
    import subprocess
    import tempfile

    kinds = {"spin, code saved": {}, "spin, compiling": None,
             "queue pool only": {"DYNAMIC_SPIN_POOL": "0"}}
    res: dict = {k: [] for k in kinds}
    for _ in range(rounds):
        for kind, extra in kinds.items():
            with tempfile.TemporaryDirectory() as tmp:
                env = dict(os.environ, **(extra if extra is not None
                                          else {"STATICGRAPH_CACHE_DIR": tmp}))
                out = subprocess.run([sys.executable, "-c", _FIRST], env=env,
                                     capture_output=True, text=True, check=True).stdout
            res[kind].append([float(v) for v in out.split()])
    for kind in kinds:
        a = np.array(res[kind])
        print(f"{kind:17s} first step {np.median(a[:, 0]):6.1f} ms, steps 2-4 "
              f"{np.median(a[:, 1:4]):6.1f} ms, steps 5-8 {np.median(a[:, 4:]):6.1f} ms")


def main(argv: list[str]) -> None:
    from dynamic import _parallel

    if "--force" in argv:
        _parallel.cores_free = lambda: 2
    rounds = int(next((a for a in argv if a.isdigit()), "30"))
    with open("/proc/loadavg") as f:
        print("load average:", f.read().strip())
    if "--pools" in argv:
        chain_pools(rounds)
        return
    if "--first" in argv:
        first_steps(rounds)
        return
    per_op(max(5, rounds // 2))
    chain(rounds)


if __name__ == "__main__":
    main(sys.argv[1:])
