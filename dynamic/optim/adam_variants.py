"""``Adamax``, ``NAdam`` and ``RAdam`` with PyTorch's exact update formulas.

Each follows PyTorch's ``_single_tensor_*`` path (its CPU path without ``capturable``) in the
same order of operations, on the parameters' numpy storage in their own dtype, like
``adaptive.py``: ``exp_avg.lerp_(grad, 1 - beta1)`` is ``m + (1 - beta1) * (grad - m)``,
``p.addcdiv_(a, d, value=v)`` is ``p + v * (a / d)``. State is numpy arrays (``state.py``
converts them to tensors for ``state_dict()``); NAdam's ``mu_product`` is a number.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._core import _write
from .adaptive import _Adaptive, _check, _grad


def _betas(betas: tuple) -> None:
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


class _AdamLike(_Adaptive):
    """The shared checks, state and (for NAdam/RAdam) decoupled weight decay."""

    def __init__(self, params: Any, defaults: dict) -> None:
        _check("learning rate", defaults["lr"])
        _check("epsilon value", defaults["eps"])
        _betas(defaults["betas"])
        _check("weight_decay value", defaults["weight_decay"])
        super().__init__(params, defaults)

    def _init(self, st: dict, p: Any, g: dict) -> None:
        st["exp_avg"] = np.zeros_like(p._data)
        st["exp_avg_sq"] = np.zeros_like(p._data)

    def _grad_of(self, p: Any, g: dict) -> np.ndarray:
        """The gradient after ``maximize`` and weight decay: L2 (added to the gradient) or
        decoupled (``p *= 1 - lr * weight_decay`` first)."""
        if g.get("decoupled_weight_decay") and g["weight_decay"] != 0:
            _write(p, p._data * (1 - g["lr"] * g["weight_decay"]))
            return _grad(p, {**g, "weight_decay": 0})
        return _grad(p, g)

    def _apply(self, p: Any, grad: np.ndarray, st: dict, g: dict) -> None:
        """``p`` replaced by ``_update``'s new value (PyTorch's in-place formula, evaluated
        in its order)."""
        _write(p, self._update(p._data, grad, st, g))

    def _update(self, p: np.ndarray, grad: np.ndarray, st: dict, g: dict) -> np.ndarray:
        raise NotImplementedError


class Adamax(_AdamLike):
    """Adam with the infinity norm (Kingma & Ba, section 7)."""

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, *, maximize: bool = False,
                 **_: Any) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _init(self, st: dict, p: Any, g: dict) -> None:
        st["exp_avg"] = np.zeros_like(p._data)
        st["exp_inf"] = np.zeros_like(p._data)

    def _update(self, p: np.ndarray, grad: np.ndarray, st: dict, g: dict) -> np.ndarray:
        (b1, b2), eps, lr = g["betas"], g["eps"], g["lr"]
        m = st["exp_avg"]
        m = st["exp_avg"] = m + (1 - b1) * (grad - m)
        u = st["exp_inf"] = np.maximum(st["exp_inf"] * b2, np.abs(grad) + eps)
        clr = lr / (1 - b1 ** st["step"])
        return p + -clr * (m / u)


class NAdam(_AdamLike):
    """Adam with Nesterov momentum (Dozat), PyTorch's momentum-decay schedule."""

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False,
                 **_: Any) -> None:
        _check("momentum_decay value", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _init(self, st: dict, p: Any, g: dict) -> None:
        super()._init(st, p, g)
        st["mu_product"] = 1.0

    def _update(self, p: np.ndarray, grad: np.ndarray, st: dict, g: dict) -> np.ndarray:
        (b1, b2), eps, lr, md = g["betas"], g["eps"], g["lr"], g["momentum_decay"]
        step = float(st["step"])
        bc2 = 1 - b2 ** step
        mu = b1 * (1.0 - 0.5 * (0.96 ** (step * md)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * md)))
        # ``mu_product`` is a float32 tensor in PyTorch: ``mu_product *= mu`` in float32
        mp = st["mu_product"] = float(np.float32(st["mu_product"]) * np.float32(mu))
        m = st["exp_avg"]
        m = st["exp_avg"] = m + (1 - b1) * (grad - m)
        v = st["exp_avg_sq"] = st["exp_avg_sq"] * b2 + (1 - b2) * grad * grad
        denom = np.sqrt(v / bc2) + eps
        p = p + (-lr * (1.0 - mu) / (1.0 - mp)) * (grad / denom)
        return p + ((-lr * mu_next) / (1.0 - mp * mu_next)) * (m / denom)


class RAdam(_AdamLike):
    """Rectified Adam (Liu et al.): plain momentum steps while the variance is untrusted."""

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False,
                 **_: Any) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p: np.ndarray, grad: np.ndarray, st: dict, g: dict) -> np.ndarray:
        (b1, b2), eps, lr = g["betas"], g["eps"], g["lr"]
        step = float(st["step"])
        m = st["exp_avg"]
        m = st["exp_avg"] = m + (1 - b1) * (grad - m)
        v = st["exp_avg_sq"] = st["exp_avg_sq"] * b2 + (1 - b2) * grad * grad
        bc1, bc2 = 1 - b1 ** step, 1 - b2 ** step
        mhat = m / bc1
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * step * (b2 ** step) / bc2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                             ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = (bc2 ** 0.5) / (np.sqrt(v) + eps)
            return p - mhat * lr * adaptive * rect
        return p - mhat * lr
