"""The eager ``Tensor``, and the frontend that runs registry ops on it and records the graph.

``staticgraph.ops.bind`` finds ``Tensor.__sg_frontend__`` and calls :func:`apply`: the op runs at
once on the wrapped numpy arrays; when grad mode is on and an input requires grad, an ``OpNode``
(named like PyTorch's ``grad_fn``) is attached to the result. This is the eager hot path: it does
only what must happen per op (the shape/dtype rule is cached per op and input signature).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph.ops import AVal, Op
from staticgraph.ops.core import compute_dtype

from . import _device, _dtypes
from ._autograd_attrs import AutogradAttrs
from ._inplace import InplaceMethods
from ._methods import MathMethods
from ._shape_methods import ShapeMethods
from .autograd.grad_mode import GRAD_ENABLED
from .autograd.graph import NONE_EDGE, SEQ, node_class

_new = object.__new__
_ndarray = np.ndarray
_SCALARS = (bool, int, float)
_WEAK = {bool: AVal((), np.dtype(np.bool_), True), int: AVal((), np.dtype(np.int64), True),
         float: AVal((), np.dtype(np.float32), True)}
_VIEW_KINDS = ("shape", "index")
_INFER: dict = {}  # (op, input signature, params) -> (shape, dtype, compute dtype)
_CLASS: dict = {}  # op -> grad_fn class when the op's name does not depend on its arguments


class Frontend:
    """Runs ops eagerly on ``Tensor`` arguments (see module docstring)."""

    priority = 10

    @staticmethod
    def apply(op: Op, args: tuple, params: dict) -> Tensor:
        return apply(op, args, params)


def _infer(op: Op, args: tuple, params: dict) -> tuple:
    avals = []
    for a in args:
        if isinstance(a, Tensor):
            avals.append(a.aval)
        elif type(a) in _WEAK:
            avals.append(_WEAK[type(a)])
        else:
            a = np.asarray(a)
            avals.append(AVal(a.shape, a.dtype))
    try:
        shape, dt = op.infer(*avals, **params)
    except ValueError as e:
        raise RuntimeError(str(e)) from None
    return shape, dt, compute_dtype(op, avals, dt)


def apply(op: Op, args: tuple, params: dict) -> Tensor:
    """Run ``op`` now; record a backward node when needed."""
    arrays = []
    key: list = [op]
    rg = False
    for a in args:
        if isinstance(a, Tensor):
            d = a._data
            arrays.append(d)
            key.append(d.shape)
            key.append(d.dtype)
            if a._requires_grad:
                rg = True
        elif type(a) in _SCALARS:
            arrays.append(a)
            key.append(type(a))
        else:
            if isinstance(a, _SCALARS):  # numpy float64/bool_ subclasses
                a = float(a) if isinstance(a, float) else int(a)
                key.append(type(a))
            else:
                a = np.asarray(a)
                key.append(a.shape)
                key.append(a.dtype)
            arrays.append(a)
    if params:
        key.append(tuple(params.items()))
    try:
        key = tuple(key)
        hit = _INFER.get(key)
        if hit is None:
            hit = _INFER[key] = _infer(op, args, params)
            if len(_INFER) > 20000:
                _INFER.clear()
    except TypeError:  # unhashable params (slices, index arrays)
        hit = _infer(op, args, params)
    dt, cdt = hit[1], hit[2]
    for i, x in enumerate(arrays):
        if type(x) is not _ndarray:
            arrays[i] = np.asarray(x, cdt)
        elif cdt is not None and x.dtype != cdt:
            arrays[i] = x.astype(cdt)
    out = op.impl(*arrays, **params)
    if type(out) is not _ndarray:
        out = np.asarray(out)
    if out.dtype != dt:
        out = out.astype(dt)
    t = _new(Tensor)
    t._data = out
    t._aval = t._grad = t._acc = t._hooks = t._grad_fn = None
    t._output_nr = 0
    t._retains_grad = False
    a0 = args[0] if args else None
    if op.kind in _VIEW_KINDS and out.base is not None and isinstance(a0, Tensor) \
            and np.may_share_memory(out, a0._data):
        t._vc = a0._vc
        t._base = a0._base if a0._base is not None else a0
        t._view = (a0._view or ()) + ((op, params),)
    else:
        t._vc = [0]
        t._base = t._view = None
    if rg and GRAD_ENABLED[0] and op.vjp is not None:
        _record(op, args, params, t)
    else:
        t._requires_grad = False
    return t


def _record(op: Op, args: tuple, params: dict, t: Tensor) -> None:
    cls = _CLASS.get(op)
    if cls is None:
        cls = node_class(op.backward_name(args, params))
        if not callable(op.grad_name):
            _CLASS[op] = cls
    node = _new(cls)
    saves = op.saves
    edges = []
    stored = []
    versions = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            if a._requires_grad:
                fn = a._grad_fn
                edges.append((fn, a._output_nr) if fn is not None else (a._accumulator(), 0))
            else:
                edges.append(NONE_EDGE)
            if i in saves:
                stored.append(a)
                if versions is None:
                    versions = []
                versions.append((i, a._vc[0]))
            else:
                stored.append(a.aval)
        else:
            edges.append(NONE_EDGE)
            stored.append(a)
    node._next = edges
    node._seq = next(SEQ)
    node._freed = False
    node._tensor_hooks = node._retain = node._hooks = node._prehooks = None
    node._op = op
    node._params = params
    node._stored = stored
    node._saved_ver = versions
    if "out" in saves:
        node._out = t._data
        node._out_ver = t._vc
        node._out_saved = t._vc[0]
    else:
        node._out = None
    t._requires_grad = True
    t._grad_fn = node


def make(data: np.ndarray, requires_grad: bool = False, grad_fn: Any = None, output_nr: int = 0,
         version: list | None = None, cls: type | None = None) -> Tensor:
    """Wrap an ndarray (no copy)."""
    t = _new(cls or Tensor)
    t._data = data
    t._aval = t._grad = t._acc = t._hooks = t._base = t._view = None
    t._requires_grad = requires_grad
    t._grad_fn = grad_fn
    t._output_nr = output_nr
    t._retains_grad = False
    t._vc = [0] if version is None else version
    return t


_STANDINS: dict = {}


def standin(aval: AVal) -> Tensor:
    """A zero-cost, shape-only tensor for an input whose values backward never reads."""
    t = _STANDINS.get(aval)
    if t is None:
        t = make(np.broadcast_to(np.zeros((), aval.dtype), aval.shape))
        if len(_STANDINS) < 10000:
            _STANDINS[aval] = t
    return t


def shape_dtype(a: Any) -> tuple:
    if isinstance(a, Tensor):
        return a._data.shape, a._data.dtype
    if isinstance(a, AVal):
        return a.shape, a.dtype
    a = np.asarray(a)
    return a.shape, a.dtype


def sum_to(g: Tensor, shape: tuple, dt: Any, create_graph: bool) -> Tensor:
    """Un-broadcast a gradient (the engine's job, not the rules')."""
    from staticgraph import ops
    from staticgraph.ops import sum_to_shape

    if create_graph:
        return ops.sum_to_like(g, standin(AVal(tuple(shape), np.dtype(dt))))
    return make(np.asarray(sum_to_shape(g._data, shape)))


def cast(g: Tensor, dt: Any, create_graph: bool) -> Tensor:
    from staticgraph import ops

    if create_graph:
        return ops.cast(g, dt)
    return make(g._data.astype(dt))


def to_tensor(x: Any, dtype: Any = None) -> Tensor:
    """``x`` as a Tensor (tensors pass through; Python scalars use PyTorch's default types)."""
    if isinstance(x, Tensor):
        return x
    return make(_as_array(x, dtype))


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    if dtype is not None:
        try:
            return np.array(_unwrap(data), dtype=_dtypes.to_numpy_dtype(dtype))
        except ValueError:
            raise ValueError(_ragged(data)) from None
    try:
        a = np.array(_unwrap(data))
    except ValueError:
        raise ValueError(_ragged(data)) from None
    if a.dtype == np.float64 and not isinstance(data, np.ndarray):
        a = a.astype(np.float32)  # Python floats are float32 by default
    elif a.dtype.kind == "i" and not isinstance(data, np.ndarray):
        a = a.astype(np.int64)
    if a.dtype == object or a.dtype.kind in "USc":
        raise TypeError(f"can't convert {type(data).__name__} to a tensor")
    return a


def _ragged(data: Any, dim: int = 0) -> str:
    """PyTorch's message for nested lists of unequal lengths."""
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], (list, tuple)):
        n = len(data[0])
        for item in data:
            if not isinstance(item, (list, tuple)) or len(item) != n:
                got = len(item) if isinstance(item, (list, tuple)) else type(item).__name__
                return f"expected sequence of length {n} at dim {dim + 1} (got {got})"
        for item in data:
            msg = _ragged(item, dim + 1)
            if msg:
                return msg
    return "" if dim else f"could not convert {type(data).__name__} to a tensor"


