"""``TracedArray``: the storage view a traced tensor wears while its function is being captured.

Capture runs the user's function eagerly once. Code that reads a traced tensor's *values* into
Python (``bool(x.sum() > 0)``, ``x.item()``, ``int(i)``, an index array taken from ``i._data``)
makes the captured graph depend on those values. Such reads go through numpy, so a traced
tensor's ``_data`` is swapped for this ndarray subclass during the capture: reads that leave numpy
(``__bool__``, ``__int__``, ``item``, ``tolist``...) are reported to the active capture, and
arrays derived from it stay ``TracedArray`` so a tensor made from them outside the op registry
is recognized as data-dependent.

``_sg_src`` is the graph tensor whose value this array holds exactly (one element, reached only
through views and elementwise maps of that single source): a read of it can be *guarded* (the
plan is reused while that value is the same). Any other read breaks the graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: the active capture (``capture.Capture``) or ``None``; set only while a function is traced
ACTIVE: list = [None]


_WRITERS = frozenset((np.copyto, np.put, np.place, np.putmask, np.put_along_axis,
                      np.fill_diagonal))  # numpy functions writing into their first argument


def _src_of(arrays: Any) -> Any:
    """The one graph source shared by the traced arrays among ``arrays`` (else ``None``)."""
    srcs = {id(s): s for s in (getattr(a, "_sg_src", None) for a in arrays) if s is not None}
    return next(iter(srcs.values())) if len(srcs) == 1 else None


class TracedArray(np.ndarray):
    """A view of a traced tensor's storage that reports reads of its values (module doc)."""

    _sg_src: Any = None
    _sg_from: Any = None  # the traced array this one broadcasts (``np.broadcast_to``)

    def __array_finalize__(self, obj: Any) -> None:
        src = getattr(obj, "_sg_src", None)
        self._sg_src = src if src is not None and self.size == 1 else None

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        src = _src_of(inputs)
        plain = tuple(i.view(np.ndarray) if isinstance(i, TracedArray) else i for i in inputs)
        kwargs_out = kwargs.get("out", ())
        cap = ACTIVE[0]
        if cap is not None:
            for o in kwargs_out + ((inputs[0],) if method == "at" else ()):
                if isinstance(o, TracedArray):
                    cap.before_write(o)
        if "out" in kwargs:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, TracedArray) else o
                                  for o in kwargs["out"])
        res = getattr(ufunc, method)(*plain, **kwargs)
        cap = ACTIVE[0]
        if cap is not None and "out" in kwargs and not cap.handled and any(
                isinstance(o, TracedArray) for o in kwargs_out):
            cap.fail(f"numpy writes into a traced tensor's storage ({ufunc.__name__}, out=)")
        return _wrap(res, src)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        cap = ACTIVE[0]
        if cap is not None:
            dst = kwargs.get("out")
            if func in _WRITERS:
                dst = args[0] if args else kwargs.get("dst", kwargs.get("a", kwargs.get("arr")))
            for o in dst if isinstance(dst, tuple) else (dst,):
                if isinstance(o, TracedArray):
                    cap.before_write(o)
        res = super().__array_function__(func, types, args, kwargs)
        if cap is None:
            return res
        if func is np.copyto:
            dst = args[0] if args else kwargs["dst"]
            src = args[1] if len(args) > 1 else kwargs["src"]
            cap.storage_write(dst, src)
        elif func is np.broadcast_to and isinstance(res, np.ndarray) \
                and not isinstance(res, TracedArray):
            out = res.view(TracedArray)  # values of a traced array: still traced
            out._sg_from = args[0]
            return out
        return res

    def __getitem__(self, idx: Any) -> Any:
        return _wrap(super().__getitem__(idx), self._sg_src if self.size == 1 else None)

    # ---------------------------------------- writes: the capture keeps the value on entry
    def _will_write(self) -> None:
        cap = ACTIVE[0]
        if cap is not None:
            cap.before_write(self)

    def __setitem__(self, idx: Any, value: Any) -> None:
        self._will_write()
        super().__setitem__(idx, value)

    def fill(self, value: Any) -> None:
        self._will_write()
        super().fill(value)

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._will_write()
        super().sort(*args, **kwargs)

    def partition(self, *args: Any, **kwargs: Any) -> None:
        self._will_write()
        super().partition(*args, **kwargs)

    def put(self, *args: Any, **kwargs: Any) -> None:
        self._will_write()
        super().put(*args, **kwargs)

    # ------------------------------------------------------------- reads that leave numpy
    def _read(self, kind: str) -> np.ndarray:
        cap = ACTIVE[0]
        if cap is not None:
            cap.value_read(self, kind)
        return self.view(np.ndarray)

    def __bool__(self) -> bool:
        return bool(self._read("bool()"))

    def __int__(self) -> int:
        return int(self._read("int()"))

    def __float__(self) -> float:
        return float(self._read("float()"))

    def __index__(self) -> int:
        return self._read("an index").__index__()

    def item(self, *args: Any) -> Any:
        return self._read("item()").item(*args)

    def tolist(self) -> Any:
        return self._read("tolist()").tolist()

    def __reduce_ex__(self, proto: Any) -> Any:
        return self._read("pickling").__reduce_ex__(proto)


def _wrap(res: Any, src: Any) -> Any:
    if isinstance(res, tuple):
        return tuple(_wrap(r, src) for r in res)
    if isinstance(res, np.generic):
        res = np.asarray(res)
    if isinstance(res, np.ndarray):
        out = res.view(TracedArray)
        out._sg_src = src if out.size == 1 else None
        return out
    return res


def traced_view(data: np.ndarray, src: Any) -> TracedArray:
    """``data`` as a ``TracedArray`` whose one-element reads are guarded on ``src``."""
    out = data.view(TracedArray)
    out._sg_src = src if data.size == 1 else None
    return out


def plain(data: np.ndarray) -> np.ndarray:
    """The ndarray behind a ``TracedArray`` (other arrays pass through)."""
    return data.view(np.ndarray) if isinstance(data, TracedArray) else data
