"""``torch.distributed.nn.functional``: collectives as autograd functions, PyTorch's API.

``all_gather(tensor)`` returns every rank's ``tensor`` (same shape on every rank) as a tuple, and
its backward is PyTorch's: the gradient of this rank's input is the sum over ranks of the
cotangent each rank has for this rank's output slot (a reduce-scatter, here an allreduce of the
stacked cotangents of which this rank keeps its row). ``all_reduce(tensor, op=SUM)`` returns the
reduction, its gradient is the summed cotangent. Both wait with the world's deadline.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import dynamic as torch
from dynamic.autograd.function import Function
from staticgraph.distributed import world as _world

from .. import ReduceOp, _w


class _AllGather(Function):
    @staticmethod
    def forward(ctx: Any, tensor: Any) -> tuple:
        w = _w()
        rows = _world.allgather(w, tensor.detach().numpy().reshape((1,) + tuple(tensor.shape)))
        return tuple(torch.tensor(np.array(r)) for r in rows)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        w = _w()
        stacked = np.stack([g.detach().numpy() for g in grads])
        total = _world.allreduce(w, [stacked], "sum")[0]
        return torch.tensor(np.array(total[w.rank]))


class _AllReduce(Function):
    @staticmethod
    def forward(ctx: Any, tensor: Any, op: str) -> Any:
        if op != ReduceOp.SUM:
            raise ValueError(f"all_reduce: only ReduceOp.SUM is differentiable here, got {op!r}")
        return torch.tensor(np.array(_world.allreduce(_w(), [tensor.detach().numpy()], op)[0]))

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        total = _world.allreduce(_w(), [grad.detach().numpy()], "sum")[0]
        return torch.tensor(np.array(total)), None


def all_gather(tensor: Any, group: Any = None) -> tuple:
    """Every rank's ``tensor``, in rank order, as a tuple of new tensors (differentiable)."""
    return _AllGather.apply(tensor)


def all_reduce(tensor: Any, op: str = ReduceOp.SUM, group: Any = None) -> Any:
    """The sum over ranks of ``tensor`` as a new tensor (differentiable)."""
    return _AllReduce.apply(tensor, op)


__all__ = ["all_gather", "all_reduce"]
