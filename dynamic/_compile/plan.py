"""A compiled plan: one captured graph, run by a staticgraph ``Session`` (the compiled executor),
forward and backward.

The forward fetches the outputs, the guarded values and, when a gradient will be needed, the
*residuals*: the forward tensors the symbolic gradient reads. The backward (``gradients()`` of
the graph's float outputs with respect to the fed tensors that need a gradient, cotangents as
placeholders) is built once per set of needed inputs and runs with the residuals fed, so it does
not recompute the forward. Autograd sees each call as one custom ``Function`` node
(:class:`CallFunction`), whose backward returns the gradients and leaves their accumulation
into ``.grad`` (and the hooks of inputs and parameters) to the eager engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import staticgraph.compiler  # noqa: F401 - registers the compiled executor ("numba")
from staticgraph.gradients import gradients
from staticgraph.graph.core import Graph, needed_ops
from staticgraph.graph.core import Tensor as GTensor
from staticgraph.ops import REGISTRY
from staticgraph.session import Session

from .._tensor import Tensor, make
from ..autograd.function import Function
from ..autograd.grad_mode import GRAD_ENABLED
from ..autograd.graph import version_error
from .reach import reached

_SOURCES = ("Placeholder", "Const")


def _shape_only(op: Any) -> tuple[int, ...]:
    """The positions of a graph op's inputs read only for their shape (``Op.shape_only``)."""
    rec = REGISTRY.get(op.type)
    return rec.shape_inputs(len(op.inputs)) if rec is not None else ()


class GuardFailed(Exception):
    """A value the capture branched on differs in this call: the plan does not apply."""


class Backward:
    """The gradient subgraph for one set of needed inputs."""

    def __init__(self, plan: Plan, needs: tuple[bool, ...]) -> None:
        g = plan.graph
        first = len(g._ops)
        floats = [o for o in plan.outputs if o.dtype.np_dtype.kind == "f"]
        self.float_pos = [k for k, o in enumerate(plan.outputs) if o.dtype.np_dtype.kind == "f"]
        with g.as_default():
            self.cots = [g.create_op("Placeholder", (), {"dtype": o.dtype.np_dtype,
                                                         "shape": o.aval.shape},
                                     (o.aval,), "cotangent").outputs[0] for o in floats]
            xs = [f for f, n in zip(plan.feeds, needs, strict=True) if n]
            grads = gradients(floats, xs, grad_ys=self.cots) if floats and xs else [None] * len(xs)
        self.needs = needs
        self.grads = grads
        # inputs the outputs reach only through ops with no TF gradient: zeros, as eager gives
        hit = reached(xs, floats) if any(t is None for t in grads) else [False] * len(xs)
        feed_pos = [k for k, n in enumerate(needs) if n]
        self.zeros = {i: feed_pos[i] for i, (t, h) in enumerate(zip(grads, hit, strict=True))
                      if t is None and h}
        wanted = [t for t in grads if t is not None]
        feeds = set(plan.feeds) | set(self.cots)
        ops = needed_ops(wanted, [], feeds) if wanted else []
        res: dict[GTensor, None] = {}
        for op in ops:
            if op._id < first:
                continue
            for t in op.inputs:
                if t.op._id < first and t.op.type not in _SOURCES:
                    res[t] = None
        self.residuals = list(res)
        used = {t for op in ops for t in op.inputs}
        self.fed = [k for k, f in enumerate(plan.feeds) if f in used]
        # the feeds whose values (not only shape) its own ops read (the forward's ops before
        # ``first`` come as residuals): as eager's nodes save them
        shape_only = [(op, _shape_only(op)) for op in ops if op._id >= first]
        read = {t for op, so in shape_only for i, t in enumerate(op.inputs) if i not in so}
        self.read = [k for k in self.fed if plan.feeds[k] in read]

    def run(self, plan: Plan, feeds: list, residuals: list, cots: list) -> list:
        fd = {plan.feeds[k]: feeds[k] for k in self.fed}
        fd.update(zip(self.residuals, residuals, strict=True))
        fd.update(zip(self.cots, cots, strict=True))
        wanted = [t for t in self.grads if t is not None]
        out = plan.session.run(wanted, fd) if wanted else []
        it = iter(out)
        return [np.asarray(next(it)) if t is not None else
                np.zeros_like(feeds[self.zeros[i]]) if i in self.zeros else None
                for i, t in enumerate(self.grads)]


