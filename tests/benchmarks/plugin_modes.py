"""Test-only modes, injected into sgbench through ``SGBENCH_PLUGINS`` (see benchmarks.modes):

* ``wrong``: the numpy mode with a 1% error in one output of every workload;
* ``broken``: raises while building a workload;
* ``absent``: its framework "cannot be imported".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.modes import Bench, Mode, Unavailable, numpy_mode, register_mode
from benchmarks.workloads import Problem, Workload


def setup(mode: str, threads: int) -> dict:
    if mode == "absent":
        raise Unavailable("the absent framework is not installed")
    return {"version": "test", "threads": threads}


def build(mode: str, wl: Workload, problem: Problem) -> Bench:
    if mode == "broken":
        raise RuntimeError(f"cannot build {wl.name}")
    good = numpy_mode.build("numpy", wl, problem)

    def check() -> dict[str, Any]:
        out = dict(good.check())
        key = sorted(out)[-1]  # a gradient or a parameter update in every workload
        out[key] = np.asarray(out[key]) * 1.01
        return out

    return Bench(good.step, check)


for _name, _summary in [("wrong", "numpy with a 1% error"), ("broken", "fails to build"),
                        ("absent", "not importable")]:
    register_mode(Mode(_name, __name__, "built-in", _summary))
