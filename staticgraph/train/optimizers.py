"""TF1 optimizers with the exact update formulas of TF's ``Apply*`` kernels, built as ordinary
graph nodes (registry ops + ``Assign*``), so the compiler sees and fuses the whole train step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import ops
from ..gradients import gradients
from ..graph.core import Operation, Tensor
from ..graph.frontend import as_graph_tensor, convert, make_const
from ..variables import (
    TRAINABLE_VARIABLES,
    Variable,
    assign,
    assign_add,
    assign_sub,
    group,
    variable_of,
)

GATE_NONE, GATE_OP, GATE_GRAPH = 0, 1, 2


class Optimizer:
    """Base class: ``compute_gradients`` + ``apply_gradients`` = ``minimize``."""

    GATE_NONE, GATE_OP, GATE_GRAPH = GATE_NONE, GATE_OP, GATE_GRAPH

    def __init__(self, use_locking: bool, name: str) -> None:
        self._name = name
        self._slots: dict[str, dict[Variable, Variable]] = {}
        self._non_slot: dict[str, Variable] = {}

    # --------------------------------------------------------------------- public
    def compute_gradients(self, loss: Any, var_list: Sequence[Any] | None = None,
                          gate_gradients: int = GATE_OP, aggregation_method: Any = None,
                          colocate_gradients_with_ops: bool = False,
                          grad_loss: Any = None) -> list[tuple[Tensor | None, Variable]]:
        """``[(gradient or None, variable)]`` for ``var_list`` (default: trainable variables)."""
        loss_t = as_graph_tensor(loss)
        if loss_t is None:
            raise TypeError(f"loss must be a graph Tensor, got {loss!r}")
        if var_list is None:
            var_list = loss_t.graph.get_collection(TRAINABLE_VARIABLES)
        variables = []
        for v in var_list:
            var = variable_of(v)
            if var is None:
                raise TypeError(f"Argument is not a Variable: {v!r}")
            variables.append(var)
        if not variables:
            raise ValueError("No variables to optimize.")
        if not loss_t.dtype.is_floating:
            raise ValueError(f"Invalid type {loss_t.dtype.name} for {loss_t.name}, expected: "
                             "float32/float64.")
        grads = gradients(loss_t, variables, grad_ys=grad_loss)
        return list(zip(grads, variables, strict=False))

    def apply_gradients(self, grads_and_vars: Sequence[tuple[Any, Any]],
                        global_step: Any = None, name: str | None = None) -> Operation:
        """The update op for each ``(grad, var)`` with a gradient; bumps ``global_step``."""
        pairs = [(g, variable_of(v)) for g, v in grads_and_vars]
        for _, v in pairs:
            if v is None:
                raise TypeError("apply_gradients needs (gradient, Variable) pairs")
        live = [(g, v) for g, v in pairs if g is not None]
        if not live:
            raise ValueError(f"No gradients provided for any variable, check your graph for ops "
                             f"that do not support gradients, between variables "
                             f"{[v.name for _, v in pairs]} and loss.")
        graph = live[0][1].graph
        with graph.name_scope(None):
            self._create_slots([v for _, v in live])
        with graph.name_scope(name or self._name) as scope:
            self._prepare(graph)
            updates = []
            for g, v in live:
                with graph.name_scope("update_" + v.op.name):
                    gt = convert(g, graph, v.dtype)
                    updates.append(self._apply_dense(gt, v))
            if global_step is None:
                return self._finish(updates, scope)
            finish = self._finish(updates, "update")
            with graph.control_dependencies([finish]):
                return assign_add(global_step, np.asarray(1, global_step.dtype.np_dtype),
                                  name=scope).op

    def minimize(self, loss: Any, global_step: Any = None, var_list: Sequence[Any] | None = None,
                 gate_gradients: int = GATE_OP, aggregation_method: Any = None,
                 colocate_gradients_with_ops: bool = False, name: str | None = None,
                 grad_loss: Any = None) -> Operation:
        gv = self.compute_gradients(loss, var_list, grad_loss=grad_loss)
        if all(g is None for g, _ in gv):
            raise ValueError(f"No gradients provided for any variable, check your graph for ops "
                             f"that do not support gradients, between variables "
                             f"{[v.name for _, v in gv]} and loss {as_graph_tensor(loss)}.")
        return self.apply_gradients(gv, global_step=global_step, name=name)

    def get_name(self) -> str:
        return self._name

    def get_slot(self, var: Any, name: str) -> Variable | None:
        return self._slots.get(name, {}).get(variable_of(var))

    def get_slot_names(self) -> list[str]:
        return sorted(self._slots)

    def variables(self) -> list[Variable]:
        out = list(self._non_slot.values())
        for d in self._slots.values():
            out.extend(d.values())
        return out

    # -------------------------------------------------------------- for subclasses
    def _zeros_slot(self, var: Variable, slot: str, op_name: str) -> Variable:
        d = self._slots.setdefault(slot, {})
        if var not in d:
            d[var] = Variable(np.zeros(var.shape.as_list(), var.dtype.np_dtype),
                              trainable=False, name=f"{var.op.name}/{op_name}")
        return d[var]

    def _const_slot(self, var: Variable, slot: str, op_name: str, value: float) -> Variable:
        d = self._slots.setdefault(slot, {})
        if var not in d:
            d[var] = Variable(np.full(var.shape.as_list(), value, var.dtype.np_dtype),
                              trainable=False, name=f"{var.op.name}/{op_name}")
        return d[var]

    def _create_slots(self, var_list: list[Variable]) -> None:
        pass

    def _prepare(self, graph: Any) -> None:
        pass

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        raise NotImplementedError

    def _finish(self, update_ops: list[Any], name: str) -> Operation:
        return group(*update_ops, name=name)


def _scalar(value: Any, graph: Any, dtype: Any, name: str) -> Tensor:
    t = as_graph_tensor(value)
    if t is not None:
        return t if t.dtype == dtype else ops.cast(t, dtype.np_dtype)
    return make_const(graph, np.asarray(value, dtype.np_dtype), name)


class GradientDescentOptimizer(Optimizer):
    """``var -= grad * lr``."""

    def __init__(self, learning_rate: Any, use_locking: bool = False,
                 name: str = "GradientDescent") -> None:
        super().__init__(use_locking, name)
        self._lr = learning_rate

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        lr = _scalar(self._lr, var.graph, var.dtype, "learning_rate")
        return assign_sub(var, ops.mul(grad, lr))


class MomentumOptimizer(Optimizer):
    """``accum = accum * momentum + grad; var -= accum * lr`` (Nesterov:
    ``var -= grad * lr + accum * momentum * lr``)."""

    def __init__(self, learning_rate: Any, momentum: Any, use_locking: bool = False,
                 name: str = "Momentum", use_nesterov: bool = False) -> None:
        super().__init__(use_locking, name)
        self._lr, self._momentum, self._nesterov = learning_rate, momentum, use_nesterov

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        lr = _scalar(self._lr, var.graph, var.dtype, "learning_rate")
        mom = _scalar(self._momentum, var.graph, var.dtype, "momentum")
        acc = self.get_slot(var, "momentum")
        acc_new = assign(acc, ops.add(ops.mul(acc, mom), grad))
        if self._nesterov:
            step = ops.add(ops.mul(grad, lr), ops.mul(ops.mul(acc_new, mom), lr))
        else:
            step = ops.mul(acc_new, lr)
        return assign_sub(var, step)


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

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        g_, dt = var.graph, var.dtype
        lr = _scalar(self._lr, g_, dt, "learning_rate")
        rho = _scalar(self._decay, g_, dt, "decay")
        mom_c = _scalar(self._momentum, g_, dt, "momentum")
        eps = _scalar(self._eps, g_, dt, "epsilon")
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
