"""Forward-mode transforms on the op records' JVP rules: ``torch.func.jvp``, and the Jacobian
column by column that ``torch.func.jacfwd`` and ``autograd.functional.jacobian(strategy=
"forward-mode")`` return.

Each call opens its own forward AD level (``autograd.forward_ad_engine``), so they nest with
each other and with the reverse-mode transforms: ``jacfwd(jacrev(f))`` (``hessian``) carries
tangents through the reverse pass, ``jvp(jvp(f))`` gives second derivatives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from staticgraph import ops

from .._creation import zeros_like
from .._tensor import Tensor
from .forward_ad import attach
from .forward_ad_engine import hidden, pop_level, push_level

__all__ = ["jacfwd_columns", "jvp"]

_PREFIX = "jvp(f, primals, tangents): "


def _check(primals: Any, tangents: Any) -> None:
    if not isinstance(primals, tuple):
        raise RuntimeError(_PREFIX + "Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    if not isinstance(tangents, tuple) or len(tangents) != len(primals):
        raise RuntimeError(_PREFIX + "Expected primals and tangents to have the same python "
                           "structure. For example, if primals is a tuple of 3 tensors, tangents "
                           f"also must be. Got {len(primals)} primals and "
                           f"{len(tangents) if isinstance(tangents, tuple) else type(tangents)} "
                           "tangents")
    for p, t in zip(primals, tangents, strict=True):
        if not isinstance(p, Tensor) or not isinstance(t, Tensor):
            raise RuntimeError(_PREFIX + "Expected primals and tangents to only contain "
                               f"Tensors, got {type(p).__name__} and {type(t).__name__}")


def jvp(func: Callable, primals: Any, tangents: Any, *, has_aux: bool = False) -> tuple:
    """``(func(*primals), J @ tangents)`` by forward mode (one pass, no backward)."""
    _check(primals, tangents)
    lv = push_level(public=False)
    try:
        out = func(*(attach(lv, p, t) for p, t in zip(primals, tangents, strict=True)))
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError("jvp(f, primals, tangents): output of function f should be a "
                                   "tuple: (output, aux) if has_aux is True")
            out, aux = out
        outs = out if isinstance(out, tuple) else (out,)
        for o in outs:
            if not isinstance(o, Tensor):
                raise RuntimeError("jvp(f, primals, tangents): Expected f(*primals) to return "
                                   f"only tensors, got unsupported type {type(o).__name__}")
        with hidden(lv):
            pairs = [(ops.reshape(o, tuple(o.shape)),
                      lv.get(o) if lv.get(o) is not None else zeros_like(o)) for o in outs]
    finally:
        pop_level(lv)
    if isinstance(out, tuple):
        res = (tuple(p for p, _ in pairs), tuple(t for _, t in pairs))
    else:
        res = pairs[0]
    return (*res, aux) if has_aux else res


def jacfwd_columns(func: Callable, inputs: tuple) -> tuple:
    """For each output of ``func(*inputs)``, its Jacobian w.r.t. each input (``out.shape +
    input.shape``), one forward pass per input element (a basis tangent each)."""
    cols: list = []  # per input: list of per-element output tangents
    out = None
    for j, x in enumerate(inputs):
        n = x.numel()
        per = []
        for k in range(n):
            basis = [zeros_like(p) for p in inputs]
            basis[j]._data.reshape(-1)[k] = 1
            out, tan = jvp(func, tuple(inputs), tuple(basis))
            per.append(tan if isinstance(tan, tuple) else (tan,))
        cols.append(per)
    if out is None:
        out = func(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    jac = []
    for i, o in enumerate(outs):
        row = []
        for j, x in enumerate(inputs):
            per = cols[j]
            if per:
                stacked = ops.stack([c[i] for c in per], -1)
            else:
                stacked = zeros_like(o).reshape(*o.shape, 0)
            row.append(stacked.reshape(tuple(o.shape) + tuple(x.shape)))
        jac.append(tuple(row))
    return tuple(jac), isinstance(out, tuple)
