"""Deferred values during a capture: an op's result is a :class:`PendingTensor` until something
needs its values.

A capture used to run every op eagerly at full size while it built the graph, then compiled the
graph and ran it once more to check it: the ``chain`` benchmark's first call paid its forward
and its backward twice (eagerly, then compiled). During a capture a floating-point registry op
(elementwise, reduction, matmul, nn) on tensors the capture tracks now only adds its graph node
and returns a ``PendingTensor``: shape, dtype and ``requires_grad`` known, no values, no
autograd node; an ``autograd.grad`` on such tensors only adds ``gradients()`` to the graph
(:mod:`.deferred`). When the function returns and no value was ever needed, its results come
from the compiled plan's first run: the first call costs one trace, one compile, one run, as the
static mode's first ``Session.run`` does.

*Anything* that touches a pending tensor's storage (``_data``) or its autograd node
(``_grad_fn``): a value read, ``numpy()``, printing, an in-place write, a kernel outside the
registry, the autograd engine, materializes it: every pending value, in creation order (so the
autograd nodes get eager's sequence order), is computed by running the same eager ops the
capture recorded, and from then on the call is captured as before (eager values, the first
run checked against them). The eager semantics are never guessed: a pending tensor becomes the
very tensor eager would have made, at the first moment anybody could observe a difference.

A whole training step defers too (:mod:`.deferred_step`): ``backward()`` gives each leaf a
pending ``.grad`` (or a pending write into the ``.grad`` it has), ``SGD``/``Adam.step`` a pending
write into each parameter. A tensor with a pending write keeps its identity; for the rest of the
function body its class is a subclass of its own (:func:`pending_write`) whose ``_data`` getter
materializes first, so any read of its values sees what eager would have written. The capture's
own bookkeeping reads shapes and dtypes only, under :data:`RAW`.
"""

from __future__ import annotations

import sys
from typing import Any

from .._dtypes import Size, from_numpy_dtype
from .._tensor import Tensor
from ..autograd.graph import renamed

_DATA = Tensor._data  # the slot descriptors, for use while an object is still pending
_GRAD_FN = Tensor._grad_fn
_RENAMED = renamed.__code__
#: the slots an eager result carries over into the pending object it becomes (hooks and
#: ``retain_grad`` set on the pending object are kept)
_COPIED = ("_data", "_requires_grad", "_grad_fn", "_output_nr", "_vc", "_base", "_view")


class PendingTensor(Tensor):
    """A traced op's result whose values are not computed yet (module docstring)."""

    __slots__ = ()

    @property
    def _data(self) -> Any:  # type: ignore[override]
        materialize(self)
        return _DATA.__get__(self)

    @_data.setter
    def _data(self, value: Any) -> None:
        materialize(self)
        _DATA.__set__(self, value)

    @property
    def _grad_fn(self) -> Any:  # type: ignore[override]
        if not self._requires_grad:  # no history, as eager's result has none
            return None
        if sys._getframe(1).f_code is _RENAMED:  # a frontend naming the node: noted
            return _Rename(self)
        materialize(self)
        return _GRAD_FN.__get__(self)

    @_grad_fn.setter
    def _grad_fn(self, value: Any) -> None:
        materialize(self)
        _GRAD_FN.__set__(self, value)

    # shape and dtype queries need no values (``F.linear`` asks ``input.dim()``)
    @property
    def shape(self) -> Size:  # type: ignore[override]
        return Size(self._aval.shape)

    def size(self, dim: int | None = None) -> Any:
        return Size(self._aval.shape) if dim is None else self._aval.shape[dim]

    def dim(self) -> int:
        return len(self._aval.shape)

    @property
    def ndim(self) -> int:  # type: ignore[override]
        return len(self._aval.shape)

    @property
    def dtype(self) -> Any:  # type: ignore[override]
        return from_numpy_dtype(self._aval.dtype)

    def is_floating_point(self) -> bool:
        return self._aval.dtype.kind == "f"


