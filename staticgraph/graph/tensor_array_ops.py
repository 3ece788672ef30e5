"""TensorArray ops: host ops on an opaque list value (:class:`TensorList`), TF1's
``TensorArray*V3`` kernels.

A TensorArray is a value, not a resource: each ``write`` returns a new list (the *flow*, a
float32 scalar in the graph as in TF1), so a loop carries it like any loop variable and the
gradient is ordinary. Cotangents of a list are lists (``None`` entries are zeros; a shorter
list is padded with zeros), added by ``TensorArrayAdd``. Every op here has ``op.host``
(:class:`ArrayOp`), run by the executors through :mod:`staticgraph.host_ops`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ops.core import AVal
from .core import Graph, Operation, Tensor, get_default_graph
from .errors import InvalidArgumentError
from .func_graph import function_graph_for, mark_opaque

FLOW = AVal((), np.dtype(np.float32))


class TensorList:
    """A TensorArray's contents: a tuple of arrays (``None``: not written / zero)."""

    __slots__ = ("items", "dynamic")

    def __init__(self, items: tuple, dynamic: bool = True) -> None:
        self.items = items
        self.dynamic = dynamic

    def __repr__(self) -> str:
        return f"<TensorList of {len(self.items)}>"


@dataclass
class ArrayOp:
    """One TensorArray op: ``kind`` and its static facts (dtype, element shape)."""

    __sg_export__ = True  # a meta graph holds it (staticgraph.serialize)

    kind: str
    dtype: np.dtype
    element_shape: tuple | None  # None: unknown rank
    name: str
    site: str = ""
    dynamic: bool = False  # writes past the end grow the array

    def clone(self) -> ArrayOp:
        return self

    def _zeros(self, like: Any = None) -> np.ndarray:
        if like is not None:
            return np.zeros(np.shape(like), self.dtype)
        if self.element_shape is None or None in self.element_shape:
            raise InvalidArgumentError(None, None, f"TensorArray {self.name}: could not read an "
                                       "element that was never written: its element shape is "
                                       "not fully defined (set element_shape to read zeros)")
        return np.zeros(self.element_shape, self.dtype)

    def _index(self, tl: TensorList, i: Any, write: bool) -> int:
        k = int(i)
        n = len(tl.items)
        if k < 0 or (k >= n and not (write and tl.dynamic)):
            verb = "write to" if write else "read from"
            raise InvalidArgumentError(None, None, f"TensorArray {self.name}: Tried to {verb} "
                                       f"index {k} but array size is: {n}")
        return k

    def run(self, inputs: Sequence[Any], prepare: Any = None, compiled: bool = False) -> list:
        return [getattr(self, "_" + self.kind)(*inputs)]

    def row(self, tl: TensorList, i: Any) -> np.ndarray:
        """``read`` without the copy (a loop driver feeding a gathered row)."""
        v = tl.items[self._index(tl, i, False)]
        return v if v is not None else self._zeros()

    # ------------------------------------------------------------------------- kernels
    def _new(self, size: Any) -> TensorList:
        return TensorList((None,) * int(size), dynamic=self.dynamic)

    def _write(self, tl: TensorList, i: Any, v: Any) -> TensorList:
        k = self._index(tl, i, True)
        items = list(tl.items) + [None] * (k + 1 - len(tl.items))
        if items[k] is not None:
            raise InvalidArgumentError(None, None, f"TensorArray {self.name}: Could not write to "
                                       f"TensorArray index {k} because it has already been "
                                       "written to.")
        items[k] = np.asarray(v, self.dtype)
        return TensorList(tuple(items), tl.dynamic)

    def _read(self, tl: TensorList, i: Any) -> np.ndarray:
        v = tl.items[self._index(tl, i, False)]
        return np.array(v, copy=True) if v is not None else self._zeros()

    def _stack(self, tl: TensorList) -> np.ndarray:
        rows = [self._zeros() if v is None else v for v in tl.items]
        if rows:
            return np.stack(rows)
        shape = (0,) + tuple(0 if d is None else d for d in (self.element_shape or ()))
        return np.zeros(shape, self.dtype)

    def _unstack(self, tl: TensorList, v: Any) -> TensorList:
        rows = list(np.asarray(v, self.dtype))
        items = list(tl.items) + [None] * (len(rows) - len(tl.items))
        if len(rows) > len(tl.items) and not tl.dynamic:
            raise InvalidArgumentError(None, None, f"TensorArray {self.name}: Could not scatter "
                                       f"{len(rows)} rows into an array of size "
                                       f"{len(tl.items)}")
        items[:len(rows)] = rows
        return TensorList(tuple(items), tl.dynamic)

    def _size(self, tl: TensorList) -> np.ndarray:
        return np.asarray(len(tl.items), np.int32)

    # --------------------------------------------------------------- gradient kernels
    def _empty(self) -> TensorList:
        return TensorList(())

    def _add(self, a: TensorList, b: TensorList) -> TensorList:
        n = max(len(a.items), len(b.items))
        pa = a.items + (None,) * (n - len(a.items))
        pb = b.items + (None,) * (n - len(b.items))
        return TensorList(tuple(x if y is None else y if x is None else x + y
                                for x, y in zip(pa, pb, strict=True)))

    def _grad_at(self, g: TensorList, i: Any, like: Any) -> np.ndarray:
        k = int(i)
        v = g.items[k] if k < len(g.items) else None
        return np.zeros(np.shape(like), self.dtype) if v is None else v

    def _clear(self, g: TensorList, i: Any) -> TensorList:
        k = int(i)
        if k >= len(g.items):
            return g
        return TensorList(g.items[:k] + (None,) + g.items[k + 1:])

    def _one_hot(self, i: Any, v: Any) -> TensorList:
        k = int(i)
        return TensorList((None,) * k + (np.asarray(v),))

    def _rows(self, v: Any) -> TensorList:
        return TensorList(tuple(np.asarray(v)))

    def _grad_rows(self, g: TensorList, like: Any) -> np.ndarray:
        like = np.asarray(like)
        out = np.zeros(like.shape, self.dtype)
        for k, v in enumerate(g.items[:len(like)]):
            if v is not None:
                out[k] = v
        return out

    def _scatter_list(self, idx: Any, rows: Any) -> TensorList:
        """The cotangent of a TensorArray read at ``idx[k]`` with cotangent ``rows[k]``."""
        ks = [int(k) for k in idx.items]
        items: list = [None] * (max(ks) + 1 if ks else 0)
        for k, v in zip(ks, rows.items, strict=True):
            items[k] = v if items[k] is None else items[k] + v
        return TensorList(tuple(items))

    def _gather_list(self, g: TensorList, idx: Any, like: Any) -> Any:
        from .loop_driver import Stack

        out = []
        for k, v in zip(idx.items, like.items, strict=True):
            k = int(k)
            r = g.items[k] if k < len(g.items) else None
            out.append(np.zeros(np.shape(v), self.dtype) if r is None else r)
        return Stack(out)

    def _clear_rows(self, g: TensorList, like: Any) -> TensorList:
        n = len(np.asarray(like))
        return TensorList((None,) * min(n, len(g.items)) + g.items[n:])


