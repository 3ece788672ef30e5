"""TF1 optimizers with the exact update formulas of TF's ``Apply*`` kernels, built as ordinary
graph nodes (registry ops + ``Assign*``), so the compiler sees and fuses the whole train step.
This module: the base class (with TF's dense/sparse dispatch), plain gradient descent and
momentum; Adam, Adagrad, RMSProp live in :mod:`.optimizers_adaptive`.

Sparse gradients (an :class:`IndexedSlices`, from ``tf.gather``/``embedding_lookup``) are
applied as TF's ``_apply_sparse_duplicate_indices``: duplicate ids summed, then each optimizer's
``SparseApply*`` formula on the looked-up rows only -- the other rows of the variable and of its
slots keep their values (a dense zero gradient would decay the slots and move them). Here the
summed rows are a dense tensor (zeros elsewhere) and the rows a mask, so the update is dense
work over the whole variable, with the values of TF's sparse kernels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import ops
from ..gradients import gradients
from ..graph.core import Operation, Tensor
from ..graph.frontend import as_graph_tensor, convert, make_const
from ..graph.indexed_slices import IndexedSlices, to_dense
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
                    if isinstance(g, IndexedSlices):
                        updates.append(self._apply_sparse_duplicate_indices(g, v))
                    else:
                        updates.append(self._apply_dense(convert(g, graph, v.dtype), v))
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

    def _apply_sparse_duplicate_indices(self, grad: IndexedSlices, var: Variable) -> Any:
        """TF: duplicate indices summed, then the sparse update, :meth:`_apply_sparse_rows`
        (``grad``: the summed rows, zeros elsewhere; ``hit``: a boolean of ``var``'s shape, true
        on the looked-up rows)."""
        if grad.dtype != var.dtype:
            raise TypeError(f"IndexedSlices gradient of dtype {grad.dtype.name} for variable "
                            f"{var.name} of dtype {var.dtype.name}")
        like = var._as_graph_tensor()
        summed = to_dense(IndexedSlices(grad.values, grad.indices, grad.dense_shape, like))
        ones = ops.ones_like(grad.values)
        hit = ops.gt(to_dense(IndexedSlices(ones, grad.indices, grad.dense_shape, like)), 0.0)
        return self._apply_sparse_rows(summed, hit, var)

    def _apply_sparse_rows(self, grad: Tensor, hit: Tensor, var: Variable) -> Any:
        """An optimizer without a sparse formula (a user's subclass): the dense update of the
        summed rows (TF would call its ``_apply_sparse`` with the deduplicated slices)."""
        return self._apply_dense(grad, var)

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

    def _apply_sparse_duplicate_indices(self, grad: IndexedSlices, var: Variable) -> Any:
        """TF: ``var.scatter_sub(values * lr)`` at the indices, duplicates not merged first."""
        lr = _scalar(self._lr, var.graph, var.dtype, "learning_rate")
        delta = IndexedSlices(ops.mul(grad.values, lr), grad.indices, grad.dense_shape,
                              var._as_graph_tensor())
        return assign_sub(var, to_dense(delta))


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

    def _apply_sparse_rows(self, grad: Tensor, hit: Tensor, var: Variable) -> Tensor:
        """``SparseApplyMomentum``: the formulas above on the looked-up rows only."""
        lr = _scalar(self._lr, var.graph, var.dtype, "learning_rate")
        mom = _scalar(self._momentum, var.graph, var.dtype, "momentum")
        acc = self.get_slot(var, "momentum")
        acc_new = assign(acc, ops.where(hit, ops.add(ops.mul(acc, mom), grad), acc))
        if self._nesterov:
            step = ops.add(ops.mul(grad, lr), ops.mul(ops.mul(acc_new, mom), lr))
        else:
            step = ops.mul(acc_new, lr)
        return assign(var, ops.where(hit, ops.sub(var, step), var))
