"""``gradcheck`` / ``gradgradcheck``: compare autograd Jacobians with central finite
differences (use float64 inputs)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor, make
from .engine import grad


class GradcheckError(RuntimeError):
    """Raised when analytical and numerical Jacobians differ."""


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _diff_outputs(func: Callable, inputs: tuple) -> tuple:
    return tuple(o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor))


def _numerical(func: Callable, inputs: tuple, i: int, eps: float) -> list:
    """One (numel_in, numel_out) matrix per output, by central differences on input ``i``."""
    x = inputs[i]
    flat = x._data.reshape(-1)
    cols: list = []
    for k in range(flat.size):  # grad mode stays on: gradgradcheck's func calls autograd.grad
        orig = flat[k]
        flat[k] = orig + eps
        plus = [o._data.astype(np.float64).reshape(-1) for o in _diff_outputs(func, inputs)]
        flat[k] = orig - eps
        minus = [o._data.astype(np.float64).reshape(-1) for o in _diff_outputs(func, inputs)]
        flat[k] = orig
        cols.append([(p - m) / (2 * eps) for p, m in zip(plus, minus, strict=False)])
    n_out = len(cols[0]) if cols else 0
    return [np.stack([c[j] for c in cols]) if cols else None for j in range(n_out)]


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, fast_mode: bool = False, **_: Any) -> bool:
    """True when every input's Jacobian from autograd matches finite differences."""
    inputs = _as_tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of the them have requires_grad=True.")
    for i in diff:
        if inputs[i]._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point or complex. This check will likely fail if all the inputs are "
                          "not of double precision floating point or complex. ", UserWarning,
                          stacklevel=2)
    outputs = _diff_outputs(func, inputs)
    for j, out in enumerate(outputs):
        if not out._requires_grad:
            continue
        n_out = out._data.size
        analytic = {i: np.zeros((inputs[i]._data.size, n_out)) for i in diff}
        for m in range(n_out):
            go = np.zeros(out._data.shape, out._data.dtype)
            go.reshape(-1)[m] = 1
            gs = grad(out, [inputs[i] for i in diff], make(go), retain_graph=True,
                      allow_unused=True)
            for i, g in zip(diff, gs, strict=False):
                if g is not None:
                    analytic[i][:, m] = g._data.astype(np.float64).reshape(-1)
        for i in diff:
            numeric = _numerical(func, inputs, i, eps)[j]
            if not np.allclose(analytic[i], numeric, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"Jacobian mismatch for output {j} with respect to input {i},\n"
                    f"numerical:{make(numeric)!r}\nanalytical:{make(analytic[i])!r}\n")
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Any = None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, **_: Any) -> bool:
    """``gradcheck`` of the first derivative (checks second derivatives via create_graph)."""
    inputs = _as_tuple(inputs)
    n = len(inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            make(rng.standard_normal(o._data.shape).astype(o._data.dtype), True)
            for o in _diff_outputs(func, inputs) if o._requires_grad)
    grad_outputs = _as_tuple(grad_outputs)

    def first_derivative(*args: Any) -> tuple:
        ins, gos = args[:n], args[n:]
        outs = [o for o in _diff_outputs(func, ins) if o._requires_grad]
        diff_ins = [x for x in ins if getattr(x, "_requires_grad", False)]
        gs = grad(outs, diff_ins, list(gos), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
