"""The MPI world both modes share: numpy-level collectives over ``mpi4py``.

This module imports numpy only; ``mpi4py`` loads on :func:`init`, and a clear error says what to
install when it is missing. ``staticgraph.distributed`` (Horovod's TF1 API) and
``dynamic.distributed`` (torch.distributed's API) are thin layers over it.

Two rules keep a failure from hanging the job:

* after :func:`init`, an exception that escapes any rank prints its traceback and calls
  ``MPI_Abort``, which makes ``mpiexec`` end every rank (a rank killed by a signal has the same
  effect: ``mpiexec`` sees it die and ends the others);
* every collective is started non-blocking and waited for with a deadline (``timeout`` of
  :func:`init`, else ``$STATICGRAPH_MPI_TIMEOUT`` seconds, default 600): a rank that waits longer
  (another rank hung, or skipped the collective) aborts the job with a message naming the
  collective.

Tensor fusion (Horovod's): :func:`allreduce` packs many arrays of one dtype into flat buffers of
at most ``$STATICGRAPH_FUSION_THRESHOLD`` bytes (default 64 MiB, Horovod's default) and runs one
MPI allreduce per buffer. :func:`start_allreduce` / :func:`finish` split one such call in two, so
that the caller computes between them (the static mode's overlapped gradient buckets).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np

INSTALL_HINT = ("MPI support needs the `distributed` extra: pip install 'staticgraph[distributed]' "
                "(or: pip install mpi4py mpich); then launch with `mpiexec -n N python train.py`")
REDUCE_OPS = ("sum", "avg", "max", "min", "product")


class World:
    """The communicator and the facts about this process's place in it."""

    def __init__(self, MPI: Any, timeout: float) -> None:  # noqa: N803 (the module's name)
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = local.Get_rank(), local.Get_size()
        local.Free()
        self.timeout = timeout
        self.fusion_bytes = int(os.environ.get("STATICGRAPH_FUSION_THRESHOLD", 64 << 20))
        self.calls = 0  # MPI collectives waited for (tests check the fusion with it)
        self.comm_seconds = 0.0  # time spent waiting for them (sgbench --ranks reports it)
        self.inflight: dict[int, Pending] = {}  # started, not yet finished (keeps buffers alive)


_WORLD: list[World | None] = [None]
_HOOK: list[Any] = [None]


