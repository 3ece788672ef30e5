"""TF1's ``tf.train.AdadeltaOptimizer`` with the formulas of TF's ``ApplyAdadelta`` kernel for
dense gradients and of ``SparseApplyAdadelta`` (the same on the looked-up rows only, duplicate
ids summed first) for :class:`IndexedSlices` ones; see :mod:`.optimizers` for the base class."""

from __future__ import annotations

from typing import Any

from .. import ops
from ..graph.core import Tensor
from ..variables import Variable, assign
from .optimizers import Optimizer, _scalar


class AdadeltaOptimizer(Optimizer):
    """``accum = accum rho + g^2 (1 - rho)``; ``u = sqrt(accum_update + eps) / sqrt(accum +
    eps) g``; ``var -= u lr``; ``accum_update = accum_update rho + u^2 (1 - rho)``. Slots
    ``accum`` and ``accum_update`` (zeros; variables ``<var>/Adadelta``, ``<var>/Adadelta_1``)."""

    def __init__(self, learning_rate: Any = 0.001, rho: Any = 0.95, epsilon: Any = 1e-8,
                 use_locking: bool = False, name: str = "Adadelta") -> None:
        super().__init__(use_locking, name)
        self._lr, self._rho, self._eps = learning_rate, rho, epsilon

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._zeros_slot(v, "accum", self._name)
            self._zeros_slot(v, "accum_update", self._name)

    def _update(self, grad: Tensor, var: Variable, hit: Tensor | None) -> Tensor:
        g_, dt = var.graph, var.dtype
        lr = _scalar(self._lr, g_, dt, "learning_rate")
        rho = _scalar(self._rho, g_, dt, "rho")
        eps = _scalar(self._eps, g_, dt, "epsilon")
        acc, acc_up = self.get_slot(var, "accum"), self.get_slot(var, "accum_update")

        def rows(new: Tensor, old: Any) -> Tensor:
            return new if hit is None else ops.where(hit, new, old)
        acc_new = assign(acc, rows(ops.add(ops.mul(acc, rho), ops.mul(
            ops.square(grad), ops.sub(1.0, rho))), acc))
        update = ops.mul(ops.mul(ops.sqrt(ops.add(acc_up, eps)),
                                 ops.reciprocal(ops.sqrt(ops.add(acc_new, eps)))), grad)
        var_new = assign(var, rows(ops.sub(var, ops.mul(update, lr)), var))
        with g_.control_dependencies([var_new.op]):
            up_new = assign(acc_up, rows(ops.add(ops.mul(acc_up, rho), ops.mul(
                ops.square(update), ops.sub(1.0, rho))), acc_up))
        return up_new  # runs after (and so with) the variable's update

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        return self._update(grad, var, None)

    def _apply_sparse_rows(self, grad: Tensor, hit: Tensor, var: Variable) -> Tensor:
        """``SparseApplyAdadelta``: the dense formulas on the looked-up rows only."""
        return self._update(grad, var, hit)
