"""PyTorch-API modes: ``dynamic`` (this project, ``import dynamic as torch``), ``dynamic-compile``
(the eager builders with the training step or the gradient function under
``dynamic.compile``), ``torch`` (eager) and
``torch-compile``.

``dynamic`` and ``torch`` run the very same builder code, written as PyTorch user code
(``torch.tensor(..., requires_grad=True)``, ``torch.autograd.grad``, ``loss.backward()``,
``torch.optim.SGD``); only the module differs. ``torch-compile`` compiles the functional
gradient (``torch.func.grad_and_value``) with ``torch.compile``; for the data-dependent loop it
compiles the loop body and keeps the Python loop, as a user would.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..oracle import example_values, train_outputs
from ..workloads import Problem, Workload
from . import Bench, Unavailable

_torch: Any = None


def setup(mode: str, threads: int) -> dict:
    """Import ``dynamic`` or ``torch`` and fix the intra-op thread count."""
    global _torch
    name = "dynamic" if mode in ("dynamic", "dynamic-compile") else "torch"
    try:
        _torch = __import__(name)
    except Exception as e:  # any import failure means: not usable here
        raise Unavailable(f"cannot import {name}: {type(e).__name__}: {e}") from None
    for attr in ("tensor", "autograd", "optim"):
        if not hasattr(_torch, attr):
            raise Unavailable(f"{name} has no torch.{attr} yet")
    info: dict[str, Any] = {"version": getattr(_torch, "__version__", "?")}
    if hasattr(_torch, "set_num_threads"):
        _torch.set_num_threads(threads)
    # dynamic computes with numpy: its BLAS threads are the ones the environment pins
    info["threads"] = _torch.get_num_threads() if hasattr(_torch, "get_num_threads") else threads
    if mode == "torch-compile":
        if not hasattr(_torch, "compile"):
            raise Unavailable("this torch has no torch.compile")
        import shutil

        if shutil.which("g++") is None and shutil.which("c++") is None:
            raise Unavailable("torch.compile's CPU backend needs a C++ compiler (none on PATH)")
    return info


def ops(torch: Any) -> SimpleNamespace:
    """The workloads' op vocabulary on the PyTorch API."""
    # looked up at call time, so an API a workload does not use can be missing (a newer
    # ``dynamic`` without ``nn.functional`` still runs every other workload)
    return SimpleNamespace(
        tanh=lambda x: torch.tanh(x), sigmoid=lambda x: torch.sigmoid(x),
        exp=lambda x: torch.exp(x), relu=lambda x: torch.relu(x), sum=lambda x: torch.sum(x),
        mean=lambda x: torch.mean(x), matmul=lambda a, b: torch.matmul(a, b),
        softmax_ce=lambda logits, y: torch.nn.functional.cross_entropy(logits, y))


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def build(mode: str, wl: Workload, problem: Problem) -> Bench:
    """Eager builders for ``dynamic``/``torch``; functional compiled ones for ``torch-compile``."""
    if mode == "torch-compile":
        return _build_compiled(wl, problem)
    return _build_eager(_torch, wl, problem, compiled=mode == "dynamic-compile")


