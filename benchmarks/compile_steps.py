"""Per-step cost of ``dynamic-compile`` against ``static`` by process CPU time (issue #14;
docs/benchmarks.md, "dynamic-compile against static").

On a shared machine ``sgbench``'s wall-clock medians also count the other jobs' turns. This runs
the very same builders (``benchmarks.modes``: the static mode's TF1 graph and ``Session.run``,
the ``dynamic-compile`` mode's compiled whole step) in one process, after the compiler's switch
to numba (``settle``), the two modes alternated round by round, and prints per workload each
mode's lower-quartile time per step and the range and median of the per-round ratios.
Run from the repository root:
``python -m benchmarks.compile_steps [rounds] [workload,...]`` (default 7 rounds, the xor models).
Workloads are ``sgbench``'s (``xor-linear``, ``xor-mlp``, ``mlp-step``...) or the ``nn.Module``
programs of :mod:`.module_programs` (``nn-xor-sgd``, ``nn-xor-adam``, ``nn-mnist-sgd``,
``nn-mnist-adam``: a PyTorch-style script against the same model in the TF1 API).
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any

from . import module_programs
from .modes import tf1_family, torch_family
from .workloads import get


def _build(mod: Any, mode: str, name: str) -> tuple[Any, int, int]:
    """The bench, its steps per call and the calls per sample (~30 ms of CPU)."""
    if name in module_programs.PROGRAMS:
        bench, steps = module_programs.build(mode, name), 1
    else:
        wl = get(name)
        problem = wl.make(None)
        bench = mod.build(mode, wl, problem)
        steps = problem.steps if wl.kind == "train" else 1
    bench.step()
    bench.step()  # a second plan (Adam's first step has no state yet) compiles before settle
    if bench.settle:
        bench.settle()
    bench.step()
    t = time.process_time()
    bench.step()
    dt = time.process_time() - t
    return bench, steps, max(1, int(0.03 / max(dt, 1e-6)))


def main(rounds: int = 7, names: tuple = ("xor-linear", "xor-mlp")) -> None:
    tf1_family.setup("static", 1)
    torch_family.setup("dynamic-compile", 1)
    modes = (("static", tf1_family), ("dynamic-compile", torch_family))
    benches = {(n, m): _build(mod, m, n) for n in names for m, mod in modes}
    res: dict = {key: [] for key in benches}
    gc.disable()
    try:
        for _ in range(rounds):
            for key, (bench, steps, calls) in benches.items():
                t = time.process_time()
                for _ in range(calls):
                    bench.step()
                res[key].append((time.process_time() - t) / calls / steps * 1e6)
    finally:
        gc.enable()
    for n in names:
        s, d = sorted(res[n, "static"]), sorted(res[n, "dynamic-compile"])
        r = sorted(a / b for a, b in zip(res[n, "dynamic-compile"], res[n, "static"],
                                         strict=True))
        q = len(s) // 4
        print(f"{n:11} static {s[q]:9.2f} us  dynamic-compile {d[q]:9.2f} us  "
              f"ratio {r[0]:.2f}-{r[-1]:.2f} (median {r[len(r) // 2]:.2f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7,
         tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else ("xor-linear", "xor-mlp"))
