"""TF1's adaptive optimizers (Adam, Adagrad, RMSProp) with the formulas of TF's ``Apply*``
kernels for dense gradients and of its sparse paths (``SparseApply*``, Adam's
``_apply_sparse_shared``) for :class:`IndexedSlices` ones; see :mod:`.optimizers` for the base
class and how a sparse gradient arrives (``grad``: summed rows, ``hit``: the looked-up rows)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..graph.core import Operation, Tensor
from ..variables import Variable, assign, assign_add, assign_sub, group
from .optimizers import Optimizer, _scalar


class AdamOptimizer(Optimizer):
    """TF1 ``ApplyAdam``: ``alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``,
    ``m += (g - m) * (1 - beta1)``, ``v += (g*g - v) * (1 - beta2)``,
    ``var -= m * alpha / (sqrt(v) + epsilon)``; ``beta*_power`` advance after the updates."""

    def __init__(self, learning_rate: Any = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, use_locking: bool = False, name: str = "Adam") -> None:
        super().__init__(use_locking, name)
        self._lr, self._beta1, self._beta2, self._eps = learning_rate, beta1, beta2, epsilon

    def _create_slots(self, var_list: list[Variable]) -> None:
        first = min(var_list, key=lambda v: v.name)
        if "beta1_power" not in self._non_slot:
            dt = first.dtype.np_dtype
            self._non_slot["beta1_power"] = Variable(np.asarray(self._beta1, dt),
                                                     trainable=False, name="beta1_power")
            self._non_slot["beta2_power"] = Variable(np.asarray(self._beta2, dt),
                                                     trainable=False, name="beta2_power")
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _prepare(self, graph: Any) -> None:
        self._alpha: dict[Any, Tensor] = {}

    def _consts(self, var: Variable) -> tuple:
        g, dt = var.graph, var.dtype
        key = dt
        if key not in self._alpha:
            lr = _scalar(self._lr, g, dt, "learning_rate")
            b1p = self._non_slot["beta1_power"]._as_graph_tensor()
            b2p = self._non_slot["beta2_power"]._as_graph_tensor()
            if b1p.dtype != dt:
                b1p, b2p = ops.cast(b1p, dt.np_dtype), ops.cast(b2p, dt.np_dtype)
            alpha = ops.div(ops.mul(lr, ops.sqrt(ops.sub(1.0, b2p))), ops.sub(1.0, b1p))
            self._alpha[key] = alpha
        b1 = _scalar(self._beta1, g, dt, "beta1")
        b2 = _scalar(self._beta2, g, dt, "beta2")
        eps = _scalar(self._eps, g, dt, "epsilon")
        return self._alpha[key], b1, b2, eps

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        alpha, b1, b2, eps = self._consts(var)
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        m_new = assign(m, ops.add(m, ops.mul(ops.sub(grad, m), ops.sub(1.0, b1))))
        v_new = assign(v, ops.add(v, ops.mul(ops.sub(ops.square(grad), v), ops.sub(1.0, b2))))
        step = ops.div(ops.mul(m_new, alpha), ops.add(ops.sqrt(v_new), eps))
        return assign_sub(var, step)

    def _apply_sparse_rows(self, grad: Tensor, hit: Tensor, var: Variable) -> Tensor:
        """TF's ``_apply_sparse_shared``: ``m = m * beta1`` then the rows' ``g * (1 - beta1)``
        added (``v`` likewise with ``g * g``); every row of ``var`` moves, as in the dense
        update (``grad`` is zero off the looked-up rows)."""
        alpha, b1, b2, eps = self._consts(var)
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        m_new = assign(m, ops.add(ops.mul(m, b1), ops.mul(grad, ops.sub(1.0, b1))))
        v_new = assign(v, ops.add(ops.mul(v, b2), ops.mul(ops.mul(grad, grad),
                                                          ops.sub(1.0, b2))))
        step = ops.div(ops.mul(alpha, m_new), ops.add(ops.sqrt(v_new), eps))
        return assign_sub(var, step)

    def _finish(self, update_ops: list[Any], name: str) -> Operation:
        b1p, b2p = self._non_slot["beta1_power"], self._non_slot["beta2_power"]
        graph = b1p.graph
        with graph.control_dependencies(update_ops):
            u1 = assign(b1p, ops.mul(b1p, _scalar(self._beta1, graph, b1p.dtype, "beta1")))
            u2 = assign(b2p, ops.mul(b2p, _scalar(self._beta2, graph, b2p.dtype, "beta2")))
        return group(*update_ops, u1, u2, name=name)


class AdagradOptimizer(Optimizer):
    """TF1 ``ApplyAdagrad``: ``accum += g * g; var -= lr * g / sqrt(accum)``; the ``Adagrad``
    slot starts at ``initial_accumulator_value``."""

    def __init__(self, learning_rate: Any, initial_accumulator_value: float = 0.1,
                 use_locking: bool = False, name: str = "Adagrad") -> None:
        super().__init__(use_locking, name)
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: "
                             f"{initial_accumulator_value}")
        self._lr, self._init_acc = learning_rate, initial_accumulator_value

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._const_slot(v, "accumulator", self._name, self._init_acc)

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        lr = _scalar(self._lr, var.graph, var.dtype, "learning_rate")
        acc = self.get_slot(var, "accumulator")
        acc_new = assign_add(acc, ops.square(grad))
        return assign_sub(var, ops.div(ops.mul(grad, lr), ops.sqrt(acc_new)))

    def _apply_sparse_rows(self, grad: Tensor, hit: Tensor, var: Variable) -> Tensor:
        """``SparseApplyAdagrad``: ``accum += g * g; var -= g * lr / sqrt(accum)`` on the
        looked-up rows only."""
        lr = _scalar(self._lr, var.graph, var.dtype, "learning_rate")
        acc = self.get_slot(var, "accumulator")
        acc_new = assign(acc, ops.where(hit, ops.add(acc, ops.square(grad)), acc))
        step = ops.div(ops.mul(grad, lr), ops.sqrt(acc_new))
        return assign(var, ops.where(hit, ops.sub(var, step), var))


class RMSPropOptimizer(Optimizer):
    """TF1 ``ApplyRMSProp``: ``ms += (g*g - ms) * (1 - decay)``; ``mom = mom * momentum +
    lr * g / sqrt(ms + eps)``; ``var -= mom``. Slots: ``RMSProp`` (ms, starts at 1) and
    ``RMSProp_1`` (momentum, starts at 0). ``centered`` also tracks the mean gradient ``mg``
    (``RMSProp_2``) and divides by ``sqrt(ms - mg*mg + eps)``."""

    def __init__(self, learning_rate: Any, decay: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-10, use_locking: bool = False, centered: bool = False,
                 name: str = "RMSProp") -> None:
        super().__init__(use_locking, name)
        self._lr, self._decay, self._momentum = learning_rate, decay, momentum
        self._eps, self._centered = epsilon, centered

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._const_slot(v, "rms", self._name, 1.0)
            self._zeros_slot(v, "momentum", self._name + "_1")
            if self._centered:
                self._zeros_slot(v, "mg", self._name + "_2")

    def _hyper(self, var: Variable) -> tuple:
        """Learning rate, decay, momentum and epsilon as constants of ``var``'s dtype."""
        g_, dt = var.graph, var.dtype
        return (_scalar(self._lr, g_, dt, "learning_rate"), _scalar(self._decay, g_, dt, "decay"),
                _scalar(self._momentum, g_, dt, "momentum"), _scalar(self._eps, g_, dt, "epsilon"))

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        lr, rho, mom_c, eps = self._hyper(var)
        ms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        ms_new = assign(ms, ops.add(ms, ops.mul(ops.sub(ops.square(grad), ms), ops.sub(1.0, rho))))
        denom = ms_new
        if self._centered:
            mg = self.get_slot(var, "mg")
            mg_new = assign(mg, ops.add(mg, ops.mul(ops.sub(grad, mg), ops.sub(1.0, rho))))
            denom = ops.sub(ms_new, ops.square(mg_new))
        step = ops.div(ops.mul(grad, lr), ops.sqrt(ops.add(denom, eps)))
        mom_new = assign(mom, ops.add(ops.mul(mom, mom_c), step))
        return assign_sub(var, mom_new)

    def _apply_sparse_rows(self, grad: Tensor, hit: Tensor, var: Variable) -> Tensor:
        """``SparseApply(Centered)RMSProp`` on the looked-up rows only: ``ms = ms * rho +
        g*g * (1 - rho)`` (``mg = mg * rho + g * (1 - rho)``), ``mom = mom * momentum + lr * g /
        sqrt(ms + eps (- mg*mg))``, ``var -= mom``; the other rows and slots keep their values."""
        lr, rho, mom_c, eps = self._hyper(var)
        ms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        ms_new = assign(ms, ops.where(hit, ops.add(ops.mul(ms, rho), ops.mul(
            ops.square(grad), ops.sub(1.0, rho))), ms))
        denom = ops.add(ms_new, eps)
        if self._centered:
            mg = self.get_slot(var, "mg")
            mg_new = assign(mg, ops.where(hit, ops.add(ops.mul(mg, rho), ops.mul(
                grad, ops.sub(1.0, rho))), mg))
            denom = ops.sub(denom, ops.square(mg_new))
        step = ops.div(ops.mul(lr, grad), ops.sqrt(denom))
        mom_new = assign(mom, ops.where(hit, ops.add(ops.mul(mom, mom_c), step), mom))
        return assign(var, ops.where(hit, ops.sub(var, mom_new), var))