class Plan:
    """A captured graph and how to run it (module docstring)."""

    def __init__(self, graph: Graph, feeds: list[GTensor], outputs: list[GTensor],
                 guards: list[tuple[GTensor, np.ndarray, str]],
                 extras: list[GTensor] | None = None) -> None:
        self.graph = graph
        self.extras = extras or []  # whole-step plans: the values written back after a run
        self.feeds = feeds
        self.outputs = outputs
        self.guards = guards
        self.session = Session(graph=graph)
        self._backward: dict[tuple, Backward] = {}
        self._fetch: dict[tuple, list] = {}

    def backward_for(self, needs: tuple[bool, ...]) -> Backward:
        b = self._backward.get(needs)
        if b is None:
            b = self._backward[needs] = Backward(self, needs)
        return b

    def forward(self, arrays: list, needs: tuple[bool, ...] | None) -> tuple[list, list]:
        """Outputs and residuals for ``needs`` (``None``: the write-back values);
        raises :class:`GuardFailed`."""
        fetch = self._fetch.get(needs)
        if fetch is None:
            fetch = list(self.outputs) + [g for g, _, _ in self.guards]
            if needs is not None:
                fetch += self.backward_for(needs).residuals
            else:
                fetch += self.extras
            self._fetch[needs] = fetch
        vals = self.session.run(fetch, dict(zip(self.feeds, arrays, strict=True)))
        n, m = len(self.outputs), len(self.guards)
        for (_g, want, _w), got in zip(self.guards, vals[n:n + m], strict=True):
            if not np.array_equal(np.asarray(got), want):
                raise GuardFailed
        return [np.asarray(v) for v in vals[:n]], vals[n + m:]

    def explain(self) -> str:
        """The compiler's account of the forward (passes, kernels, memory)."""
        fd = {f: np.zeros([1 if d is None else d for d in f.aval.shape], f.dtype.np_dtype)
              for f in self.feeds}
        return self.session.explain(list(self.outputs), fd)


class CallFunction(Function):
    """One call of a compiled plan as an autograd node: ``apply(call, *tensors)``."""

    @staticmethod
    def forward(ctx: Any, call: Any, *tensors: Tensor) -> Any:
        needs = tuple(ctx.needs_input_grad[1:])
        arrays = [t._data for t in tensors]
        outs, res = call.plan.forward(arrays, needs)
        ctx.call, ctx.arrays, ctx.res, ctx.needs = call, arrays, res, needs
        ctx.versions = [t._vc[0] for t in tensors]
        ctx.tensors = tensors
        ts = tuple(make(o) for o in outs)
        return ts[0] if len(ts) == 1 else ts

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> Any:
        _check_versions(ctx)
        if GRAD_ENABLED[0]:  # create_graph: replay the function eagerly, differentiably
            return (None, *ctx.call.eager_grads(ctx.tensors, ctx.needs, grads))
        plan = ctx.call.plan
        b = plan.backward_for(ctx.needs)
        cots = [grads[k]._data for k in b.float_pos]
        out = b.run(plan, ctx.arrays, ctx.res, cots)
        it = iter(out)
        res = []
        for n in ctx.needs:
            g = next(it) if n else None
            res.append(None if g is None else make(g))
        return (None, *res)



def _check_versions(ctx: Any) -> None:
    """PyTorch's error for a fed tensor the backward reads (as eager's node saves it) written
    in place since the forward: its values are read now, so the gradient would be wrong. A
    fed tensor the backward does not read (``x * 3``; ``exp``'s output is a residual) may
    change, as in eager; ``create_graph`` replays the function from every input."""
    fed = range(len(ctx.tensors)) if GRAD_ENABLED[0] else \
        ctx.call.plan.backward_for(ctx.needs).read
    for k in fed:
        t, v = ctx.tensors[k], ctx.versions[k]
        if t._vc[0] != v:
            fn = t._grad_fn
            raise version_error(t, t._vc[0], v, None if fn is None else fn.name())
