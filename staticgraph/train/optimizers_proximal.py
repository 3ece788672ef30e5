"""TF1's FTRL-Proximal and proximal Adagrad optimizers (``tf.train.FtrlOptimizer``,
``tf.train.ProximalAdagradOptimizer``) with the formulas of TF's ``ApplyFtrl(V2)``/
``ApplyProximalAdagrad`` kernels for dense gradients and of ``SparseApply*`` (the same formulas
on the looked-up rows only, duplicate ids summed first) for :class:`IndexedSlices` ones; see
:mod:`.optimizers` for the base class and how a sparse gradient arrives."""

from __future__ import annotations

from numbers import Real
from typing import Any

from .. import ops
from ..graph.core import Tensor
from ..variables import Variable, assign
from .optimizers import Optimizer, _scalar


def _rows(hit: Tensor | None, new: Tensor, old: Any) -> Tensor:
    """``new`` on the looked-up rows (all rows for a dense gradient), ``old`` elsewhere."""
    return new if hit is None else ops.where(hit, new, old)


class FtrlOptimizer(Optimizer):
    """TF1 ``ApplyFtrl``: ``n' = n + g^2``; ``z += g - (n'^-p - n^-p) / lr * var``;
    ``var = (l1 sign(z) - z) / (n'^-p / lr + 2 l2)`` where ``|z| > l1``, else 0 (``p`` the
    ``learning_rate_power``, ``-0.5``: square roots). ``l2_shrinkage_regularization_strength``
    (``ApplyFtrlV2``) adds ``2 * shrinkage * var`` to the gradient in ``z`` only; ``beta`` adds
    ``beta / (2 lr)`` to ``l2``. Slots: ``accum`` (starts at ``initial_accumulator_value``),
    ``linear`` (zeros)."""

    def __init__(self, learning_rate: Any, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, use_locking: bool = False,
                 name: str = "Ftrl", accum_name: str | None = None,
                 linear_name: str | None = None,
                 l2_shrinkage_regularization_strength: float = 0.0,
                 beta: float | None = None) -> None:
        super().__init__(use_locking, name)
        checks = (("initial_accumulator_value", initial_accumulator_value, "positive or zero"),
                  ("learning_rate_power", -learning_rate_power, "negative or zero"),
                  ("l1_regularization_strength", l1_regularization_strength, "positive or zero"),
                  ("l2_regularization_strength", l2_regularization_strength, "positive or zero"),
                  ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                   "positive or zero"))
        for what, value, rule in checks:
            if value < 0.0:
                shown = -value if what == "learning_rate_power" else value
                raise ValueError(f"{what} {shown:f} needs to be {rule}")
        self._lr, self._power = learning_rate, float(learning_rate_power)
        self._init_acc = float(initial_accumulator_value)
        self._l1, self._l2 = float(l1_regularization_strength), float(l2_regularization_strength)
        self._shrink = float(l2_shrinkage_regularization_strength)
        self._beta = 0.0 if beta is None else float(beta)
        self._accum_name, self._linear_name = accum_name, linear_name

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._const_slot(v, "accum", self._accum_name or self._name, self._init_acc)
            self._zeros_slot(v, "linear", self._linear_name or self._name)

    def _update(self, grad: Tensor, var: Variable, hit: Tensor | None) -> Tensor:
        g_, dt = var.graph, var.dtype
        lr = _scalar(self._lr, g_, dt, "learning_rate")
        l1 = _scalar(self._l1, g_, dt, "l1_regularization_strength")
        l2 = _scalar(self._l2, g_, dt, "l2_regularization_strength")
        if self._beta:  # TF: l2 + beta / (2 lr)
            l2 = ops.add(l2, ops.div(_scalar(self._beta, g_, dt, "beta"), ops.mul(lr, 2.0)))
        accum, linear = self.get_slot(var, "accum"), self.get_slot(var, "linear")
        new_accum = ops.add(accum, ops.square(grad))
        if self._power == -0.5:
            root_new, root_old = ops.sqrt(new_accum), ops.sqrt(accum)
        else:
            p = _scalar(-self._power, g_, dt, "learning_rate_power")
            root_new, root_old = ops.pow(new_accum, p), ops.pow(accum, p)
        g_lin = grad
        if self._shrink:  # ApplyFtrlV2
            g_lin = ops.add(grad, ops.mul(ops.mul(
                _scalar(self._shrink, g_, dt, "l2_shrinkage_regularization_strength"), 2.0), var))
        sigma = ops.mul(ops.div(ops.sub(root_new, root_old), lr), var)
        lin_new = assign(linear, _rows(hit, ops.add(linear, ops.sub(g_lin, sigma)), linear))
        x = ops.sub(ops.mul(l1, ops.sign(lin_new)), lin_new)
        y = ops.add(ops.div(root_new, lr), ops.mul(l2, 2.0))
        var_new = ops.where(ops.gt(ops.abs(lin_new), l1), ops.div(x, y), ops.zeros_like(x))
        with g_.control_dependencies([lin_new.op]):
            acc_new = assign(accum, _rows(hit, new_accum, accum))
        with g_.control_dependencies([acc_new.op]):
            return assign(var, _rows(hit, var_new, var))

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        return self._update(grad, var, None)

    def _apply_sparse_rows(self, grad: Tensor, hit: Tensor, var: Variable) -> Tensor:
        """``SparseApplyFtrl(V2)``: the dense formulas on the looked-up rows only."""
        return self._update(grad, var, hit)