def _unwrap(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap(d) for d in data]
    return data


class Tensor(AutogradAttrs, MathMethods, ShapeMethods, InplaceMethods):
    """A multi-dimensional array with PyTorch's autograd behaviour (``import dynamic as torch``)."""

    __slots__ = ("_data", "_requires_grad", "_grad_fn", "_output_nr", "_grad", "_vc",
                 "_base", "_view", "_aval", "_acc", "_hooks", "_retains_grad", "__weakref__")
    __sg_frontend__ = Frontend()
    __array_priority__ = 1000  # numpy defers ``ndarray + Tensor`` to our reflected operators

    def __new__(cls, *args: Any, **kwargs: Any) -> Tensor:
        """``torch.Tensor([1, 2])`` (float32 data) or ``torch.Tensor(2, 3)`` (zeros, that size)."""
        if args and all(isinstance(a, int) for a in args):
            return make(np.zeros(args, np.float32), cls=cls)
        if not args:
            return make(np.zeros((0,), np.float32), cls=cls)
        return make(_as_array(args[0], _dtypes.float32), cls=cls)

    # -------------------------------------------------------------------------- properties
    @property
    def aval(self) -> AVal:
        av = self._aval
        if av is None:
            d = self._data
            av = self._aval = AVal(d.shape, d.dtype)
        return av

    @property
    def shape(self) -> _dtypes.Size:
        return _dtypes.Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return _dtypes.Size(self._data.shape)
        return self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    @property
    def dtype(self) -> _dtypes.dtype:
        return _dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> str:
        return _device.CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    @property
    def data(self) -> Tensor:
        """The same storage, untracked (no grad, its own version counter)."""
        return make(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)
        self._aval = None

    # --------------------------------------------------------------------- conversions
    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to "
                               "Scalar")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def numpy(self, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._data if dtype is None else self._data.astype(dtype)

    def __repr__(self) -> str:
        from ._format import tensor_repr

        return tensor_repr(self)

    def __str__(self) -> str:
        return self.__repr__()

    def __format__(self, spec: str) -> str:
        """f-strings format a 0-d tensor as its Python number (PyTorch does the same)."""
        if self._data.ndim == 0:
            return self._data.item().__format__(spec)
        return object.__format__(self, spec)

    __hash__ = object.__hash__

    def __deepcopy__(self, memo: dict) -> Tensor:
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        t = make(self._data.copy(), self._requires_grad, cls=type(self))
        if self._grad is not None:
            t._grad = make(self._grad._data.copy())
        memo[id(self)] = t
        return t

    def __reduce_ex__(self, proto: int) -> Any:
        return (_rebuild, (type(self), self._data, self._requires_grad))


def _rebuild(cls: type, data: np.ndarray, requires_grad: bool) -> Tensor:
    return make(data, requires_grad, cls=cls)
