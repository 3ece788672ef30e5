"""Horovod's collectives as graph ops: ``allreduce``, ``grouped_allreduce``, ``allgather``,
``broadcast``.

Each is a *host op* (``op.host`` is a :class:`Collective`, see :mod:`staticgraph.host_ops`): the
reference executor runs it in creation order, and the compiled executor splits the run around it
(:mod:`staticgraph.compiler.regions`): a compiled stage computes its inputs, the collective runs
on the host over MPI, a compiled stage continues with its outputs fed. ``grouped_allreduce`` is
one op over many tensors, so the world module fuses them into one buffer per MPI call (Horovod's
tensor fusion); :class:`~staticgraph.distributed.optimizer.DistributedOptimizer` uses it for all
the gradients of a step.

Gradients (registered in ``gradients.CUSTOM_GRADIENTS``), as Horovod defines them: an allreduce's
is the same allreduce of the cotangent; a broadcast's is the sum of the cotangents on the root
rank and zero elsewhere; an allgather's is the sum over ranks of the cotangent, sliced back to
this rank's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import ops
from ..control_flow_grad import _cot, _give
from ..gradients import CUSTOM_GRADIENTS
from ..graph.array_ops import identity
from ..graph.core import Graph, Operation, Tensor, get_default_graph
from ..graph.frontend import as_graph_tensor, convert
from ..graph.func_graph import function_graph_for
from ..ops.core import AVal
from . import world as W

# Horovod's reduce ops (``hvd.Average``, ``hvd.Sum``...): names of world.REDUCE_OPS
Average, Sum, Min, Max, Product = "avg", "sum", "min", "max", "product"


@dataclass(frozen=True)
class Collective:
    """What a collective op runs: ``kind`` with its reduce ``op`` or ``root`` rank."""

    kind: str  # "allreduce" | "broadcast" | "allgather" | "allgather_grad"
    op: str = Average
    root: int = 0

    def clone(self) -> Collective:
        return self

    def run(self, inputs: Sequence[Any], prepare: Any = None, compiled: bool = False) -> list:
        w = W.world()
        if self.kind == "allreduce":
            return W.allreduce(w, inputs, self.op)
        if self.kind == "broadcast":
            return W.broadcast(w, inputs, self.root)
        if self.kind == "allgather_grad":
            return [W.allgather_grad(w, inputs[0], np.shape(inputs[1]))]
        return [W.allgather(w, inputs[0])]


_TYPES = {"allreduce": "HorovodAllreduce", "broadcast": "HorovodBroadcast",
          "allgather": "HorovodAllgather", "allgather_grad": "HorovodAllgatherGrad"}


def _tensors(values: Sequence[Any]) -> list[Tensor]:
    """Graph tensors for ``values``; a Variable is read (a host op sees no live variable)."""
    out = []
    for v in values:
        t = as_graph_tensor(v)
        t = t if t is not None else convert(v, get_default_graph())
        out.append(identity(t) if t.op.type == "VariableV2" else t)
    return out


def collective(spec: Collective, inputs: Sequence[Any], name: str) -> list[Tensor]:
    """Add one collective op over ``inputs``; its outputs, one per input."""
    ts = _tensors(inputs)
    g: Graph = function_graph_for(ts) or (ts[0].graph if ts else get_default_graph())
    if spec.kind == "allgather":
        a = ts[0].aval
        shape = (None,) + tuple(a.shape[1:]) if a.shape else (None,)
        avals = [AVal(shape, a.dtype)]
    elif spec.kind == "allgather_grad":  # (cotangent, the gathered input): the input's shape
        avals = [AVal(ts[1].aval.shape, ts[0].aval.dtype)]
    else:
        avals = [t.aval for t in ts]
    op: Operation = g.create_op(_TYPES[spec.kind], ts, {"spec": spec}, avals, name)
    op.host = spec
    return list(op.outputs)


def _reduce_op(average: bool | None, op: str | None) -> str:
    if op is not None and average is not None:
        raise ValueError("average and op are mutually exclusive: pass op only")
    if op is None:
        return Sum if average is False else Average
    if op not in W.REDUCE_OPS:
        raise ValueError(f"unknown reduce op {op!r}; use hvd.Average, hvd.Sum, hvd.Min, "
                         "hvd.Max or hvd.Product")
    return op


def allreduce(tensor: Any, average: bool | None = None, device_dense: str = "",
              device_sparse: str = "", compression: Any = None, op: str | None = None,
              name: str | None = None) -> Tensor:
    """The average (``average=True``, the default) or ``op``-reduction of ``tensor`` over all
    ranks, as a graph tensor."""
    return grouped_allreduce([tensor], average, op=op, name=name or "HorovodAllreduce")[0]


def grouped_allreduce(tensors: Sequence[Any], average: bool | None = None, op: str | None = None,
                      name: str | None = None) -> list[Tensor]:
    """Allreduce of several tensors in one op: fused into as few MPI calls as possible."""
    spec = Collective("allreduce", _reduce_op(average, op))
    return collective(spec, list(tensors), name or "HorovodGroupedAllreduce")


def broadcast(tensor: Any, root_rank: int, name: str | None = None) -> Tensor:
    """Rank ``root_rank``'s value of ``tensor`` on every rank."""
    return collective(Collective("broadcast", root=int(root_rank)), [tensor],
                      name or "HorovodBroadcast")[0]