class _Rename:
    """What ``autograd.graph.renamed`` gets as a pending tensor's node: its new class is kept
    and given to the eager node when the tensor is computed (:meth:`Deferred.flush`)."""

    __slots__ = ("t",)

    def __init__(self, t: PendingTensor) -> None:
        object.__setattr__(self, "t", t)

    def __setattr__(self, name: str, value: Any) -> None:
        if name != "__class__" or CURRENT[0] is None:
            raise AttributeError(f"dynamic.compile: a pending tensor's node has no {name!r}")
        CURRENT[0].renames[id(self.t)] = value


#: > 0 while the capture's own bookkeeping reads a tensor (shapes, dtypes, graph bindings): a
#: pending write's ``_data`` is then the storage as it is, nothing is materialized
RAW: list = [0]
_WRITE_CLASSES: dict[type, type] = {}


def _written_get(self: Tensor) -> Any:
    if not RAW[0]:
        materialize(self)
    return _DATA.__get__(self)


def _written_set(self: Tensor, value: Any) -> None:
    if not RAW[0]:
        materialize(self)
    _DATA.__set__(self, value)


def pending_write(t: Tensor) -> None:
    """``t`` (a real tensor) has a pending in-place write: reading its storage materializes."""
    cls = type(t)
    if "_sg_written" in cls.__dict__:  # pending already
        return
    sub = _WRITE_CLASSES.get(cls)
    if sub is None:
        sub = _WRITE_CLASSES[cls] = type(cls.__name__, (cls,), {
            "__slots__": (), "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "_data": property(_written_get, _written_set), "_sg_written": cls})
    t.__class__ = sub


def write_done(t: Tensor) -> None:
    """``t``'s class again (its write was computed, or the capture ends)."""
    orig = getattr(type(t), "_sg_written", None)
    if orig is not None and type(t).__dict__.get("_sg_written") is orig:
        t.__class__ = orig


def new_pending(aval: Any, requires_grad: bool) -> PendingTensor:
    """A pending tensor of ``aval`` (shape and dtype), no values, no autograd node."""
    t = object.__new__(PendingTensor)
    t._aval = aval
    t._requires_grad = requires_grad
    t._grad = t._acc = t._hooks = None
    _GRAD_FN.__set__(t, None)
    t._output_nr = 0
    t._retains_grad = False
    t._vc = [0]
    t._base = t._view = None
    return t


def become(t: Tensor, real: Tensor) -> None:
    """``t`` (pending) is now the eager result ``real``: same storage, node and version."""
    t.__class__ = Tensor
    for name in _COPIED:
        setattr(t, name, getattr(real, name))


class PendingState:
    """An optimizer's ``state`` while its deferred step is pending (the body of the function):
    any use computes every pending value first (the real dict is back by then)."""

    __slots__ = ("_real",)

    def __init__(self, real: dict) -> None:
        object.__setattr__(self, "_real", real)

    def _now(self) -> dict:
        d = CURRENT[0]
        if d is not None:
            d.flush()
        return object.__getattribute__(self, "_real")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._now(), name)

    def __getitem__(self, k: Any) -> Any:
        return self._now()[k]

    def __setitem__(self, k: Any, v: Any) -> None:
        self._now()[k] = v

    def __delitem__(self, k: Any) -> None:
        del self._now()[k]

    def __contains__(self, k: Any) -> bool:
        return k in self._now()

    def __iter__(self) -> Any:
        return iter(self._now())

    def __len__(self) -> int:
        return len(self._now())

    def __repr__(self) -> str:
        return repr(self._now())


class Deferred:
    """The pending values of one capture, in creation order: ``(outs, graph tensors, run)``
    entries, where ``run()`` computes the eager tensors the pending ``outs`` become."""

    def __init__(self, cap: Any) -> None:
        self.cap = cap
        self.entries: list[tuple[list, list, Any]] = []
        self.on = True  # still deferring: no value has been needed so far
        self.ids: set[int] = set()  # ids of the pending tensors of the entries
        self.bind = True  # False once the capture has ended: values only, no traced views
        # real tensors with a pending in-place write: [tensor, version bumps eager would make]
        self.writes: list[list] = []
        self.dirty = False  # something was written eagerly: the first run cannot start over
        self.freed: set[int] = set()  # graph ops a deferred backward freed (no retain_graph)
        self.renames: dict[int, type] = {}  # id(pending) -> its node's class (``renamed``)
        self.states: list[tuple] = []  # (optimizer, its state dict) behind a PendingState

    def write(self, t: Tensor, bumps: int) -> None:
        """``t`` gets a pending in-place write (eager's ``bumps`` version bumps made now)."""
        t._vc[0] += bumps
        for w in self.writes:
            if w[0] is t:
                w[1] += bumps
                break
        else:
            self.writes.append([t, bumps])
        pending_write(t)

    def end_body(self) -> None:
        """The function returned: pending writes keep their plain class (the capture's finish
        reads their storage; nobody else can until the plan's first run or the flush)."""
        for t, _ in self.writes:
            write_done(t)
        self._real_states()

    def _real_states(self) -> None:
        states, self.states = self.states, []
        for opt, real in states:
            opt.state = real

    def unwrite(self) -> None:
        """Undo the pending writes' version bumps and classes (the flush or the plan's first run
        makes them for real)."""
        self._real_states()
        writes, self.writes = self.writes, []
        for t, bumps in writes:
            write_done(t)
            t._vc[0] -= bumps

    def add(self, outs: list, gs: list, run: Any) -> None:
        self.entries.append((outs, gs, run))
        self.ids.update(id(t) for t in outs)
        CURRENT[0] = self

    def flush(self) -> None:
        """Compute every pending value, in order; deferring stops for the rest of the call."""
        self.on = False
        entries, self.entries = self.entries, []
        self.ids.clear()
        if CURRENT[0] is self:
            CURRENT[0] = None
        if not self.bind:  # storage no longer traced: keep the values on entry by hand
            for t, _ in self.writes:
                self.cap.before_write(_DATA.__get__(t))
        self.unwrite()
        for outs, gs, run in entries:
            real = run()
            for t, r, g in zip(outs, real, gs, strict=True):
                if type(t) is PendingTensor:
                    become(t, r)
                    cls = self.renames.pop(id(t), None)
                    if cls is not None and t._grad_fn is not None:
                        t._grad_fn.__class__ = cls
                if self.bind:
                    self.cap.rebind(t, g)

    def escaped(self, leaves: list, grads: list) -> bool:
        """Whether a pending tensor is held by anything but the entries, their arguments and
        the function's result (``leaves``, each held by its container and the list) and the
        ``.grad`` of the leaves in ``grads``: it could be read later, and has no value the plan
        would give it."""
        held: dict[int, int] = {}
        for i in [id(t) for t in leaves]:  # (a loop variable would hold the last leaf)
            if i in self.ids:
                held[i] = held.get(i, 0) + 2
        for i in [id(a) for _, _, run in self.entries for a in run.args] + [
                id(t) for outs, _, _ in self.entries for t in outs] + [
                id(x._grad) for x in grads]:  # a leaf's pending .grad: replaced by the run
            if i in self.ids:
                held[i] = held.get(i, 0) + 1
        for outs, _, _ in self.entries:
            for t in outs:
                # the capture's record, the loop variable, getrefcount's argument
                if sys.getrefcount(t) > 3 + held.get(id(t), 0):
                    return True
        return False

    def clear(self) -> None:
        """Forget the entries (their results came from the plan; nobody else holds them)."""
        self.unwrite()
        self.renames.clear()
        self.entries.clear()
        self.ids.clear()
        if CURRENT[0] is self:
            CURRENT[0] = None


#: the :class:`Deferred` with pending entries (captures do not nest: an inner compiled call
#: is inlined)
CURRENT: list = [None]


def materialize(t: Tensor) -> None:
    """Compute ``t``'s value (and every earlier pending value)."""
    d = CURRENT[0]
    if d is None:
        raise RuntimeError("a deferred tensor outlived its capture (dynamic.compile bug)")
    d.flush()
