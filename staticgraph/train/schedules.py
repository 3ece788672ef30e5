"""TF1's learning-rate schedules beyond ``exponential_decay``: ``piecewise_constant``,
``polynomial_decay``, ``inverse_time_decay``, ``natural_exp_decay`` and ``cosine_decay``, with
TF's formulas (``tf.compat.v1.train``) as graph ops on the global step, in float32 as TF
computes them for Python-float rates."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops as _ops
from ..graph.math_ops import _final, _t
from ..graph.math_ops import cast as _cast
from ..graph.math_ops import composite as _composite

_F32 = np.float32


def _step(global_step: Any) -> Any:
    return _cast(_t(global_step), _F32)


def piecewise_constant(x: Any, boundaries: Any, values: Any, name: str | None = None) -> Any:
    """``values[0]`` while ``x <= boundaries[0]``, ``values[i]`` while ``x`` is in
    ``(boundaries[i-1], boundaries[i]]``, ``values[-1]`` after the last boundary."""
    if len(values) != len(boundaries) + 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values")
    xt = _t(x)
    vals = [np.asarray(v, _F32 if isinstance(v, float) else None) for v in values]
    with _composite(name, "PiecewiseConstant", xt) as stem:
        out: Any = _t(vals[0])
        for k, b in enumerate(boundaries):
            bound = np.asarray(b, xt.dtype.base_dtype.np_dtype)
            last = k == len(boundaries) - 1
            args = (_ops.gt(xt, bound), vals[k + 1], out)
            out = _final(stem, _ops.where, *args) if last else _ops.where(*args)
        return out


def polynomial_decay(learning_rate: Any, global_step: Any, decay_steps: Any,
                     end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                     name: str | None = None) -> Any:
    """``(lr - end) * (1 - step / decay_steps) ** power + end``, the step held at
    ``decay_steps`` (or, with ``cycle``, ``decay_steps`` stretched to the next multiple)."""
    with _composite(name, "PolynomialDecay", global_step) as stem:
        step = _step(global_step)
        steps: Any = _F32(decay_steps)
        if cycle:
            mult = _ops.ceil(_ops.div(step, steps))
            mult = _ops.where(_ops.eq(step, _F32(0)), _F32(1), mult)
            steps = _ops.mul(steps, mult)
        else:
            step = _ops.minimum(step, steps)
        frac = _ops.sub(_F32(1), _ops.div(step, steps))
        lr, end = _F32(learning_rate), _F32(end_learning_rate)
        return _final(stem, _ops.add, _ops.mul(_F32(lr - end), _ops.pow(frac, _F32(power))), end)


def _fraction(global_step: Any, decay_steps: Any, staircase: bool) -> Any:
    p = _ops.div(_step(global_step), _F32(decay_steps))
    return _ops.floor(p) if staircase else p


def inverse_time_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                       staircase: bool = False, name: str | None = None) -> Any:
    """``lr / (1 + decay_rate * step / decay_steps)`` (the fraction floored when
    ``staircase``)."""
    with _composite(name, "InverseTimeDecay", global_step) as stem:
        p = _fraction(global_step, decay_steps, staircase)
        denom = _ops.add(_F32(1), _ops.mul(_F32(decay_rate), p))
        return _final(stem, _ops.div, _F32(learning_rate), denom)


def natural_exp_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                      staircase: bool = False, name: str | None = None) -> Any:
    """``lr * exp(-decay_rate * step / decay_steps)`` (floored fraction when ``staircase``)."""
    with _composite(name, "NaturalExpDecay", global_step) as stem:
        p = _fraction(global_step, decay_steps, staircase)
        return _final(stem, _ops.mul, _F32(learning_rate),
                      _ops.exp(_ops.mul(_F32(-decay_rate), p)))


def cosine_decay(learning_rate: Any, global_step: Any, decay_steps: Any, alpha: float = 0.0,
                 name: str | None = None) -> Any:
    """``lr * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) +
    alpha)``."""
    with _composite(name, "CosineDecay", global_step) as stem:
        step = _ops.minimum(_step(global_step), _F32(decay_steps))
        cosine = _ops.mul(_F32(0.5), _ops.add(_F32(1), _ops.cos(
            _ops.mul(_F32(math.pi), _ops.div(step, _F32(decay_steps))))))
        decayed = _ops.add(_ops.mul(_F32(1 - alpha), cosine), _F32(alpha))
        return _final(stem, _ops.mul, _F32(learning_rate), decayed)


__all__ = ["piecewise_constant", "polynomial_decay", "inverse_time_decay", "natural_exp_decay",
           "cosine_decay"]
