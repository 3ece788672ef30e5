"""The ``jax`` peer: ``jax.jit`` of ``jax.value_and_grad`` (and ``jax.grad`` of ``jax.grad``).

Training steps are one jitted function returning the new parameters. For the data-dependent loop
the loop body is jitted and the Python loop stays outside, differentiated by ``jax.grad``; a
``lax.scan`` over the example's length would recompile for each new length.
JAX's CPU thread pool cannot be pinned to a count; the report says so.
"""

from __future__ import annotations

import itertools
import os
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..oracle import example_values, train_outputs
from ..workloads import Problem, Workload
from . import Bench, Unavailable

_jax: Any = None


def setup(mode: str, threads: int) -> dict:
    """Import jax (CPU); with one thread, ask XLA for single-threaded Eigen."""
    global _jax
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                   + " --xla_cpu_multi_thread_eigen=false"
                                   + " intra_op_parallelism_threads=1").strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import jax
    except Exception as e:
        raise Unavailable(f"cannot import jax: {type(e).__name__}: {e}") from None
    _jax = jax
    return {"version": jax.__version__, "threads": threads,
            "notes": "XLA's CPU thread pool is not pinned (only threads=1 is enforced)"}


def ops(jax: Any) -> SimpleNamespace:
    """The workloads' op vocabulary on jax.numpy."""
    jnp = jax.numpy

    def softmax_ce(logits: Any, labels: Any) -> Any:
        logp = jax.nn.log_softmax(logits, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))

    return SimpleNamespace(tanh=jnp.tanh, sigmoid=jax.nn.sigmoid, exp=jnp.exp, relu=jax.nn.relu,
                           sum=jnp.sum, mean=jnp.mean, matmul=jnp.matmul, softmax_ce=softmax_ce)


def _np(x: Any) -> np.ndarray:
    return np.asarray(x)


def build(mode: str, wl: Workload, problem: Problem) -> Bench:
    """jit-compiled functional builders (results are blocked on before the timer stops)."""
    jax = _jax
    F = ops(jax)
    vals = {n: jax.numpy.asarray(a) for n, a in problem.values.items()}
    block = jax.block_until_ready

    if wl.kind in ("grad", "grad2"):
        names = problem.inputs + problem.params
        args = [vals[n] for n in names]

        def f(*a: Any) -> Any:
            return wl.forward(F, dict(zip(names, a, strict=True)))

        if wl.kind == "grad2":
            ix = names.index(problem.wrt[0])
            gg = jax.jit(jax.grad(lambda *a: jax.numpy.sum(jax.grad(f, argnums=ix)(*a)),
                                  argnums=ix))
            return Bench(lambda: block(gg(*args)), lambda: {"dd_x": _np(gg(*args))})
        argnums = tuple(names.index(n) for n in problem.wrt)
        fn = jax.jit(jax.value_and_grad(f, argnums=argnums))

        def check() -> dict:
            y, grads = fn(*args)
            pairs = zip(problem.wrt, grads, strict=True)
            return {"y": _np(y), **{"d_" + n: _np(g) for n, g in pairs}}

        return Bench(lambda: block(fn(*args)), check)

    if wl.kind == "train":
        data = {n: vals[n] for n in problem.inputs}
        pnames, lr = problem.params, problem.lr

        def loss_fn(params: tuple, d: dict) -> Any:
            return wl.forward(F, {**d, **dict(zip(pnames, params, strict=True))})

        @jax.jit
        def sgd(params: tuple, d: dict) -> tuple:
            grads = jax.grad(loss_fn)(params, d)
            return tuple(p - lr * g for p, g in zip(params, grads, strict=True))

        init = tuple(vals[n] for n in pnames)
        state = {"p": init}

        def run(p: tuple) -> tuple:
            for _ in range(problem.steps):
                p = sgd(p, data)
            return block(p)

        def step() -> None:
            state["p"] = run(init if problem.reset else state["p"])

        def check() -> dict:
            p = run(init)
            return train_outputs(problem, {n: _np(t) for n, t in zip(pnames, p, strict=True)},
                                 _np(loss_fn(p, data)))

        return Bench(step, check)

    if wl.kind == "dyn" and wl.cell is not None:
        pn, body = problem.params, wl.cell
        jcell = jax.jit(lambda x_t, h, *p: body(F, x_t, h, dict(zip(pn, p, strict=True))))

        def cell(_F: Any, x_t: Any, h: Any, v: dict) -> Any:
            return jcell(x_t, h, *(v[n] for n in pn))

        counter = itertools.count()

        def run_example(index: int) -> dict:
            v, length = example_values(problem, index)

            def loss_fn(params: tuple) -> Any:
                v2 = {**vals, **dict(zip(pn, params, strict=True)), "xs": v["xs"]}
                return wl.forward(F, v2, length, cell=cell)

            loss, grads = jax.value_and_grad(loss_fn)(tuple(vals[n] for n in pn))
            block(grads)
            return {"loss": loss, **{"d_" + n: g for n, g in zip(pn, grads, strict=True)}}

        return Bench(lambda: run_example(next(counter)),
                     lambda: {k: _np(t) for k, t in run_example(0).items()})
    raise ValueError(f"unknown workload kind {wl.kind!r}")
