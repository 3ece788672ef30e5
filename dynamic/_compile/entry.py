"""The value each fed tensor had when a capture met it (what the first run's check feeds the
plan), kept as cheaply as is safe.

A tensor only the capture's tensor holds (its array's reference count says so, and the array is
not a view of another) can be written during the call only through its traced array, whose numpy
write paths (ufunc ``out=``/``at``, ``copyto``/``put``/``place``..., item assignment, ``fill``,
``sort``, eager in-place ops, optimizer updates) call :meth:`EntryValues.before_write` first:
its entry value is the array itself until then, copied only when a write is coming. A function
that writes nothing (a forward, ``autograd.grad``: the ``chain`` benchmark's 1M floats) copies
nothing. An array others hold is copied when met, and compared at the end, so that a numpy write
through an outside reference after that is caught (the call stays eager, not replayed wrongly).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from staticgraph.graph.core import Tensor as GTensor

from .._tensor import Tensor
from .traced_array import plain


class EntryValues:
    """A mixin of :class:`.capture.Capture`: ``entry``, ``entry_vc``, ``unsaved``, ``copied``
    and ``by_data`` are the capture's."""

    entry: dict
    entry_vc: dict
    unsaved: dict
    copied: dict
    roots: dict
    by_data: dict

    def _bind_entry(self, t: Tensor, g: GTensor) -> None:
        """Bind a fed tensor. Its value on entry (what the first run's check feeds) is its own
        array until something is about to write into it (:meth:`before_write`), which copies
        it then: a function that writes nothing (a forward, ``autograd.grad``) snapshots
        nothing (4 MB per 1M-float input before)."""
        arr = t._data
        # only the tensor holds its array (the slot, ``arr``, the argument): every write the
        # call can make goes through the traced array, whose numpy write paths call
        # before_write; an array others hold (``p.numpy()`` kept, a view) is copied now
        lazy = type(arr) is np.ndarray and arr.base is None and sys.getrefcount(arr) == 3
        self.entry[g] = arr if lazy else np.array(plain(arr), copy=True)
        arr = None
        deferred = getattr(self, "deferred", None)
        if not lazy and deferred is not None and deferred.on:
            # others may write it through numpy at any moment, unseen: a deferred op reading
            # it later would read another value than eager did, so values are computed now
            deferred.flush()
        self.entry_vc[id(t)] = t._vc[0]
        self._bind(t, g, swap=True)
        (self.unsaved if lazy else self.copied)[id(t._data)] = (t._data, g, t)
        if lazy:  # the array owns its memory: any view written into leads back to it
            self.roots[id(t._data.base)] = id(t._data)

    def before_write(self, dst: Any) -> None:
        """``dst`` (a bound tensor's traced array) is about to be written: keep its entry value."""
        deferred = getattr(self, "deferred", None)
        if deferred is not None:
            deferred.dirty = True  # an eager write: the plan's first run cannot start over
            if deferred.entries:  # pending ops read the value before it
                deferred.flush()
        key, own = id(dst), dst
        if key not in self.unsaved:  # a view of it (an update written tile by tile)
            r = dst
            while isinstance(r.base, np.ndarray):
                r = r.base
            key = self.roots.get(id(r), key)
            own = self.unsaved[key][0] if key in self.unsaved else dst
        hit = self.unsaved.pop(key, None)
        if hit is not None and hit[0] is own:
            self.entry[hit[1]] = np.array(self.entry[hit[1]], copy=True)
            # compared at the end as a shared array is: a write no in-place op made (a numpy
            # write through ``x.numpy()``) is caught there, not replayed wrongly
            self.copied[key] = hit

    def check_saved(self) -> None:
        """A fed tensor written without :meth:`before_write` (a numpy write path it does not
        see) has lost its entry value: the call stays eager rather than check wrongly."""
        for d, _g, t in self.unsaved.values():
            if self._written(d, t):
                self.fail("a write into a captured tensor's storage the capture did not see "
                          "coming (its value on entry is lost)")
                return
        for d, g, t in self.copied.values():  # a write no in-place op made?
            if not self._written(d, t) and not np.array_equal(plain(d), self.entry[g],
                                                             equal_nan=True):
                self.fail("a numpy write into a captured tensor's storage (through its "
                          "numpy() array or an array held outside the function)")
                return

    def _written(self, d: Any, t: Tensor) -> bool:
        deferred = getattr(self, "deferred", None)
        if deferred is not None and any(w[0] is t for w in deferred.writes):
            return False  # a pending write (deferred_step.py): nothing written yet
        st = self.by_data.get(id(d))
        return t._vc[0] != self.entry_vc[id(t)] or (st is not None and st[0] is d and st[2])

