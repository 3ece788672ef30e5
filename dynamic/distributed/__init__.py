"""``torch.distributed``'s API over MPI: ``import dynamic.distributed as dist``.

``init_process_group(backend="mpi")`` joins the job that ``mpiexec -n N`` started; collectives
(``all_reduce``, ``broadcast``, ``all_gather``, ``barrier``) work in place on tensors, as in
PyTorch, through the MPI world shared with the static mode
(:mod:`staticgraph.distributed.world`: numpy only; ``mpi4py`` loads on ``init_process_group``).
They are not differentiable (PyTorch's ``torch.distributed`` collectives are not either). See
docs/distributed.md.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import numpy as np

from staticgraph.distributed import world as _world

from .._tensor import Tensor

_NOT_INIT = ("Default process group has not been initialized, please make sure to call "
             "init_process_group.")


class ReduceOp:
    """The reductions of ``all_reduce`` (``ReduceOp.SUM``, ``AVG``, ``PRODUCT``, ``MIN``,
    ``MAX``)."""

    SUM, AVG, PRODUCT, MIN, MAX = "sum", "avg", "product", "min", "max"


class Backend:
    MPI = "mpi"


class Work:
    """What an ``async_op=True`` collective returns; the collective has already completed."""

    def wait(self, timeout: Any = None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True

    def is_success(self) -> bool:
        return True


_GROUP: list[Any] = [None]


def is_available() -> bool:
    return True


def is_mpi_available() -> bool:
    try:
        _world.load_mpi()
    except ImportError:
        return False
    return True


def is_initialized() -> bool:
    return _GROUP[0] is not None


def init_process_group(backend: str | None = "mpi", init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1,
                       rank: int = -1, store: Any = None, group_name: str = "",
                       pg_options: Any = None, device_id: Any = None) -> None:
    """Join the MPI job: ranks and world size come from ``mpiexec``. ``timeout``: the longest
    wait of one collective before the whole job is aborted (default 600 s)."""
    if backend not in (None, "mpi", "MPI"):
        raise ValueError(f"backend {backend!r} is not available here: only 'mpi' is "
                         "(launch with mpiexec -n N)")
    if _GROUP[0] is not None:
        raise ValueError("trying to initialize the default process group twice!")
    secs = timeout.total_seconds() if timeout is not None else None
    w = _world.init(secs)
    for what, want, have in (("world_size", world_size, w.size), ("rank", rank, w.rank)):
        if want not in (-1, None) and want != have:
            raise ValueError(f"{what}={want} was passed but mpiexec started this process with "
                             f"{what}={have}")
    _GROUP[0] = w


def destroy_process_group(group: Any = None) -> None:
    if _GROUP[0] is not None:
        _GROUP[0] = None
        _world.shutdown()


def _w() -> _world.World:
    w = _GROUP[0]
    if w is None:
        raise ValueError(_NOT_INIT)
    return w


def get_rank(group: Any = None) -> int:
    return _w().rank


def get_world_size(group: Any = None) -> int:
    return _w().size


def get_backend(group: Any = None) -> str:
    _w()
    return "mpi"


def _check(t: Any, what: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{what} expects a Tensor, got {type(t).__name__}")
    return t


def _write(t: Tensor, value: np.ndarray) -> None:
    """Store ``value`` in ``t`` in place (its views see it) and bump its version."""
    if t._data.flags.writeable:
        np.copyto(t._data, value.reshape(t._data.shape), casting="unsafe")
    else:
        t._data = np.array(value.reshape(t._data.shape), dtype=t._data.dtype)
    t._vc[0] += 1


def _done(async_op: bool) -> Work | None:
    return Work() if async_op else None


def all_reduce(tensor: Tensor, op: str = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Reduce ``tensor`` over all ranks, in place (``ReduceOp.SUM`` by default)."""
    t = _check(tensor, "all_reduce")
    _write(t, _world.allreduce(_w(), [t._data], op)[0])
    return _done(async_op)


def all_reduce_coalesced(tensors: Sequence[Tensor], op: str = ReduceOp.SUM, group: Any = None,
                         async_op: bool = False) -> Work | None:
    """``all_reduce`` of several tensors, fused into as few MPI calls as possible."""
    ts = [_check(t, "all_reduce_coalesced") for t in tensors]
    for t, v in zip(ts, _world.allreduce(_w(), [t._data for t in ts], op), strict=True):
        _write(t, v)
    return _done(async_op)


def broadcast(tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    """Rank ``src``'s value of ``tensor`` into ``tensor`` on every rank."""
    t = _check(tensor, "broadcast")
    _write(t, _world.broadcast(_w(), [t._data], src)[0])
    return _done(async_op)


def all_gather(tensor_list: list, tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Rank ``k``'s ``tensor`` into ``tensor_list[k]`` (same shapes on every rank)."""
    w = _w()
    t = _check(tensor, "all_gather")
    if len(tensor_list) != w.size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors for a world "
                         f"of {w.size}")
    rows = _world.allgather(w, t._data.reshape((1,) + t._data.shape))
    for k, out in enumerate(tensor_list):
        _write(_check(out, "all_gather"), rows[k])
    return _done(async_op)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    """Wait until every rank has reached this call."""
    _world.barrier(_w())
    return _done(async_op)


__all__ = ["ReduceOp", "Backend", "Work", "is_available", "is_mpi_available", "is_initialized",
           "init_process_group", "destroy_process_group", "get_rank", "get_world_size",
           "get_backend", "all_reduce", "all_reduce_coalesced", "broadcast", "all_gather",
           "barrier"]
