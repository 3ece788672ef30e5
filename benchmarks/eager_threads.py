"""The eager mode's intra-op threads (docs/eager.md, "Threads for large arrays"): per op and
size, and per ``chain`` step (1M float32, value and gradient), one thread against two, side by
side in one process. Reported: wall time and the calling thread's CPU time (on a shared machine
the wall time counts the neighbours' turns; the calling thread's CPU time is the critical
path's work when the second core is free). ``--force`` skips the load check (as if the cores
were free), so the threads run even on a busy machine.

Run from the repository root: ``python -m benchmarks.eager_threads [--force] [ROUNDS]``."""

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


def main(argv: list[str]) -> None:
    from dynamic import _parallel

    if "--force" in argv:
        _parallel.cores_free = lambda: 2
    rounds = int(next((a for a in argv if a.isdigit()), "30"))
    with open("/proc/loadavg") as f:
        print("load average:", f.read().strip())
    per_op(max(5, rounds // 2))
    chain(rounds)


if __name__ == "__main__":
    main(sys.argv[1:])
