"""The optimizer base, ``SGD`` and ``Adam`` with PyTorch's exact update formulas.

Updates run on the parameters' numpy storage in their own dtype (like PyTorch's
``_single_tensor_*`` paths under ``no_grad``) and bump their version counters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from staticgraph.ops.tiles import TILED_BYTES, add_scaled

from .._tensor import Tensor
from .._typed_scalars import typed
from ..autograd.grad_mode import enable_grad
from . import state as _state

# PyTorch's implementation switches, kept in ``defaults`` (so in ``repr``, ``param_groups`` and
# ``state_dict``) with PyTorch's values; they select kernels there and change nothing here
_FLAGS = dict(foreach=None, capturable=False, differentiable=False, fused=None)
TORCH_FLAGS = {
    "SGD": ("foreach", "differentiable", "fused"),
    "Adam": ("foreach", "capturable", "differentiable", "fused", "decoupled_weight_decay"),
    "AdamW": ("foreach", "capturable", "differentiable", "fused", "decoupled_weight_decay"),
    "RMSprop": ("capturable", "foreach", "differentiable"),
    "Adagrad": ("foreach", "differentiable", "fused"),
    "Adadelta": ("foreach", "capturable", "differentiable"),
}


class Optimizer:
    """Parameter groups, per-parameter ``state``, ``zero_grad`` and ``step``."""

    def __init__(self, params: Any, defaults: dict) -> None:
        flags = {**_FLAGS, "decoupled_weight_decay": type(self).__name__ == "AdamW"}
        defaults = {**defaults, **{k: flags[k] for k in TORCH_FLAGS.get(type(self).__name__, ())
                                   if k not in defaults}}
        self.defaults = defaults
        self.state: dict = {}
        self.param_groups: list[dict] = []
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for g in params:
            self.add_param_group(g)

    def add_param_group(self, group: dict) -> None:
        group = dict(group)
        ps = group["params"]
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in group["params"]:
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        seen = {id(q) for old in self.param_groups for q in old["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                if p._grad is not None:
                    if set_to_none:
                        p._grad = None
                    else:
                        p._grad.zero_()

    def _closure(self, closure: Callable | None) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def state_dict(self) -> dict:
        return _state.state_dict(self)

    def load_state_dict(self, state_dict: dict) -> None:
        _state.load_state_dict(self, state_dict)

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {g[k]}" for k in sorted(g) if k != "params"]
        return "\n".join(lines) + "\n)"


def _write(p: Any, new: np.ndarray) -> None:
    np.copyto(p._data, new, casting="unsafe")
    p._vc[0] += 1


def _step(p: Any, delta: np.ndarray) -> None:
    """``p += delta`` in place (the values of ``p + delta`` written back, one temporary less)."""
    d = p._data
    if d.flags.writeable and delta.dtype == d.dtype and delta.shape == d.shape:
        np.add(d, delta, out=d)
        p._vc[0] += 1
    else:
        _write(p, d + delta)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, weight decay and Nesterov."""

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 **_: Any) -> None:
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def step(self, closure: Callable | None = None) -> Any:
        loss = None if closure is None else self._closure(closure)
        for g in self.param_groups:
            lr, mom, wd, maximize = g["lr"], g["momentum"], g["weight_decay"], g["maximize"]
            plain = mom == 0 and wd == 0 and not maximize  # ``p += grad * -lr``, nothing else
            ndt = neg = None  # ``-lr`` typed for the last dtype seen
            for p in g["params"]:
                gt = p._grad
                if gt is None:
                    continue
                grad = gt._data if plain else self._direction(g, p, gt._data)
                d = p._data
                if d.nbytes > TILED_BYTES and d.flags.writeable and grad.dtype == d.dtype \
                        and grad.shape == d.shape:
                    add_scaled(d, grad, -lr)  # ``p += grad * -lr``, no full-size temporary
                    p._vc[0] += 1
                    continue
                # ``_step``, inlined for small parameters (``-lr`` as an array of ``grad``'s
                # dtype: numpy's cast of the weak float, the same bits without the slow path)
                if grad.dtype is not ndt:
                    ndt = grad.dtype
                    neg = typed(-lr, ndt)
                delta = np.multiply(grad, neg)
                if delta.dtype == d.dtype and delta.shape == d.shape:
                    try:  # (not ``d.flags.writeable``: a flags object per call)
                        np.add(d, delta, out=d)
                    except ValueError:  # a read-only array, left as it was
                        _write(p, d + delta)
                        continue
                    p._vc[0] += 1
                else:
                    _write(p, d + delta)
        return loss

    def _direction(self, g: dict, p: Any, grad: np.ndarray) -> np.ndarray:
        """The step direction for ``p``'s gradient under maximize, weight decay and momentum
        (PyTorch's order), updating the momentum buffer."""
        mom, damp, wd = g["momentum"], g["dampening"], g["weight_decay"]
        if g["maximize"]:
            grad = -grad
        if wd != 0:
            grad = grad + p._data * wd
        if mom != 0:
            st = self.state.setdefault(p, {})
            buf = st.get("momentum_buffer")
            if buf is None:
                buf = np.array(grad, copy=True)
            else:
                buf = buf * mom + grad * (1 - damp)
            st["momentum_buffer"] = buf
            grad = grad + buf * mom if g["nesterov"] else buf
        return grad


class Adam(Optimizer):
    """Adam (Kingma & Ba) as PyTorch computes it, with optional L2 weight decay and AMSGrad."""

    _decoupled = False  # AdamW (adaptive.py) decays the weights instead of the gradient

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, **_: Any) -> None:
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def step(self, closure: Callable | None = None) -> Any:
        loss = self._closure(closure)
        for g in self.param_groups:
            lr, (b1, b2), eps, wd = g["lr"], g["betas"], g["eps"], g["weight_decay"]
            for p in g["params"]:
                if p._grad is None:
                    continue
                grad = p._grad._data
                if g["maximize"]:
                    grad = -grad
                st = self.state.setdefault(p, {})
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = np.zeros_like(p._data)
                    st["exp_avg_sq"] = np.zeros_like(p._data)
                    if g["amsgrad"]:
                        st["max_exp_avg_sq"] = np.zeros_like(p._data)
                st["step"] += 1
                step = st["step"]
                if wd != 0 and self._decoupled:  # AdamW: p *= 1 - lr * wd, then plain Adam
                    _write(p, p._data * (1 - lr * wd))
                elif wd != 0:
                    grad = grad + p._data * wd
                m = st["exp_avg"]
                m = st["exp_avg"] = m + (grad - m) * (1 - b1)
                v = st["exp_avg_sq"] = st["exp_avg_sq"] * b2 + grad * grad * (1 - b2)
                bc1 = 1 - b1**step
                bc2_sqrt = (1 - b2**step) ** 0.5
                if g["amsgrad"]:
                    v = st["max_exp_avg_sq"] = np.maximum(st["max_exp_avg_sq"], v)
                denom = np.sqrt(v) / bc2_sqrt + eps
                _step(p, np.multiply(np.true_divide(m, denom, out=denom), -lr / bc1))
        return loss
