"""``DistributedDataParallel``: PyTorch's data-parallel wrapper over ``dynamic.distributed``.

At construction rank 0's parameters and buffers are broadcast to every rank (one fused call), so
all ranks start equal. During ``backward()`` a gradient hook on each parameter copies its gradient
into its *bucket* (a flat buffer of about ``bucket_cap_mb``, parameters in reverse registration
order, as PyTorch's reducer lays them out, so the last layers' bucket fills first); when a bucket
is full it is averaged across ranks by one MPI allreduce, while the backward goes on with the
earlier layers. Buckets are reduced in index order on every rank, so all ranks issue the same
collectives in the same order. The engine then accumulates the averaged gradient into ``.grad``.

``no_sync()`` skips the reduction (gradients accumulate locally); the next synchronized backward
averages the whole accumulated gradient. ``find_unused_parameters=True`` finds at ``forward``
the parameters the output does not depend on and counts them as ready with a zero gradient; by
default a backward that leaves a bucket unreduced is an error at the next ``forward``, as in
PyTorch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from staticgraph.distributed import world as W

from ... import distributed as dist
from ..._tensor import Tensor, make
from ...autograd.graph import AccumulateGrad
from ..modules import Module

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`. "
    "Parameters that received no gradient: {names}")


class _Bucket:
    """Parameters whose gradients are reduced together, and their places in the flat buffer."""

    def __init__(self, params: list[int], sizes: list[int], dtype: np.dtype) -> None:
        self.params, self.dtype = params, dtype
        self.offsets = list(np.cumsum([0] + sizes[:-1]))
        self.numel = int(sum(sizes))


class DistributedDataParallel(Module):
    """Wraps ``module``: same forward; gradients averaged across ranks during ``backward()``."""

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, **kwargs: Any) -> None:
        super().__init__()
        self.module = module
        w = dist._w()
        self._world = w
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._names = [n for n, _ in named]
        self._params: list[Tensor] = [p for _, p in named]
        self._sync_state(list(module.parameters()) + list(module.buffers()))
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._buckets = self._layout(cap)
        self._where: dict[int, tuple[int, int]] = {}
        for b, bucket in enumerate(self._buckets):
            for k, i in enumerate(bucket.params):
                self._where[i] = (b, k)
        self._unsynced: set[int] = set()
        self._round: dict | None = None
        self._handles = [p.register_hook(self._hook(i)) for i, p in enumerate(self._params)]

    # --------------------------------------------------------------------------- setup
    def _sync_state(self, tensors: list[Tensor]) -> None:
        """Rank 0's values of ``tensors`` on every rank (one call per dtype)."""
        if not tensors or self._world.size == 1:
            return
        for t, v in zip(tensors, W.broadcast(self._world, [t._data for t in tensors], 0),
                        strict=True):
            dist._write(t, v)

    def _layout(self, cap: int) -> list[_Bucket]:
        """Buckets of at most ``cap`` bytes (one dtype each), last parameters first."""
        buckets: list[_Bucket] = []
        cur: list[int] = []
        size = 0
        for i in reversed(range(len(self._params))):
            a = self._params[i]._data
            if cur and (size + a.nbytes > cap or self._params[cur[0]]._data.dtype != a.dtype):
                buckets.append(self._bucket(cur))
                cur, size = [], 0
            cur.append(i)
            size += a.nbytes
        if cur:
            buckets.append(self._bucket(cur))
        return buckets

    def _bucket(self, params: list[int]) -> _Bucket:
        return _Bucket(params, [self._params[i]._data.size for i in params],
                       self._params[params[0]]._data.dtype)

    # -------------------------------------------------------------------------- reducer
    def _new_round(self) -> dict:
        return {"bufs": [np.zeros(b.numel, b.dtype) for b in self._buckets],
                "left": [len(b.params) for b in self._buckets], "next": 0,
                "seen": set(), "fix": [], "unused": []}

    def _hook(self, i: int) -> Any:
        def hook(g: Tensor) -> Tensor | None:
            if not self.require_backward_grad_sync:
                self._unsynced.add(i)
                return None
            r = self._round
            if r is None or r["next"] == len(self._buckets):
                r = self._round = self._new_round()
            if i in r["seen"]:
                raise RuntimeError(f"DistributedDataParallel: parameter {self._names[i]} got a "
                                   "gradient twice in one backward pass")
            return self._ready(r, i, g._data)
        return hook

    def _ready(self, r: dict, i: int, g: np.ndarray | None) -> Tensor:
        b, k = self._where[i]
        bucket, p = self._buckets[b], self._params[i]
        start = bucket.offsets[k]
        view = r["bufs"][b][start:start + p._data.size]
        if g is not None:
            view[...] = np.broadcast_to(g, p._data.shape).ravel()
        if i in self._unsynced and p._grad is not None:  # no_sync() gradients: average them too
            view += p._grad._data.ravel()
            r["fix"].append((view, p._grad._data.ravel().copy()))
        self._unsynced.discard(i)
        r["seen"].add(i)
        r["left"][b] -= 1
        if r["left"][b] == 0:
            self._reduce_ready(r)
        return make(view.reshape(p._data.shape))

    def _reduce_ready(self, r: dict) -> None:
        """Reduce every full bucket from ``r["next"]`` on, in index order (same on all ranks)."""
        while r["next"] < len(self._buckets) and r["left"][r["next"]] == 0:
            b = r["next"]
            r["bufs"][b][...] = W.allreduce(self._world, [r["bufs"][b]], "avg")[0]
            r["next"] += 1
        if r["next"] == len(self._buckets):
            for view, local in r["fix"]:  # .grad (local part) + returned = the average
                view -= local
            r["fix"].clear()
            for i in r["unused"]:  # unused here, used elsewhere: no hook adds it to .grad
                self._accumulate_unused(r, i)

    def _accumulate_unused(self, r: dict, i: int) -> None:
        b, k = self._where[i]
        p, start = self._params[i], self._buckets[b].offsets[k]
        avg = r["bufs"][b][start:start + p._data.size].reshape(p._data.shape)
        if not avg.any():
            return  # unused on every rank: .grad stays as it is, as in PyTorch
        p._grad = make(avg.copy()) if p._grad is None else make(p._grad._data + avg)

    def _mark_unused(self, outputs: Any) -> None:
        """Count the parameters ``outputs`` do not depend on as ready with zero gradient."""
        used: set[int] = set()
        ids = {id(p): i for i, p in enumerate(self._params)}
        outs = _tensors(outputs)
        used.update(ids[id(t)] for t in outs if id(t) in ids)
        stack = [t._grad_fn for t in outs if t._grad_fn is not None]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if type(node) is AccumulateGrad and id(node.variable) in ids:
                used.add(ids[id(node.variable)])
            stack.extend(c for c, _ in node._next if c is not None)
        r = self._round = self._new_round()
        for i in range(len(self._params)):
            if i not in used:
                r["unused"].append(i)
                self._ready(r, i, None)

    # --------------------------------------------------------------------------- module
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        r = self._round
        if (r is not None and r["next"] < len(self._buckets) and not self.find_unused_parameters
                and self.require_backward_grad_sync and r["seen"]):
            missing = [self._names[i] for i in range(len(self._params)) if i not in r["seen"]]
            self._round = None
            raise RuntimeError(_UNFINISHED.format(names=", ".join(missing)))
        if self.broadcast_buffers and self.require_backward_grad_sync:
            self._sync_state(list(self.module.buffers()))
        out = self.module(*inputs, **kwargs)
        if self.find_unused_parameters and self.require_backward_grad_sync:
            self._mark_unused(out)
        return out

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside accumulate gradients locally, without communication."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old


def _tensors(x: Any) -> list[Tensor]:
    """The tensors in an output structure (a tensor, or lists/tuples/dicts of them)."""
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, dict):
        x = list(x.values())
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _tensors(v)]
    return []


__all__ = ["DistributedDataParallel"]
