"""The ``numpy`` mode: each workload's hand-written numpy forward and backward, timed as is.

It is the speed baseline and (through :mod:`benchmarks.oracle`) the correctness reference.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..oracle import example_values, reference, sgd_numpy
from ..workloads import Problem, Workload
from . import Bench


def setup(mode: str, threads: int) -> dict:
    """numpy is always there; its BLAS threads come from the environment the CLI sets."""
    return {"version": np.__version__, "threads": threads}


def build(mode: str, wl: Workload, problem: Problem) -> Bench:
    """A :class:`Bench` running the oracle code (the timed call mirrors the other modes')."""
    if wl.kind in ("grad", "grad2"):
        return Bench(lambda: wl.numpy_grads(problem.values), lambda: reference(wl, problem))
    if wl.kind == "train":
        state = {k: a.copy() for k, a in problem.values.items()}

        def step() -> None:
            if problem.reset:
                for p in problem.params:
                    state[p] = problem.values[p].copy()
            sgd_numpy(wl, problem, state, problem.steps)

        return Bench(step, lambda: reference(wl, problem))
    if wl.kind == "dyn":
        counter = itertools.count()

        def dyn_step() -> dict:
            v, length = example_values(problem, next(counter))
            return wl.numpy_grads(v, length)

        return Bench(dyn_step, lambda: reference(wl, problem))
    raise ValueError(f"numpy mode: unknown workload kind {wl.kind!r}")
