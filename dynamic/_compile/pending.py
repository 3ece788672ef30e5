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
"""

from __future__ import annotations

import sys
from typing import Any

from .._tensor import Tensor

_DATA = Tensor._data  # the slot descriptors, for use while an object is still pending
_GRAD_FN = Tensor._grad_fn
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
        materialize(self)
        return _GRAD_FN.__get__(self)

    @_grad_fn.setter
    def _grad_fn(self, value: Any) -> None:
        materialize(self)
        _GRAD_FN.__set__(self, value)


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


class Deferred:
    """The pending values of one capture, in creation order: ``(outs, graph tensors, run)``
    entries, where ``run()`` computes the eager tensors the pending ``outs`` become."""

    def __init__(self, cap: Any) -> None:
        self.cap = cap
        self.entries: list[tuple[list, list, Any]] = []
        self.on = True  # still deferring: no value has been needed so far
        self.ids: set[int] = set()  # ids of the pending tensors of the entries
        self.bind = True  # False once the capture has ended: values only, no traced views

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
        for outs, gs, run in entries:
            real = run()
            for t, r, g in zip(outs, real, gs, strict=True):
                become(t, r)
                if self.bind:
                    self.cap._bind(t, g, swap=False)

    def escaped(self, leaves: list) -> bool:
        """Whether a pending tensor is held by anything but the entries, their arguments and
        the function's result (``leaves``, each held by its container and the list): it could
        be read later, and has no value the plan would give it."""
        held: dict[int, int] = {}
        for i in [id(t) for t in leaves]:  # (a loop variable would hold the last leaf)
            if i in self.ids:
                held[i] = held.get(i, 0) + 2
        for i in [id(a) for _, _, run in self.entries for a in run.args]:
            if i in self.ids:
                held[i] = held.get(i, 0) + 1
        for outs, _, _ in self.entries:
            for t in outs:
                # the entry's list, the capture's record, the loop variable, getrefcount's
                # argument
                if sys.getrefcount(t) > 4 + held.get(id(t), 0):
                    return True
        return False

    def clear(self) -> None:
        """Forget the entries (their results came from the plan; nobody else holds them)."""
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