def load_mpi() -> Any:
    """``mpi4py.MPI``, or an ImportError that says what to install."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    return MPI


def init(timeout: float | None = None) -> World:
    """Join the MPI job (idempotent): ``mpiexec -n N`` ranks, or a world of one without it."""
    w = _WORLD[0]
    if w is not None:
        if timeout is not None:
            w.timeout = float(timeout)
        return w
    MPI = load_mpi()  # noqa: N806
    if timeout is None:
        timeout = float(os.environ.get("STATICGRAPH_MPI_TIMEOUT", 600))
    w = _WORLD[0] = World(MPI, float(timeout))
    if w.size > 1:
        _install_abort_hook(w)
    return w


def world(api: str = "hvd.init()") -> World:
    """The world joined by :func:`init`; a ValueError naming ``api`` before that."""
    w = _WORLD[0]
    if w is None:
        raise ValueError(f"MPI is not initialized: call {api} first")
    return w


def initialized() -> bool:
    return _WORLD[0] is not None


def shutdown() -> None:
    """Leave the world (the next :func:`init` joins again; MPI itself ends at exit)."""
    w = _WORLD[0]
    if w is None:
        return
    _WORLD[0] = None
    if _HOOK[0] is not None and sys.excepthook is _HOOK[0][1]:
        sys.excepthook = _HOOK[0][0]
    _HOOK[0] = None
    w.comm.Free()


def _install_abort_hook(w: World) -> None:
    previous = sys.excepthook

    def abort(kind: type, value: BaseException, tb: Any) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(f"[rank {w.rank}] {text}[rank {w.rank}] staticgraph.distributed: "
                         f"this rank failed; aborting all {w.size} ranks (MPI_Abort)\n")
        sys.stderr.flush()
        _end(w)

    _HOOK[0] = (previous, abort)
    sys.excepthook = abort


ABORT_GRACE_S = 0.25
"""Seconds between writing the reason and ``MPI_Abort``: ``mpiexec``'s proxy forwards a rank's
output asynchronously, and an abort right after the write can end the job before the reason
is forwarded (a loaded CI run once showed the job's output empty)."""


def _end(w: World) -> None:
    """``MPI_Abort`` the job, after :data:`ABORT_GRACE_S` for the message to reach ``mpiexec``."""
    time.sleep(ABORT_GRACE_S)
    w.MPI.COMM_WORLD.Abort(1)


def abort(w: World, message: str) -> None:
    """Print ``message`` for this rank and end the whole job."""
    sys.stderr.write(f"[rank {w.rank}] staticgraph.distributed: {message}; aborting all "
                     f"{w.size} ranks (MPI_Abort)\n")
    sys.stderr.flush()
    _end(w)


def wait(w: World, request: Any, what: str) -> None:
    """Wait for a non-blocking collective, at most ``w.timeout`` seconds."""
    w.calls += 1
    start = time.perf_counter()
    deadline = time.monotonic() + w.timeout
    spins = 0
    while not request.Test():
        spins += 1
        if spins > 2000:  # past a few hundred microseconds: stop burning the core
            time.sleep(0.0002)
        if time.monotonic() > deadline:
            abort(w, f"{what} did not complete within {w.timeout:g} s: another rank failed, "
                     "hung or did not call it")
    w.comm_seconds += time.perf_counter() - start


# ------------------------------------------------------------------------------ collectives
def _mpi_op(w: World, op: str) -> Any:
    M = w.MPI  # noqa: N806
    return {"sum": M.SUM, "avg": M.SUM, "max": M.MAX, "min": M.MIN, "product": M.PROD}[op]


def _chunks(arrays: list[np.ndarray], limit: int) -> list[list[int]]:
    """Indices of ``arrays`` grouped into fusion buffers: same dtype, at most ``limit`` bytes."""
    groups: dict = {}
    out: list[list[int]] = []
    for i, a in enumerate(arrays):
        cur = groups.get(a.dtype)
        if cur is None or (cur[1] + a.nbytes > limit and cur[0]):
            cur = groups[a.dtype] = [[], 0]
            out.append(cur[0])
        cur[0].append(i)
        cur[1] += a.nbytes
    return out


class Pending:
    """A started allreduce of ``shapes`` packed in the flat ``buf``: :func:`finish` waits for it
    and unpacks the results. ``request`` is ``None`` in a world of one."""

    def __init__(self, buf: np.ndarray, shapes: list[tuple], op: str, request: Any,
                 what: str) -> None:
        self.buf, self.shapes, self.op, self.request, self.what = buf, shapes, op, request, what
        self.done = False


def start_allreduce(w: World, arrays: Sequence[Any], op: str = "sum") -> Pending:
    """Start the reduction over ranks of ``arrays`` (one dtype) as one non-blocking MPI call on
    one fused buffer, and return at once; :func:`finish` gives the results. Other requests in
    flight get a progress poke (MPICH advances non-blocking collectives inside MPI calls)."""
    if op not in REDUCE_OPS:
        raise ValueError(f"unknown reduce op {op!r}; expected one of {REDUCE_OPS}")
    parts = [np.asarray(a) for a in arrays]
    if len({p.dtype for p in parts}) > 1:
        raise ValueError(f"one fused allreduce needs one dtype, got {[p.dtype for p in parts]}")
    if len(parts) == 1:
        buf = parts[0].ravel().copy()
    else:
        buf = np.concatenate([p.ravel() for p in parts])
    what = f"allreduce of {len(parts)} tensor(s), {buf.nbytes} bytes"
    request = None
    if w.size > 1:
        request = w.comm.Iallreduce(w.MPI.IN_PLACE, buf, _mpi_op(w, op))
        for other in w.inflight.values():
            other.request.Test()
    pending = Pending(buf, [p.shape for p in parts], op, request, what)
    if request is not None:
        w.inflight[id(pending)] = pending
    return pending


def finish(w: World, pending: Pending) -> list[np.ndarray]:
    """Wait (at most ``w.timeout`` s) for a started allreduce; its results, one per array."""
    if pending.done:
        raise ValueError(f"{pending.what}: finished twice")
    buf = pending.buf
    if pending.request is not None:
        try:
            wait(w, pending.request, pending.what)
        finally:
            w.inflight.pop(id(pending), None)
    pending.done = True
    if pending.op == "avg":
        if buf.dtype.kind in "fc":
            buf /= w.size
        else:
            buf //= w.size
    out, k = [], 0
    for shape in pending.shapes:
        n = int(np.prod(shape, dtype=np.int64))
        out.append(buf[k:k + n].reshape(shape))
        k += n
    return out


def allreduce(w: World, arrays: Sequence[Any], op: str = "sum") -> list[np.ndarray]:
    """The elementwise reduction over ranks of each array (``op`` in :data:`REDUCE_OPS`; ``avg``
    divides the sum by the world size), fused into as few MPI calls as the threshold allows
    (all started, then all waited for)."""
    if op not in REDUCE_OPS:
        raise ValueError(f"unknown reduce op {op!r}; expected one of {REDUCE_OPS}")
    arrays = [np.asarray(a) for a in arrays]  # (ascontiguousarray makes 0-d arrays 1-d)
    groups = _chunks(arrays, w.fusion_bytes)
    started = [start_allreduce(w, [arrays[i] for i in idx], op) for idx in groups]
    out: list[np.ndarray] = [np.empty(0)] * len(arrays)
    for idx, pending in zip(groups, started, strict=True):
        for i, r in zip(idx, finish(w, pending), strict=True):
            out[i] = r
    return out


def broadcast(w: World, arrays: Sequence[Any], root: int) -> list[np.ndarray]:
    """Rank ``root``'s values of the arrays, on every rank (one MPI call per dtype)."""
    _check_root(w, root)
    arrays = [np.asarray(a) for a in arrays]  # (ascontiguousarray makes 0-d arrays 1-d)
    out: list[np.ndarray] = [np.empty(0)] * len(arrays)
    for idx in _chunks(arrays, sys.maxsize):
        parts = [arrays[i] for i in idx]
        buf = np.concatenate([p.ravel() for p in parts]) if parts else np.empty(0)
        if w.size > 1:
            wait(w, w.comm.Ibcast(buf, root=root), f"broadcast from rank {root}")
        k = 0
        for i, p in zip(idx, parts, strict=True):
            out[i] = buf[k:k + p.size].reshape(p.shape).copy()
            k += p.size
    return out


def allgather(w: World, array: Any) -> np.ndarray:
    """Every rank's array concatenated along axis 0, in rank order (first dims may differ)."""
    a = np.ascontiguousarray(array)
    if a.ndim == 0:
        a = a.reshape(1)
    if w.size == 1:
        return a.copy()
    rows = np.empty(w.size, np.int64)
    wait(w, w.comm.Iallgather(np.asarray([a.shape[0]], np.int64), rows), "allgather (sizes)")
    inner = int(np.prod(a.shape[1:], dtype=np.int64))
    counts = [int(r) * inner for r in rows]
    out = np.empty((int(rows.sum()),) + a.shape[1:], a.dtype)
    wait(w, w.comm.Iallgatherv(a, [out, counts]), "allgather")
    return out


def allgather_grad(w: World, grad: Any, shape: tuple) -> np.ndarray:
    """The gradient of :func:`allgather` (Horovod's): the sum over ranks of the cotangent
    ``grad`` of the gathered array, sliced to this rank's rows (``shape``: its input's)."""
    rows = 1 if len(shape) == 0 else int(shape[0])
    total = allreduce(w, [grad], "sum")[0]
    counts = allgather(w, np.asarray([rows], np.int64))
    start = int(counts[:w.rank].sum())
    return total[start:start + rows].reshape(shape)


def barrier(w: World) -> None:
    if w.size > 1:
        wait(w, w.comm.Ibarrier(), "barrier")


def _check_root(w: World, root: int) -> None:
    if not 0 <= int(root) < w.size:
        raise ValueError(f"root rank {root} is not in this world of {w.size} rank(s)")


__all__ = ["INSTALL_HINT", "REDUCE_OPS", "World", "load_mpi", "init", "world", "initialized",
           "shutdown", "abort", "wait", "Pending", "start_allreduce", "finish", "allreduce",
           "broadcast", "allgather", "allgather_grad", "barrier"]
