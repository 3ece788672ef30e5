"""``autograd.Function``: user-defined forward/backward pairs, PyTorch's API.

``MyFn.apply(...)`` runs ``forward`` under ``no_grad`` and attaches a node of class
``MyFnBackward`` (the ``ctx``) to the outputs. The engine calls ``backward(ctx, *grads)``; under
``create_graph`` it runs with grad mode on, so a backward written with tensor ops is itself
differentiable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph.ops import AVal

from .._tensor import Tensor, make
from .forward_ad_engine import hidden, input_tangents
from .grad_mode import GRAD_ENABLED, no_grad
from .graph import (
    FREED_MSG,
    NONE_EDGE,
    SAVED_HOOKS,
    Node,
    Packed,
    fit_grads,
    init_node,
    version_error,
)


class FunctionCtx:
    """The ``ctx`` API shared by custom backward nodes."""

    def save_for_backward(self, *tensors: Any) -> None:
        if SAVED_HOOKS:  # ``saved_tensors_hooks``: keep what the pack hook returns
            pack, unpack = SAVED_HOOKS[-1]
            tensors = tuple(None if t is None else Packed(pack(t), unpack) for t in tensors)
        self._saved = tuple(tensors)
        self._saved_versions = tuple(None if t is None or type(t) is Packed else t._vc[0]
                                     for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(FREED_MSG)
        saved = getattr(self, "_saved", ())
        saved = tuple(t.unpack() if type(t) is Packed else t for t in saved)
        for t, v in zip(saved, getattr(self, "_saved_versions", ()), strict=False):
            if v is not None and t._vc[0] != v:
                fn = t._grad_fn
                raise version_error(t, t._vc[0], v, None if fn is None else fn.name())
        return saved

    saved_variables = saved_tensors

    def mark_non_differentiable(self, *tensors: Any) -> None:
        self._non_diff = {id(t) for t in tensors}

    def mark_dirty(self, *tensors: Any) -> None:
        self._dirty = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = bool(value)


class BackwardCFunction(Node, FunctionCtx):
    """The node (and ``ctx``) of one ``Function.apply`` call."""

    _forward_cls: Any = None

    def _n_outputs(self) -> int:
        return len(self._out_avals)

    def _has_saved(self) -> bool:
        return bool(getattr(self, "_saved", ()))

    def _release(self) -> None:
        if getattr(self, "_saved", ()):
            self._freed = True
            self._saved = None

    def _apply(self, grads: list, create_graph: bool) -> list:
        if getattr(self, "_materialize", True):
            grads = [make(np.zeros(a.shape, a.dtype)) if g is None else g
                     for g, a in zip(grads, self._out_avals, strict=False)]
        res = self._forward_cls.backward(self, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        n = len(self._next)
        if len(res) > n and all(r is None for r in res[n:]):
            res = res[:n]
        if len(res) != n:
            raise RuntimeError(f"function {type(self).__name__} returned an incorrect number of "
                               f"gradients (expected {n}, got {len(res)})")
        return fit_grads(self._next, res, self._in_avals, create_graph)

    def name(self) -> str:
        return type(self).__name__


class FunctionMeta(type):
    """Gives each ``Function`` subclass its backward node class ``<Name>Backward``."""

    def __init__(cls, name: str, bases: tuple, attrs: dict) -> None:
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,),
                                 {"_forward_cls": cls, "__module__": cls.__module__})


class Function(metaclass=FunctionMeta):
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call
    ``apply``. (The ``setup_context(ctx, inputs, output)`` style is supported too.)"""

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx: Any, *tangents: Any) -> Any:
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> Any:
        return NotImplemented

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = cls._backward_cls()
        init_node(ctx, [])
        ctx._freed = False
        needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        ctx.needs_input_grad = needs
        record = GRAD_ENABLED[0] and any(needs)
        separate = cls.setup_context is not Function.setup_context
        fw = input_tangents(args)  # forward AD: (level, tangents) when an input has a tangent
        if fw is not None and cls.jvp is Function.jvp:
            Function.jvp(ctx)
        with no_grad(), hidden(fw[0]) if fw is not None else no_grad():
            if separate:
                outputs = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, outputs)
            else:
                outputs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outs = list((outputs,) if single else outputs)
        non_diff = getattr(ctx, "_non_diff", set())
        ctx._out_avals = [AVal(o._data.shape, o._data.dtype) if isinstance(o, Tensor)
                          else AVal((), np.dtype(np.float32)) for o in outs]
        if record:
            edges, in_avals = [], []
            for a in args:
                if isinstance(a, Tensor):
                    edges.append(((a._grad_fn, a._output_nr) if a._grad_fn is not None else
                                  (a._accumulator(), 0)) if a._requires_grad else NONE_EDGE)
                    in_avals.append(a.aval)
                else:
                    edges.append(NONE_EDGE)
                    in_avals.append(a)
            ctx._next, ctx._in_avals = edges, in_avals
            for k, o in enumerate(outs):
                if not isinstance(o, Tensor):
                    continue
                if any(o is a for a in args):  # returned an input: a new alias carries history
                    o = outs[k] = make(o._data, version=o._vc)
                if id(o) in non_diff or o._data.dtype.kind != "f":
                    o._requires_grad = False
                    continue
                o._grad_fn, o._output_nr, o._requires_grad = ctx, k, True
        if fw is not None:
            _set_tangents(cls, ctx, fw, outs)
        return outs[0] if single else tuple(outs)


def _set_tangents(cls: Any, ctx: Any, fw: tuple, outs: list) -> None:
    """The outputs' tangents from the user's ``jvp(ctx, *tangents)`` (inputs' level hidden)."""
    lv, tangents = fw
    with hidden(lv):
        res = cls.jvp(ctx, *tangents)
    res = res if isinstance(res, tuple) else (res,)
    for o, t in zip(outs, res, strict=False):
        if isinstance(o, Tensor) and isinstance(t, Tensor) and o._data.dtype.kind == "f":
            lv.set(o, t)


def once_differentiable(fn: Any) -> Any:
    """Accepted for compatibility (the backward is used as written)."""
    return fn
