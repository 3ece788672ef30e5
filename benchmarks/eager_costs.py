"""Per-op costs of the eager mode against PyTorch eager and bare numpy (docs/eager.md): the
forward cost of one recorded op, the cost of one backward node and the fixed cost of one
``grad()`` call, from chains of 0/1/20/21 scalar multiplications (best of 7 repeats of process CPU
time, 1 thread).
Run from the repository root: ``python -m benchmarks.eager_costs``."""

from __future__ import annotations

import time
import timeit
from typing import Any

import numpy as np


def _best(f: Any) -> float:
    # CPU time of this process: on a shared machine wall time also counts the other jobs' turns
    return min(timeit.repeat(f, number=2000, repeat=7, timer=time.process_time)) / 2000 * 1e6


def costs(torch: Any) -> tuple:
    """(forward op, backward node, fixed grad()) in microseconds for a PyTorch-API module."""
    x = torch.tensor(2.0, requires_grad=True)

    def chain(n: int) -> Any:
        y = x
        for _ in range(n):
            y = y * 1.0001
        return y

    fwd = (_best(lambda: chain(20)) - _best(lambda: chain(0))) / 20
    y1, y21 = chain(1), chain(21)
    g1 = _best(lambda: torch.autograd.grad(y1, x, retain_graph=True))
    g21 = _best(lambda: torch.autograd.grad(y21, x, retain_graph=True))
    node = (g21 - g1) / 20
    return fwd, node, g1 - node


def main() -> None:
    import dynamic

    mods = [("dynamic", dynamic)]
    try:
        import torch

        torch.set_num_threads(1)
        mods.append(("torch", torch))
    except ImportError:
        pass
    for name, mod in mods:
        fwd, node, fixed = costs(mod)
        print(f"{name:8} forward op {fwd:.1f} us, backward node {node:.1f} us, "
              f"fixed grad() {fixed:.1f} us")
    a = np.float32(2.0)
    print(f"numpy    one ufunc on a 0-d array {_best(lambda: np.multiply(a, 1.0001)):.2f} us")


if __name__ == "__main__":
    main()