# --------------------------------------------------------------------------------- eager
def _build_eager(torch: Any, wl: Workload, problem: Problem, compiled: bool = False) -> Bench:
    """The eager builders; ``compiled``: what a PyTorch user puts under ``torch.compile``: the
    whole training step (``zero_grad``, forward, ``backward``, ``step``) for ``train`` workloads,
    the function computing the value and its gradients for ``grad``/``grad2``; the Python loop of
    ``dyn`` stays eager."""
    F = ops(torch)
    vals = problem.values
    forward = wl.forward
    if compiled and wl.kind == "train":
        return _build_compiled_step(torch, wl, problem)
    if wl.kind in ("grad", "grad2"):
        leaves = {n: torch.tensor(vals[n], requires_grad=n in problem.wrt)
                  for n in problem.inputs + problem.params}
        wrt = [leaves[n] for n in problem.wrt]

        def run() -> dict:
            y = forward(F, leaves)
            if wl.kind == "grad2":
                (g,) = torch.autograd.grad(y, wrt, create_graph=True)
                (gg,) = torch.autograd.grad(F.sum(g), wrt)
                return {"dd_x": gg}
            grads = torch.autograd.grad(y, wrt)
            return {"y": y, **{"d_" + n: g for n, g in zip(problem.wrt, grads, strict=True)}}

        if compiled:
            run = torch.compile(run)
        return Bench(run, lambda: {k: _np(t) for k, t in run().items()},
                     settle=_settle() if compiled else None)

    if wl.kind == "train":
        data = {n: torch.tensor(vals[n]) for n in problem.inputs}
        state: dict[str, Any] = {}

        def fresh() -> None:
            state["p"] = {n: torch.tensor(vals[n], requires_grad=True) for n in problem.params}
            state["opt"] = torch.optim.SGD(list(state["p"].values()), lr=problem.lr)

        def train() -> None:
            opt, v = state["opt"], {**data, **state["p"]}
            for _ in range(problem.steps):
                opt.zero_grad()
                loss = forward(F, v)
                loss.backward()
                opt.step()

        def step() -> None:
            if problem.reset or not state:
                fresh()
            train()

        def check() -> dict:
            fresh()
            train()
            loss = forward(F, {**data, **state["p"]})
            return train_outputs(problem, {n: _np(t) for n, t in state["p"].items()}, _np(loss))

        return Bench(step, check)

    if wl.kind == "dyn":
        leaves = {n: torch.tensor(vals[n], requires_grad=n in problem.wrt)
                  for n in problem.inputs + problem.params}
        wrt = [leaves[n] for n in problem.wrt]
        counter = itertools.count()

        def run_example(index: int) -> dict:
            v, length = example_values(problem, index)
            xs = torch.tensor(v["xs"])  # the data arrives: its length decides the loop
            loss = wl.forward(F, {**leaves, "xs": xs}, length)
            grads = torch.autograd.grad(loss, wrt)
            return {"loss": loss, **{"d_" + n: g for n, g in zip(problem.wrt, grads, strict=True)}}

        return Bench(lambda: run_example(next(counter)),
                     lambda: {k: _np(t) for k, t in run_example(0).items()})
    raise ValueError(f"unknown workload kind {wl.kind!r}")


def _build_compiled_step(torch: Any, wl: Workload, problem: Problem) -> Bench:
    """``dynamic-compile`` for ``train``: ``@torch.compile def train_step(*data)`` holding
    ``zero_grad``, the loss, ``backward`` and ``optimizer.step``, on parameters and an optimizer
    made once (a run "from scratch" copies the initial values back in place, as a user resetting
    a model would; recreating them would be a new closure for the compiler to guard on)."""
    F = ops(torch)
    vals = problem.values
    data = [torch.tensor(vals[n]) for n in problem.inputs]
    params = {n: torch.tensor(vals[n], requires_grad=True) for n in problem.params}
    opt = torch.optim.SGD(list(params.values()), lr=problem.lr)

    @torch.compile
    def train_step(*xs: Any) -> Any:
        opt.zero_grad()
        loss = wl.forward(F, {**dict(zip(problem.inputs, xs, strict=True)), **params})
        loss.backward()
        opt.step()
        return loss

    def fresh() -> None:
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(torch.tensor(vals[n]))
        opt.zero_grad()

    def train() -> None:
        for _ in range(problem.steps):
            train_step(*data)

    def step() -> None:
        if problem.reset:
            fresh()
        train()

    def check() -> dict:
        fresh()
        train()
        loss = wl.forward(F, {**dict(zip(problem.inputs, data, strict=True)), **params})
        return train_outputs(problem, {n: _np(t) for n, t in params.items()}, _np(loss))

    return Bench(step, check, settle=_settle())


