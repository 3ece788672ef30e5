"""Gradient buckets whose allreduce overlaps the rest of the backward (Horovod's fusion buffers).

:class:`GradientBuckets` receives each gradient the moment the backward walk makes it final
(``gradients.on_gradient_ready``), in the order the backward produces them (last layers first).
It packs them into *buckets* of one dtype; a bucket closes when it holds at least
``threshold`` bytes (``$STATICGRAPH_FUSION_THRESHOLD``, default 64 MiB as Horovod's), and closing
it adds an ``HorovodAllreduceStart`` host op over its gradients *right there*, between the
backward's ops. The executors run ops in creation order (the compiled one cuts its plan at each
host op, :mod:`staticgraph.compiler.regions`), so the bucket's non-blocking MPI allreduce starts
as soon as its gradients are computed, and the backward of the earlier layers runs while it is in
flight. :meth:`GradientBuckets.reduced`, after the walk, adds one ``HorovodAllreduceWait`` op per
bucket (its input: the start op's request handle, an opaque host value), whose outputs, the
reduced gradients, feed the optimizer's apply ops: each bucket is waited for just before the
update that needs it, with the world's deadline (a failed or absent rank aborts the job).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..gradients import CUSTOM_GRADIENTS
from ..graph.core import Tensor
from ..graph.func_graph import function_graph_for, mark_opaque
from ..graph.tensor_array_ops import FLOW
from . import world as W
from .graph_ops import _tensors


@dataclass(frozen=True)
class AllreduceStart:
    """Host op: start the fused allreduce ``op`` of its inputs; output: the request handle."""

    op: str
    bucket: int

    def clone(self) -> AllreduceStart:
        return self

    def run(self, inputs: Sequence[Any], prepare: Any = None, compiled: bool = False) -> list:
        return [W.start_allreduce(W.world(), inputs, self.op)]


@dataclass(frozen=True)
class AllreduceWait:
    """Host op: wait for the allreduce its input handle started; outputs: the results."""

    bucket: int

    def clone(self) -> AllreduceWait:
        return self

    def run(self, inputs: Sequence[Any], prepare: Any = None, compiled: bool = False) -> list:
        return W.finish(W.world(), inputs[0])


def start_op(grads: Sequence[Tensor], op: str, bucket: int) -> Tensor:
    """Add the op that starts the allreduce of ``grads``; its request handle."""
    g = function_graph_for(list(grads)) or grads[0].graph
    spec = AllreduceStart(op, bucket)
    o = g.create_op("HorovodAllreduceStart", list(grads), {"spec": spec}, [FLOW],
                    f"DistributedOptimizer_Allreduce/Start_{bucket}")
    o.host = spec
    return mark_opaque(o.outputs[0])


def wait_op(handle: Tensor, like: Sequence[Tensor], bucket: int) -> list[Tensor]:
    """Add the op that waits for ``handle``'s allreduce; its outputs, shaped as ``like``."""
    spec = AllreduceWait(bucket)
    o = handle.graph.create_op("HorovodAllreduceWait", [handle], {"spec": spec},
                               [t.aval for t in like],
                               f"DistributedOptimizer_Allreduce/Wait_{bucket}")
    o.host = spec
    return list(o.outputs)


def _nbytes(t: Tensor) -> int | None:
    shape = t.aval.shape
    if any(d is None for d in shape):
        return None
    return int(np.prod(shape, dtype=np.int64)) * t.dtype.np_dtype.itemsize


class GradientBuckets:
    """Collects gradients as the backward produces them (:meth:`add`, the ``on_gradient_ready``
    hook) and starts each bucket's allreduce when it is full; :meth:`reduced` closes the last
    one and adds the waits."""

    def __init__(self, threshold: int, op: str) -> None:
        self.threshold, self.op = int(threshold), op
        self.open: list[Tensor] = []
        self.open_bytes = 0
        self.started: list[tuple[Tensor, list[Tensor]]] = []  # (handle, its gradients)

    def add(self, i: int, g: Tensor) -> None:
        """Gradient ``g`` (of variable ``i``) is final: put it in the open bucket, which starts
        when it reaches the threshold (a gradient of another dtype closes it first)."""
        if self.open and self.open[0].dtype != g.dtype:
            self._close()
        self.open.append(g)
        n = _nbytes(g)
        self.open_bytes += self.threshold if n is None else n
        if self.open_bytes >= self.threshold:
            self._close()

    def _close(self) -> None:
        if self.open:
            self.started.append((start_op(self.open, self.op, len(self.started)), self.open))
        self.open, self.open_bytes = [], 0

    def reduced(self, grads_and_vars: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
        """``grads_and_vars`` with each gradient replaced by its reduced value (a wait op's
        output). A gradient no bucket holds (a wrapped optimizer changed it after the walk) is
        reduced by a bucket started here, after the backward."""
        self._close()
        held = {id(g) for _, gs in self.started for g in gs}
        tensor = {}  # id of a returned gradient -> the graph tensor a bucket holds for it
        for g, _ in grads_and_vars:
            if g is not None and id(g) not in tensor:
                tensor[id(g)] = g if id(g) in held else _tensors([g])[0]
                if id(g) not in held:
                    self.add(-1, tensor[id(g)])
        self._close()
        where = {id(g): k for k, (_, gs) in enumerate(self.started) for g in gs}
        used = sorted({where[id(t)] for t in tensor.values()})
        results: dict[int, Tensor] = {}
        for k in used:  # in start order; a bucket none of whose gradients is used never runs
            handle, gs = self.started[k]
            for g, r in zip(gs, wait_op(handle, gs, k), strict=True):
                results[id(g)] = r
        return [(g if g is None else results[id(tensor[id(g)])], v) for g, v in grads_and_vars]


CUSTOM_GRADIENTS["HorovodAllreduceStart"] = lambda *a: None
CUSTOM_GRADIENTS["HorovodAllreduceWait"] = lambda *a: None

__all__ = ["AllreduceStart", "AllreduceWait", "GradientBuckets", "start_op", "wait_op"]
