"""Forward mode: the JVP rule of an op record, written out or derived from what the record has.

An :class:`~.core.Op`'s ``jvp`` field is either a rule ``jvp(tangents, out, *inputs, **params)``
(one tangent or ``None`` per input; returns the output's tangent) or the name of a derivation:

* ``"linear"``: the op is linear in its inputs jointly (shape ops, ``sum``, ``cumsum``, ``cast``,
  ``where``'s branches, ``nll_loss``'s log-probabilities): the op itself applied to the tangents.
  An input without a tangent becomes zeros if it is a float value that the op reads; integer,
  bool and shape-only inputs (indices, conditions, shape references) are passed as they are.
* ``"multilinear"``: linear in each input separately (``mul``, ``matmul``): the sum over the
  inputs with a tangent of the op with that input replaced by its tangent.
* ``"diagonal"``: elementwise, so the Jacobian is diagonal and the VJP rule applied to a
  tangent is that input's term: ``sum_i vjp(t_i)[i]``. Every elementwise record with a VJP
  gets it unless it says otherwise.
* ``"reduction"``: each output element reduces its own slice of the input (``max``, ``prod``,
  ``logsumexp``), so ``vjp(ones)`` holds each input element's partial derivative and the JVP is
  ``sum(vjp(ones) * t)`` over the reduced dims.

Rules use the public op functions, so one rule computes eagerly on tensors (``dynamic``'s
forward AD) and builds nodes in a graph. :func:`jvp_rule` resolves a record's field once and
wraps it so the returned tangent has the output's shape and dtype (``x + y`` with a tangent
only on the smaller ``x`` still gives a tangent shaped like the result).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .core import Op, aval_of, bind
from .elementwise import add, cast, mul
from .reductions import sum
from .shapes import broadcast_to, ones_like, zeros_like

__all__ = ["jvp_rule"]

_RULES: dict = {}  # op -> its resolved rule


def jvp_rule(op: Op) -> Callable[..., Any] | None:
    """``op``'s JVP as ``rule(tangents, out, *inputs, **params) -> tangent`` (``None``: the record
    has none). The tangent comes back in ``out``'s shape and dtype."""
    rule = _RULES.get(op)
    if rule is None and op.jvp is not None:
        rule = _RULES[op] = _fitted(_resolve(op))
    return rule


def _resolve(op: Op) -> Callable[..., Any]:
    field = op.jvp
    if callable(field):
        return field
    make = _DERIVATIONS.get(field)
    if make is None:
        raise ValueError(f"op {op.name!r}: unknown jvp derivation {field!r} "
                         f"(expected one of {sorted(_DERIVATIONS)} or a function)")
    return make(op)


def _fitted(rule: Callable[..., Any]) -> Callable[..., Any]:
    def fitted(tangents: tuple, out: Any, *inputs: Any, **params: Any) -> Any:
        t = rule(tangents, out, *inputs, **params)
        want, got = aval_of(out), aval_of(t)
        if got.dtype != want.dtype:
            t = cast(t, want.dtype)
        if tuple(got.shape) != tuple(want.shape):
            t = broadcast_to(t, tuple(want.shape))
        return t
    return fitted


def _total(terms: list) -> Any:
    acc = terms[0]
    for t in terms[1:]:
        acc = add(acc, t)
    return acc


def _linear(op: Op) -> Callable[..., Any]:
    def rule(tangents: tuple, out: Any, *inputs: Any, **params: Any) -> Any:
        kept = op.shape_inputs(len(inputs))
        args = []
        for i, (x, t) in enumerate(zip(inputs, tangents, strict=True)):
            if t is not None:
                args.append(t)
            elif i in kept or isinstance(x, bool):
                args.append(x)  # a shape reference, a Python bool: not a value
            elif isinstance(x, (int, float)):
                args.append(type(x)(0))
            elif aval_of(x).dtype.kind == "f":
                args.append(zeros_like(x))
            else:
                args.append(x)  # integer or bool arrays: indices, conditions
        return op_fn(op)(*args, **params)
    return rule


def _multilinear(op: Op) -> Callable[..., Any]:
    def rule(tangents: tuple, out: Any, *inputs: Any, **params: Any) -> Any:
        terms = []
        for i, t in enumerate(tangents):
            if t is not None:
                args = list(inputs)
                args[i] = t
                terms.append(op_fn(op)(*args, **params))
        return _total(terms)
    return rule


def _diagonal(op: Op) -> Callable[..., Any]:
    def rule(tangents: tuple, out: Any, *inputs: Any, **params: Any) -> Any:
        terms = []
        for i, t in enumerate(tangents):
            if t is not None:
                term = op.vjp(t, out, *inputs, **params)[i]
                if term is not None:
                    terms.append(term)
        return _total(terms) if terms else zeros_like(out)
    return rule


def _reduction(op: Op) -> Callable[..., Any]:
    def rule(tangents: tuple, out: Any, x: Any, dim: Any, keepdim: bool, **params: Any) -> Any:
        (partials,) = op.vjp(ones_like(out), out, x, dim=dim, keepdim=keepdim, **params)
        return sum(mul(partials, tangents[0]), dim, keepdim=keepdim)
    return rule


def op_fn(op: Op) -> Callable[..., Any]:
    """``bind(op, ...)`` as a function of the op's inputs."""
    return lambda *args, **params: bind(op, *args, **params)


_DERIVATIONS = {"linear": _linear, "multilinear": _multilinear, "diagonal": _diagonal,
                "reduction": _reduction}