def _settle() -> Any:
    """The static compiler's wait for its background switch from the native tier to numba's
    dispatchers, untimed (the ``static`` mode waits the same way: tf1_family._settle)."""
    from staticgraph.compiler import block_until_ready

    return block_until_ready


# ------------------------------------------------------------------------------ compiled
def _build_compiled(wl: Workload, problem: Problem) -> Bench:
    torch = _torch
    F = ops(torch)
    vals = problem.values
    tens = {n: torch.tensor(a) for n, a in vals.items()}

    if wl.kind in ("grad", "grad2"):
        names = problem.inputs + problem.params
        args = [tens[n] for n in names]

        def f(*a: Any) -> Any:
            return wl.forward(F, dict(zip(names, a, strict=True)))

        if wl.kind == "grad2":
            ix = names.index(problem.wrt[0])

            def g_sum(*a: Any) -> Any:
                return torch.sum(torch.func.grad(f, argnums=ix)(*a))

            fn = torch.compile(torch.func.grad(g_sum, argnums=ix))
            return Bench(lambda: fn(*args), lambda: {"dd_x": _np(fn(*args))})
        argnums = tuple(names.index(n) for n in problem.wrt)
        fn = torch.compile(torch.func.grad_and_value(f, argnums=argnums))

        def check() -> dict:
            grads, y = fn(*args)
            pairs = zip(problem.wrt, grads, strict=True)
            return {"y": _np(y), **{"d_" + n: _np(g) for n, g in pairs}}

        return Bench(lambda: fn(*args), check)

    if wl.kind == "train":
        data = {n: tens[n] for n in problem.inputs}
        pnames = problem.params

        def loss_fn(params: tuple, d: dict) -> Any:
            return wl.forward(F, {**d, **dict(zip(pnames, params, strict=True))})

        gv = torch.func.grad_and_value(loss_fn)
        lr = problem.lr

        @torch.compile
        def sgd(params: tuple, d: dict) -> tuple:
            grads, _ = gv(params, d)
            return tuple(p - lr * g for p, g in zip(params, grads, strict=True))

        init = tuple(tens[n] for n in pnames)
        state = {"p": init}

        def step() -> None:
            p = init if problem.reset else state["p"]
            for _ in range(problem.steps):
                p = sgd(p, data)
            state["p"] = p

        def check() -> dict:
            p = init
            for _ in range(problem.steps):
                p = sgd(p, data)
            final = dict(zip(pnames, p, strict=True))
            return train_outputs(problem, {n: _np(t) for n, t in final.items()},
                                 _np(loss_fn(p, data)))

        return Bench(step, check)

    if wl.kind == "dyn" and wl.cell is not None:
        pn = problem.params
        body = wl.cell

        def flat_cell(x_t: Any, h: Any, *p: Any) -> Any:
            return body(F, x_t, h, dict(zip(pn, p, strict=True)))

        compiled = torch.compile(flat_cell)  # the loop body compiled; the loop stays Python

        def cell(_F: Any, x_t: Any, h: Any, v: dict) -> Any:
            return compiled(x_t, h, *(v[n] for n in pn))

        leaves = {n: torch.tensor(vals[n], requires_grad=n in problem.wrt)
                  for n in problem.inputs + problem.params}
        wrt = [leaves[n] for n in problem.wrt]
        counter = itertools.count()

        def run_example(index: int) -> dict:
            v, length = example_values(problem, index)
            loss = wl.forward(F, {**leaves, "xs": torch.tensor(v["xs"])}, length, cell=cell)
            grads = torch.autograd.grad(loss, wrt)
            return {"loss": loss, **{"d_" + n: g for n, g in zip(problem.wrt, grads, strict=True)}}

        return Bench(lambda: run_example(next(counter)),
                     lambda: {k: _np(t) for k, t in run_example(0).items()})
    raise ValueError(f"unknown workload kind {wl.kind!r}")