def array_op(kind: str, inputs: Sequence[Tensor], spec: ArrayOp, out: AVal | None,
             name: str, graph: Graph | None = None) -> Tensor:
    """Add TensorArray op ``kind``; its output is a value of ``out`` (a flow when ``None``)."""
    g: Graph = graph or function_graph_for(inputs) or (inputs[0].graph if inputs
                                                       else get_default_graph())
    spec = ArrayOp(kind, spec.dtype, spec.element_shape, spec.name, spec.site, spec.dynamic)
    op: Operation = g.create_op("TensorArray" + kind.title().replace("_", ""), list(inputs),
                                {"spec": spec}, [out or FLOW], name)
    op.host = spec
    t = op.outputs[0]
    return mark_opaque(t) if out is None else t


def scatter_rows(idx: Tensor, rows: Tensor) -> Tensor:
    """The TensorArray cotangent of rows read at the indices in stack ``idx`` with the
    cotangents in stack ``rows`` (a loop's gathered rows)."""
    spec = ArrayOp("scatter_list", rows.aval.dtype, None, "rows")
    return array_op("scatter_list", [idx, rows], spec, None, "TensorArrayScatterRows")


def empty_like(t: Tensor) -> Tensor:
    """A zero cotangent for a TensorArray flow ``t`` (an empty list)."""
    g = function_graph_for([t]) or t.graph
    return array_op("empty", [], ArrayOp("empty", np.dtype(np.float32), None, "zero"), None,
                    "TensorArrayZeros", g)


def add_opaque(parts: Sequence[Tensor]) -> Tensor:
    """The sum of TensorArray cotangents."""
    out = parts[0]
    spec = ArrayOp("add", np.dtype(np.float32), None, "grad")
    for p in parts[1:]:
        out = array_op("add", [out, p], spec, None, "TensorArrayAdd")
    return out


__all__ = ["TensorList", "ArrayOp", "array_op", "empty_like", "add_opaque", "scatter_rows",
           "FLOW"]
