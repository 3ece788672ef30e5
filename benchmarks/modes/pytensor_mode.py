"""The ``pytensor`` peer: a symbolic graph, ``pytensor.grad``, and ``pytensor.function`` with the
default linker (C when a compiler is present); training uses shared variables and ``updates``.
Like the static modes, the data-dependent loop compiles one function per example.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..oracle import example_values, train_outputs
from ..workloads import Problem, Workload
from . import Bench, Unavailable

_pt: Any = None
_pytensor: Any = None


def setup(mode: str, threads: int) -> dict:
    """Import pytensor (float32 by default)."""
    global _pt, _pytensor
    try:
        import pytensor
        import pytensor.tensor as pt
    except Exception as e:
        raise Unavailable(f"cannot import pytensor: {type(e).__name__}: {e}") from None
    pytensor.config.floatX = "float32"
    _pt, _pytensor = pt, pytensor
    return {"version": pytensor.__version__, "threads": threads,
            "notes": f"linker {pytensor.config.linker}, C++ compiler "
                     f"{pytensor.config.cxx or 'none (Python fallback)'}"}


def ops(pt: Any) -> SimpleNamespace:
    """The workloads' op vocabulary on pytensor.tensor."""
    from pytensor.tensor.special import log_softmax

    def softmax_ce(logits: Any, labels: Any) -> Any:
        logp = log_softmax(logits, axis=-1)
        return -pt.mean(logp[pt.arange(labels.shape[0]), labels])

    return SimpleNamespace(tanh=pt.tanh, sigmoid=pt.sigmoid, exp=pt.exp,
                           relu=lambda x: pt.maximum(x, 0), sum=pt.sum, mean=pt.mean,
                           matmul=pt.dot, softmax_ce=softmax_ce)


def _sym(pt: Any, name: str, a: np.ndarray) -> Any:
    return pt.tensor(name=name, dtype=str(a.dtype), shape=a.shape)


def build(mode: str, wl: Workload, problem: Problem) -> Bench:
    """Compile the workload's function once (once per example for ``dyn``)."""
    pt, pytensor = _pt, _pytensor
    F = ops(pt)
    vals = problem.values
    if wl.kind in ("grad", "grad2"):
        names = problem.inputs + problem.params
        sym = {n: _sym(pt, n, vals[n]) for n in names}
        out = wl.forward(F, sym)
        if wl.kind == "grad2":
            x = sym[problem.wrt[0]]
            outs, keys = [pytensor.grad(pt.sum(pytensor.grad(out, x)), x)], ["dd_x"]
        else:
            outs = [out, *pytensor.grad(out, [sym[n] for n in problem.wrt])]
            keys = ["y"] + ["d_" + n for n in problem.wrt]
        fn = pytensor.function([sym[n] for n in names], outs)
        args = [vals[n] for n in names]
        return Bench(lambda: fn(*args), lambda: dict(zip(keys, fn(*args), strict=True)))

    if wl.kind == "train":
        sym = {n: _sym(pt, n, vals[n]) for n in problem.inputs}
        shared = {n: pytensor.shared(vals[n].copy(), name=n) for n in problem.params}
        loss = wl.forward(F, {**sym, **shared})
        grads = pytensor.grad(loss, list(shared.values()))
        lr = np.float32(problem.lr)
        updates = [(s, s - lr * g) for s, g in zip(shared.values(), grads, strict=True)]
        ins = [sym[n] for n in problem.inputs]
        train_fn = pytensor.function(ins, [], updates=updates)
        loss_fn = pytensor.function(ins, loss)
        args = [vals[n] for n in problem.inputs]

        def reset() -> None:
            for n, s in shared.items():
                s.set_value(vals[n].copy())

        def step() -> None:
            if problem.reset:
                reset()
            for _ in range(problem.steps):
                train_fn(*args)

        def check() -> dict:
            reset()
            for _ in range(problem.steps):
                train_fn(*args)
            final = {n: s.get_value() for n, s in shared.items()}
            return train_outputs(problem, final, loss_fn(*args))

        return Bench(step, check)

    if wl.kind == "dyn":
        counter = itertools.count()

        def run_example(index: int) -> dict:
            v, length = example_values(problem, index)
            names = (*problem.inputs, *problem.params, "xs")
            sym = {n: _sym(pt, n, v[n]) for n in names}
            loss = wl.forward(F, sym, length)
            fn = pytensor.function([sym[n] for n in names],
                                   [loss, *pytensor.grad(loss, [sym[n] for n in problem.wrt])])
            res = fn(*(v[n] for n in names))
            return dict(zip(["loss"] + ["d_" + n for n in problem.wrt], res, strict=True))

        return Bench(lambda: run_example(next(counter)), lambda: run_example(0))
    raise ValueError(f"unknown workload kind {wl.kind!r}")
