"""Data-parallel training in the graph: :class:`DistributedOptimizer` (gradients averaged across
ranks inside ``Session.run``) and :func:`broadcast_global_variables` (every rank starts from the
root's values), as in Horovod's TF1 API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..gradients import on_gradient_ready
from ..graph.core import Operation, Tensor, get_default_graph
from ..train.optimizers import GATE_OP, Optimizer
from ..variables import GLOBAL_VARIABLES, assign, group, no_op, variable_of
from . import world as W
from .buckets import GradientBuckets
from .graph_ops import Average, grouped_broadcast


class DistributedOptimizer(Optimizer):
    """Wraps ``optimizer``: ``compute_gradients`` returns the gradients reduced across ranks
    (their average by default): fused into buckets in the order the backward produces them,
    each bucket's allreduce started as soon as its gradients are computed and waited for before
    the apply (:mod:`.buckets`); ``apply_gradients`` is the wrapped optimizer's, so each rank
    applies the same update to the same weights."""

    def __init__(self, optimizer: Optimizer, name: str | None = None, use_locking: bool = False,
                 device_dense: str = "", device_sparse: str = "", compression: Any = None,
                 sparse_as_dense: bool = False, op: str = Average) -> None:
        super().__init__(use_locking, name or f"Distributed{type(optimizer).__name__}")
        self._optimizer, self._op = optimizer, op
        W.world("hvd.init()")  # Horovod builds the graph after init() too: fail early

    def compute_gradients(self, loss: Any, var_list: Sequence[Any] | None = None,
                          gate_gradients: int = GATE_OP, aggregation_method: Any = None,
                          colocate_gradients_with_ops: bool = False,
                          grad_loss: Any = None) -> list[tuple[Tensor | None, Any]]:
        args = (loss, var_list, gate_gradients, aggregation_method, colocate_gradients_with_ops,
                grad_loss)
        w = W.world()
        if w.size == 1:
            return self._optimizer.compute_gradients(*args)
        buckets = GradientBuckets(w.fusion_bytes, self._op)
        with on_gradient_ready(buckets.add):
            gv = self._optimizer.compute_gradients(*args)
        return buckets.reduced(list(gv))

    def apply_gradients(self, grads_and_vars: Sequence[tuple[Any, Any]],
                        global_step: Any = None, name: str | None = None) -> Operation:
        return self._optimizer.apply_gradients(grads_and_vars, global_step, name)

    def get_slot(self, var: Any, name: str) -> Any:
        return self._optimizer.get_slot(var, name)

    def get_slot_names(self) -> list[str]:
        return self._optimizer.get_slot_names()

    def variables(self) -> list:
        return self._optimizer.variables()


def broadcast_global_variables(root_rank: int) -> Operation:
    """An op that assigns rank ``root_rank``'s values to every global variable of the default
    graph on every rank (one fused broadcast); run it after the initializer."""
    graph = get_default_graph()
    variables = [variable_of(v) for v in graph.get_collection(GLOBAL_VARIABLES)]
    return broadcast_variables(variables, root_rank)


def broadcast_variables(variables: Sequence[Any], root_rank: int) -> Operation:
    """An op that assigns rank ``root_rank``'s values of ``variables`` on every rank."""
    vs = [variable_of(v) for v in variables]
    if not vs:
        return no_op(name="broadcast_global_variables")
    values = grouped_broadcast(vs, root_rank, name="broadcast_global_variables/Broadcast")
    return group(*[assign(v, b) for v, b in zip(vs, values, strict=True)],
                 name="broadcast_global_variables")


__all__ = ["DistributedOptimizer", "broadcast_global_variables", "broadcast_variables"]
