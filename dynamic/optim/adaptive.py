"""``AdamW``, ``RMSprop``, ``Adagrad`` and ``Adadelta`` with PyTorch's exact update formulas.

Each ``step`` follows PyTorch's ``_single_tensor_*`` path (the one it takes for CPU tensors) in
the same order of operations, on the parameters' numpy storage in their own dtype: PyTorch's
``a.mul_(r).addcmul_(g, g, value=1 - r)`` is ``a * r + (1 - r) * g * g`` evaluated left to
right, and ``p.addcdiv_(g, d, value=-lr)`` is ``p + -lr * (g / d)``. State is kept as numpy
arrays and converted at the boundary by ``state.py`` (so ``state_dict()`` has PyTorch's layout).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._core import Adam, Optimizer, _step


def _check(name: str, value: float, low: float = 0.0) -> None:
    if not low <= value:
        raise ValueError(f"Invalid {name}: {value}")


class _Adaptive(Optimizer):
    """The step loop the adaptive optimizers share: for each parameter with a gradient, its
    state (``_init`` on first use), ``step`` counted, then ``_apply``: ``p += _delta(...)`` in
    place (``adam_variants`` overrides ``_grad_of`` and ``_apply``)."""

    def _init(self, st: dict, p: Any, g: dict) -> None:
        raise NotImplementedError

    def _delta(self, grad: np.ndarray, st: dict, g: dict) -> np.ndarray:
        raise NotImplementedError

    def _grad_of(self, p: Any, g: dict) -> np.ndarray:
        """The gradient the update sees (:func:`_grad`)."""
        return _grad(p, g)

    def _apply(self, p: Any, grad: np.ndarray, st: dict, g: dict) -> None:
        _step(p, self._delta(grad, st, g))

    def step(self, closure: Callable | None = None) -> Any:
        loss = self._closure(closure)
        for g in self.param_groups:
            for p in g["params"]:
                if p._grad is None:
                    continue
                st = self.state.setdefault(p, {})
                if not st:
                    st["step"] = 0
                    self._init(st, p, g)
                st["step"] += 1
                self._apply(p, self._grad_of(p, g), st, g)
        return loss


def _grad(p: Any, g: dict) -> np.ndarray:
    """The gradient as the update sees it: negated for ``maximize``, plus L2 weight decay."""
    grad = p._grad._data
    if g["maximize"]:
        grad = -grad
    if g["weight_decay"] != 0:
        grad = grad + p._data * g["weight_decay"]
    return grad


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * weight_decay``
    before the Adam update, which then runs without L2 decay (``Adam.step`` with
    ``_decoupled``, as PyTorch's ``Adam(decoupled_weight_decay=True)``)."""

    _decoupled = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, **_: Any) -> None:
        _check("weight_decay value", weight_decay)
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


class RMSprop(_Adaptive):
    """RMSprop (Hinton), optionally centered and with momentum, as PyTorch computes it."""

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False, **_: Any) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        _check("alpha value", alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _init(self, st: dict, p: Any, g: dict) -> None:
        st["square_avg"] = np.zeros_like(p._data)
        if g["momentum"] > 0:
            st["momentum_buffer"] = np.zeros_like(p._data)
        if g["centered"]:
            st["grad_avg"] = np.zeros_like(p._data)

    def _delta(self, grad: np.ndarray, st: dict, g: dict) -> np.ndarray:
        lr, alpha, eps, mom = g["lr"], g["alpha"], g["eps"], g["momentum"]
        sq = st["square_avg"] = st["square_avg"] * alpha + (1 - alpha) * grad * grad
        if g["centered"]:
            ga = st["grad_avg"]
            ga = st["grad_avg"] = ga + (grad - ga) * (1 - alpha)
            avg = np.sqrt(sq + -1 * ga * ga)
        else:
            avg = np.sqrt(sq)
        avg = avg + eps
        if mom > 0:
            buf = st["momentum_buffer"] = st["momentum_buffer"] * mom + grad / avg
            return buf * -lr
        return -lr * (grad / avg)


class Adagrad(_Adaptive):
    """Adagrad (Duchi et al.) with learning-rate decay, as PyTorch computes it."""

    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False, **_: Any) -> None:
        _check("learning rate", lr)
        _check("lr_decay value", lr_decay)
        _check("weight_decay value", weight_decay)
        _check("initial_accumulator_value value", initial_accumulator_value)
        _check("epsilon value", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))
        for g in self.param_groups:  # PyTorch fills the state at construction
            for p in g["params"]:
                self.state[p] = {"step": 0}
                self._init(self.state[p], p, g)

    def _init(self, st: dict, p: Any, g: dict) -> None:
        st["sum"] = np.full_like(p._data, g["initial_accumulator_value"])

    def _delta(self, grad: np.ndarray, st: dict, g: dict) -> np.ndarray:
        clr = g["lr"] / (1 + (st["step"] - 1) * g["lr_decay"])
        s = st["sum"] = st["sum"] + 1 * grad * grad
        return -clr * (grad / (np.sqrt(s) + g["eps"]))


class Adadelta(_Adaptive):
    """Adadelta (Zeiler), as PyTorch computes it (``lr`` scales the update, default 1.0)."""

    def __init__(self, params: Any, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False, **_: Any) -> None:
        _check("learning rate", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check("epsilon value", eps)
        _check("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _init(self, st: dict, p: Any, g: dict) -> None:
        st["square_avg"] = np.zeros_like(p._data)
        st["acc_delta"] = np.zeros_like(p._data)

    def _delta(self, grad: np.ndarray, st: dict, g: dict) -> np.ndarray:
        rho, eps = g["rho"], g["eps"]
        sq = st["square_avg"] = st["square_avg"] * rho + (1 - rho) * grad * grad
        delta = np.sqrt(st["acc_delta"] + eps) / np.sqrt(sq + eps) * grad
        st["acc_delta"] = st["acc_delta"] * rho + (1 - rho) * delta * delta
        return -g["lr"] * delta
