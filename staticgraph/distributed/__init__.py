"""Horovod's TF1 API over MPI: ``import staticgraph.distributed as hvd``.

``hvd.init()``, ``rank()``, ``size()``, ``local_rank()``, ``local_size()``; the collectives
``allreduce``/``grouped_allreduce``/``allgather``/``broadcast`` as graph ops;
``broadcast_global_variables(root_rank)``; ``DistributedOptimizer(optimizer)``. Launch with
``mpiexec -n N python train.py``; see docs/distributed.md.

The package imports lazily (PEP 562), like ``staticgraph`` itself: ``world`` (numpy only) is
what the eager mode's ``dynamic.distributed`` shares, and ``mpi4py`` loads on ``init()``.
"""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import Any as _Any

from . import world as _world

_LAZY: dict[str, str] = {
    **{n: "graph_ops" for n in ("Average", "Sum", "Min", "Max", "Product", "allreduce",
                                "grouped_allreduce", "allgather", "broadcast",
                                "grouped_broadcast")},
    **{n: "optimizer" for n in ("DistributedOptimizer", "broadcast_global_variables",
                                "broadcast_variables")},
}


def init(comm: _Any = None, timeout: float | None = None) -> None:
    """Join the MPI job (``comm`` must be ``None``: the world communicator). ``timeout``: the
    longest wait of one collective before the job is aborted (default 600 s)."""
    if comm is not None:
        raise ValueError("only the world communicator is supported (comm=None)")
    _world.init(timeout)


def shutdown() -> None:
    _world.shutdown()


def is_initialized() -> bool:
    return _world.initialized()


def rank() -> int:
    return _world.world().rank


def size() -> int:
    return _world.world().size


def local_rank() -> int:
    return _world.world().local_rank


def local_size() -> int:
    return _world.world().local_size


def mpi_threads_supported() -> bool:
    return _world.world().MPI.Query_thread() == _world.world().MPI.THREAD_MULTIPLE


def __getattr__(name: str) -> _Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'staticgraph.distributed' has no attribute {name!r}")
    value = getattr(_import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["init", "shutdown", "is_initialized", "rank", "size", "local_rank", "local_size",
           "mpi_threads_supported", *_LAZY]
