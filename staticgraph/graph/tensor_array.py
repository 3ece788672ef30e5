"""``tf.TensorArray``: a list of tensors a loop can write one step at a time (TF1's API:
``write``/``read``/``stack``/``unstack``/``size``). Each call adds a host op
(:mod:`.tensor_array_ops`) and returns a new TensorArray over the new flow; pass it through
``tf.while_loop`` as a loop variable. Gradients: :mod:`staticgraph.tensor_array_grad`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops, tensor_array_grad  # noqa: F401 - registers the TensorArray gradients
from ..ops.core import AVal
from . import array_ops
from .composite_ops import gather
from .core import Tensor, _user_site
from .dtypes import DType, as_dtype
from .frontend import as_graph_tensor, constant_array, make_const
from .func_graph import function_graph_for
from .indexed_slices import unmark_row_gather
from .tensor_array_ops import ArrayOp, array_op
from .tensor_shape import TensorShape, as_shape


class _Meta:
    """What the TensorArrays over one array share: dtype, element shape (refined by writes),
    growth, name."""

    def __init__(self, dtype: DType, element_shape: TensorShape, dynamic: bool, name: str,
                 infer_shape: bool) -> None:
        self.dtype, self.element_shape, self.dynamic = dtype, element_shape, dynamic
        self.name, self.infer_shape, self.site = name, infer_shape, _user_site()

    def spec(self, kind: str) -> ArrayOp:
        return ArrayOp(kind, self.dtype.np_dtype, self.element_shape.as_tuple(), self.name,
                       self.site, self.dynamic)


def _scalar_int(x: Any, graph: Any, what: str) -> Tensor:
    t = as_graph_tensor(x)
    if t is None:
        return make_const(graph, constant_array(int(x), np.int32))
    if not t.dtype.is_integer or (t.aval.shape is not None and t.aval.shape != ()):
        raise TypeError(f"TensorArray {what} must be a scalar int tensor, got {t}")
    return t


class TensorArray:
    """TF1's ``tf.TensorArray(dtype, size, dynamic_size, element_shape, ...)``."""

    def __init__(self, dtype: Any, size: Any = None, dynamic_size: bool | None = None,
                 clear_after_read: bool | None = None, tensor_array_name: str | None = None,
                 handle: Any = None, flow: Tensor | None = None, infer_shape: bool = True,
                 element_shape: Any = None, colocate_with_first_write_call: bool = True,
                 name: str | None = None, _meta: _Meta | None = None) -> None:
        if _meta is not None:
            self._meta, self._flow = _meta, flow
            return
        if size is None and not dynamic_size:
            raise ValueError("Size must be provided if handle is not provided")
        nm = name or tensor_array_name or "TensorArray"
        self._meta = _Meta(as_dtype(dtype).base_dtype, as_shape(element_shape),
                           bool(dynamic_size), nm, infer_shape)
        from .core import get_default_graph

        g = function_graph_for([size]) or getattr(as_graph_tensor(size), "graph", None) or \
            get_default_graph()
        n = _scalar_int(0 if size is None else size, g, "size")
        self._flow = array_op("new", [n], self._meta.spec("new"), None, nm, g)

    # ------------------------------------------------------------------------- views
    @property
    def flow(self) -> Tensor:
        return self._flow

    @property
    def dtype(self) -> DType:
        return self._meta.dtype

    @property
    def element_shape(self) -> TensorShape:
        return self._meta.element_shape

    @property
    def handle(self) -> Tensor:
        return self._flow

    def _with_flow(self, flow: Tensor) -> TensorArray:
        return TensorArray(self.dtype, flow=flow, _meta=self._meta)

    def _op(self, kind: str, inputs: list, out: AVal | None, name: str | None,
            default: str) -> Any:
        return array_op(kind, [self._flow] + inputs, self._meta.spec(kind), out,
                        name or default)

    def _value(self, value: Any) -> Tensor:
        t = as_graph_tensor(value)
        if t is None:
            g = function_graph_for([self._flow]) or self._flow.graph
            t = make_const(g, constant_array(value, self.dtype))
        if t.dtype.base_dtype != self.dtype:
            raise TypeError(f"TensorArray dtype is {self.dtype.name} but Op is trying to write "
                            f"dtype {t.dtype.base_dtype.name}")
        return t

    def _merge_shape(self, shape: TensorShape) -> None:
        m = self._meta
        if not m.infer_shape:
            return
        if not m.element_shape.is_compatible_with(shape):
            raise ValueError(f"Inconsistent shapes: saw {shape} but expected "
                             f"{m.element_shape} (TensorArray {m.name})")
        m.element_shape = m.element_shape.merge_with(shape)

    # --------------------------------------------------------------------------- API
    def write(self, index: Any, value: Any, name: str | None = None) -> TensorArray:
        """A TensorArray with ``value`` at ``index`` (each index is written once)."""
        v = self._value(value)
        self._merge_shape(v.shape)
        g = function_graph_for([self._flow, v]) or self._flow.graph
        i = _scalar_int(index, g, "index")
        return self._with_flow(self._op("write", [i, v], None, name, "TensorArrayWrite"))

    def read(self, index: Any, name: str | None = None) -> Tensor:
        """The element at ``index`` (zeros if never written and the element shape is known)."""
        g = function_graph_for([self._flow]) or self._flow.graph
        i = _scalar_int(index, g, "index")
        out = AVal(self.element_shape.as_tuple(), self.dtype.np_dtype)
        return self._op("read", [i], out, name, "TensorArrayRead")

    def stack(self, name: str | None = None) -> Tensor:
        """All elements stacked along a new first dimension."""
        es = self.element_shape.as_tuple()
        out = AVal(None if es is None else (None,) + es, self.dtype.np_dtype)
        return self._op("stack", [], out, name, "TensorArrayStack")

    def unstack(self, value: Any, name: str | None = None) -> TensorArray:
        """A TensorArray whose elements are the rows of ``value``."""
        v = self._value(value)
        if v.aval.shape is not None:
            if len(v.aval.shape) == 0:
                raise ValueError(f"TensorArray unstack needs a value of rank 1 or more, got {v}")
            self._merge_shape(TensorShape(v.aval.shape[1:]))
        return self._with_flow(self._op("unstack", [v], None, name, "TensorArrayUnstack"))

    def size(self, name: str | None = None) -> Tensor:
        return self._op("size", [], AVal((), np.dtype(np.int32)), name, "TensorArraySize")

    def identity(self) -> TensorArray:
        return self

    def close(self, name: str | None = None) -> None:
        """Accepted (no resource to free)."""

    def __repr__(self) -> str:
        return f"<tf.TensorArray '{self._meta.name}' dtype={self.dtype.name}>"


