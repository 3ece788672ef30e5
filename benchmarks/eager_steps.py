"""Per-step cost of the small eager workloads, ``dynamic`` against PyTorch eager, by process CPU
time (docs/eager.md, section 13).

On a shared machine ``sgbench``'s wall-clock medians also count the other jobs' turns; process CPU
time of the very same builders (``benchmarks.modes.torch_family``), the two modes interleaved
round by round, gives a steadier ratio. Prints, per workload, each mode's best time per step and
the range of the per-round ratios.
Run from the repository root:
``python -m benchmarks.eager_steps [rounds] [workload,...] [--threads N]``. ``--threads N``
(default 1) pins every thread variable ``sgbench --threads N`` pins (before numpy loads its
BLAS) and both modes' intra-op threads; with more than one thread the calling thread's CPU time
is taken (an OpenBLAS or OpenMP worker spinning between ops would count in the process's).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def _threads(argv: list) -> int:
    """``--threads N`` out of ``argv`` (removed), default 1."""
    if "--threads" in argv:
        i = argv.index("--threads")
        n = int(argv[i + 1])
        del argv[i:i + 2]
        return n
    return 1


THREADS = _threads(sys.argv) if __name__ == "__main__" else 1
if __name__ == "__main__":
    from .runner import THREAD_VARS

    for _var in THREAD_VARS:  # before numpy loads its BLAS (as ``sgbench --threads``)
        os.environ[_var] = str(THREADS)

from .modes.torch_family import _build_eager  # noqa: E402
from .workloads import get  # noqa: E402

_STEPS = 200  # SGD steps per call of a ``train`` workload


def _per_step(bench: Any, kind: str, calls: int) -> float:
    steps = 1 if kind != "train" else _STEPS
    clock = time.process_time if THREADS == 1 else time.thread_time
    t = clock()
    for _ in range(calls):
        bench.step()
    return (clock() - t) / calls / steps * 1e6


def main(rounds: int = 5, names: tuple = ("seed", "xor-linear", "xor-mlp")) -> None:
    import dynamic

    dynamic.set_num_threads(THREADS)
    mods: list = [("dynamic", dynamic)]
    try:
        import torch

        torch.set_num_threads(THREADS)
        mods.append(("torch", torch))
    except ImportError:
        pass
    benches = {}
    for name in names:
        wl = get(name)
        for mode, mod in mods:
            b = _build_eager(mod, wl, wl.make(_STEPS if wl.kind == "train" else None))
            b.step()
            benches[name, mode] = (b, wl.kind)
    res: dict = {key: [] for key in benches}
    for _ in range(rounds):
        for key, (b, kind) in benches.items():
            res[key].append(_per_step(b, kind, 3 if kind == "train" else 2000))
    for name in names:
        line = f"{name:11}"
        for mode, _ in mods:
            line += f" {mode} {min(res[name, mode]):7.1f} us"
        if len(mods) == 2:
            r = sorted(a / b for a, b in zip(res[name, "dynamic"], res[name, "torch"],
                                             strict=True))
            line += (f"  dynamic/torch median {r[len(r) // 2]:.2f}, {r[0]:.2f}-{r[-1]:.2f}"
                     f" ({THREADS} thread{'s' if THREADS > 1 else ''})")
        print(line)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5,
         tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else ("seed", "xor-linear",
                                                                   "xor-mlp"))