class ProximalAdagradOptimizer(Optimizer):
    """TF1 ``ApplyProximalAdagrad``: ``accum += g^2``; ``a = lr / sqrt(accum)``;
    ``p = var - a g``; ``var = sign(p) max(|p| - a l1, 0) / (1 + a l2)`` (``l1 > 0``), else
    ``p / (1 + a l2)``. Slot ``accumulator`` starts at ``initial_accumulator_value``."""

    def __init__(self, learning_rate: Any, initial_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, use_locking: bool = False,
                 name: str = "ProximalAdagrad") -> None:
        super().__init__(use_locking, name)
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: "
                             f"{initial_accumulator_value}")
        self._lr, self._init_acc = learning_rate, initial_accumulator_value
        self._l1, self._l2 = l1_regularization_strength, l2_regularization_strength

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._const_slot(v, "accumulator", self._name, self._init_acc)

    def _update(self, grad: Tensor, var: Variable, hit: Tensor | None) -> Tensor:
        g_, dt = var.graph, var.dtype
        lr = _scalar(self._lr, g_, dt, "learning_rate")
        l1 = _scalar(self._l1, g_, dt, "l1_regularization_strength")
        l2 = _scalar(self._l2, g_, dt, "l2_regularization_strength")
        acc = self.get_slot(var, "accumulator")
        acc_new = assign(acc, _rows(hit, ops.add(acc, ops.square(grad)), acc))
        rate = ops.mul(lr, ops.reciprocal(ops.sqrt(acc_new)))  # TF: lr * accum.rsqrt()
        prox = ops.sub(var, ops.mul(grad, rate))
        denom = ops.add(ops.mul(l2, rate), 1.0)
        shrunk = ops.div(ops.mul(ops.sign(prox), ops.maximum(
            ops.sub(ops.abs(prox), ops.mul(rate, l1)), ops.zeros_like(prox))), denom)
        plain = ops.div(prox, denom)
        if isinstance(self._l1, Real):
            new = shrunk if self._l1 > 0 else plain
        else:
            new = ops.where(ops.gt(l1, 0.0), shrunk, plain)
        return assign(var, _rows(hit, new, var))

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        return self._update(grad, var, None)

    def _apply_sparse_rows(self, grad: Tensor, hit: Tensor, var: Variable) -> Tensor:
        """``SparseApplyProximalAdagrad``: the dense formulas on the looked-up rows only."""
        return self._update(grad, var, hit)