def outer_row(x: Any, i: Any) -> Tensor | None:
    """``x[i]`` for a scalar integer tensor ``i`` in a loop body, ``x`` built outside the loop:
    a read of a TensorArray of ``x``'s rows (unstacked outside the loop once), which the loop
    driver turns into a fed row (no gather per iteration). ``None`` where this does not apply."""
    from .core import get_default_graph
    from .func_graph import FuncGraph

    xt, it = as_graph_tensor(x), as_graph_tensor(i)
    body = get_default_graph()
    if (xt is None or it is None or not isinstance(body, FuncGraph) or xt.graph is body
            or not body.encloses(xt.graph) or it.graph is not body or not it.dtype.is_integer
            or it.aval.shape != () or xt.aval.shape is None or len(xt.aval.shape) == 0):
        return None
    cache = xt.graph.__dict__.setdefault("_row_arrays", {})
    ta = cache.get(xt)
    if ta is None:
        with xt.graph.as_default():
            n = xt.aval.shape[0]
            size = n if n is not None else ops.size(xt, 0, np.int32)
            ta = TensorArray(xt.dtype.base_dtype, size=size,
                             element_shape=xt.shape[1:]).unstack(xt)
        cache[xt] = ta
    return ta.read(it)


def _tensor_index(x: Any, idx: tuple) -> Tensor:
    """``x[i, ...]`` for an integer tensor ``i``: a row the loop feeds (:func:`outer_row`),
    else a gather."""
    out = outer_row(x, idx[0])
    out = unmark_row_gather(gather(x, idx[0])) if out is None else out
    return array_ops.getitem(out, idx[1:]) if len(idx) > 1 else out


array_ops.tensor_index = _tensor_index

__all__ = ["TensorArray", "outer_row"]
