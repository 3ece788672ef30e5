"""Eager mode against PyTorch eager and numpy by hand, per step, as ratios measured side by side
(docs/eager.md, section 13): the ``sgbench`` builders of ``dynamic``, ``torch`` and ``numpy``,
run in one process in interleaved rounds, timed in process CPU time (on a shared machine wall
time also counts the other jobs' turns). One thread.

Run from the repository root: ``python -m benchmarks.eager_ratios [WORKLOADS] [ROUNDS]``
(default ``mlp-step,chain`` and 15 rounds)."""

from __future__ import annotations

import os
import statistics
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy loads its BLAS

from .modes import Bench, numpy_mode  # noqa: E402
from .modes.torch_family import _build_eager  # noqa: E402
from .workloads import WORKLOADS  # noqa: E402


def _benches(name: str) -> dict[str, Bench]:
    import dynamic

    wl = WORKLOADS[name]
    problem = wl.make(wl.default_size)
    out = {"dynamic": _build_eager(dynamic, wl, problem)}
    try:
        import torch

        torch.set_num_threads(1)
        out["torch"] = _build_eager(torch, wl, problem)
    except ImportError:
        pass
    out["numpy"] = numpy_mode.build("numpy", wl, problem)
    return out


def measure(name: str, rounds: int = 15, calls: int = 5) -> dict[str, list[float]]:
    """Milliseconds of process CPU time per step, one sample per round for each mode."""
    benches = _benches(name)
    for b in benches.values():
        for _ in range(3):
            b.step()
    samples: dict[str, list[float]] = {k: [] for k in benches}
    for _ in range(rounds):
        for k, b in benches.items():
            t0 = time.process_time()
            for _ in range(calls):
                b.step()
            samples[k].append((time.process_time() - t0) / calls * 1e3)
    return samples


def main(argv: list[str]) -> None:
    names = argv[0].split(",") if argv else ["mlp-step", "chain"]
    rounds = int(argv[1]) if len(argv) > 1 else 15
    for name in names:
        s = measure(name, rounds)
        med = {k: statistics.median(v) for k, v in s.items()}
        low = {k: min(v) for k, v in s.items()}
        print(f"{name}: " + ", ".join(f"{k} {med[k]:.3g} ms" for k in s))
        for ref in ("torch", "numpy"):
            if ref in s:
                print(f"  dynamic / {ref}: median {med['dynamic'] / med[ref]:.3f}, "
                      f"best {low['dynamic'] / low[ref]:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