def grouped_broadcast(tensors: Sequence[Any], root_rank: int,
                      name: str | None = None) -> list[Tensor]:
    """``broadcast`` of several tensors in one op (one MPI call per dtype)."""
    return collective(Collective("broadcast", root=int(root_rank)), list(tensors),
                      name or "HorovodGroupedBroadcast")


def allgather(tensor: Any, name: str | None = None) -> Tensor:
    """Every rank's ``tensor`` concatenated along the first axis, in rank order (the first
    dimensions may differ between ranks)."""
    return collective(Collective("allgather"), [tensor], name or "HorovodAllgather")[0]


# ---------------------------------------------------------------------------------- gradients
def _allreduce_grad(op: Operation, grads: dict, between: set, stops: set, wanted: set) -> None:
    spec: Collective = op.host
    if spec.op not in (Average, Sum):
        return
    live = [(x, g) for x, y in zip(op.inputs, op.outputs, strict=True)
            if (g := _cot(y, grads, stops)) is not None]
    if not live:
        return
    outs = collective(spec, [g for _, g in live], op.name.rsplit("/", 1)[-1] + "_grad")
    for (x, _), gx in zip(live, outs, strict=True):
        _give(x, gx, grads, between, wanted)


def _broadcast_grad(op: Operation, grads: dict, between: set, stops: set, wanted: set) -> None:
    spec: Collective = op.host
    live = [(x, g) for x, y in zip(op.inputs, op.outputs, strict=True)
            if (g := _cot(y, grads, stops)) is not None]
    if not live:
        return
    keep = 1.0 if W.world().rank == spec.root else 0.0
    outs = collective(Collective("allreduce", Sum), [g for _, g in live],
                      op.name.rsplit("/", 1)[-1] + "_grad")
    for (x, _), gx in zip(live, outs, strict=True):
        _give(x, ops.mul(gx, np.asarray(keep, gx.dtype.np_dtype)), grads, between, wanted)


def _allgather_grad(op: Operation, grads: dict, between: set, stops: set, wanted: set) -> None:
    """Horovod's: the sum over ranks of the cotangent, sliced back to this rank's rows (one host
    op: an allreduce, then an allgather of the row counts to find where this rank's rows are)."""
    g = _cot(op.outputs[0], grads, stops)
    if g is None:
        return
    x = op.inputs[0]
    (gx,) = collective(Collective("allgather_grad", Sum), [g, x],
                       op.name.rsplit("/", 1)[-1] + "_grad")
    _give(x, gx, grads, between, wanted)


CUSTOM_GRADIENTS["HorovodAllreduce"] = _allreduce_grad
CUSTOM_GRADIENTS["HorovodBroadcast"] = _broadcast_grad
CUSTOM_GRADIENTS["HorovodAllgather"] = _allgather_grad
CUSTOM_GRADIENTS["HorovodAllgatherGrad"] = lambda *a: None

__all__ = ["Average", "Sum", "Min", "Max", "Product", "Collective", "collective", "allreduce",
           "grouped_allreduce", "broadcast", "grouped_broadcast", "allgather"]
