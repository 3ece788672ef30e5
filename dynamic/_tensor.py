"""The eager ``Tensor`` data structure, and ``make``, which wraps an ndarray into one.

This is the leaf of the eager mode: it imports only numpy, the registry's ``AVal`` and the dtype,
device and repr leaves. ``Tensor`` here holds the storage (``_data``), the autograd slots and the
data properties; ``_tensor_methods`` attaches the method groups (arithmetic, shapes, in-place,
autograd attributes) and the frontend that runs registry ops on tensors (``_frontend``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph.ops import AVal

from . import _device, _dtypes
from ._format import tensor_repr

_new = object.__new__


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


def wrap(data: np.ndarray) -> Tensor:
    """``make(data)``: a fresh Tensor without history over ``data`` (no copy), without
    ``make``'s optional arguments (the engine's results)."""
    t = _new(Tensor)
    t._data = data
    t._aval = t._grad = t._acc = t._hooks = t._base = t._view = t._grad_fn = None
    t._requires_grad = t._retains_grad = False
    t._output_nr = 0
    t._vc = [0]
    return t


_STANDINS: dict = {}
_AVALS: dict = {}  # (shape, dtype) -> AVal


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
    if isinstance(data, (np.ndarray, np.generic)):  # numpy arrays and scalars keep their dtype
        pass
    elif a.dtype == np.float64:
        a = a.astype(np.float32)  # Python floats are float32 by default
    elif a.dtype.kind == "i":
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


class Tensor:
    """A multi-dimensional array with PyTorch's autograd behaviour (``import dynamic as torch``).

    Slots: ``_data`` the ndarray; ``_requires_grad``, ``_grad_fn`` (the node that made it) and
    ``_output_nr`` its place on the tape; ``_grad``, ``_retains_grad``, ``_hooks`` and ``_acc``
    (its ``AccumulateGrad``, weakly held) for leaves; ``_vc`` the version counter shared with
    views, ``_base``/``_view`` the viewed tensor and the view ops from it; ``_aval`` a cache.
    """

    __slots__ = ("_data", "_requires_grad", "_grad_fn", "_output_nr", "_grad", "_vc",
                 "_base", "_view", "_aval", "_acc", "_hooks", "_retains_grad", "__weakref__")
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
            key = (d.shape, d.dtype)
            av = _AVALS.get(key)
            if av is None:  # a frozen dataclass costs ~0.7 us to build: one per shape and dtype
                av = AVal(d.shape, d.dtype)
                if len(_AVALS) < 10000:
                    _AVALS[key] = av
            self._aval = av
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
        return tensor_repr(self)

    def __str__(self) -> str:
        return self.__repr__()

    def __format__(self, spec: str) -> str:
        """f-strings format a 0-d tensor as its Python number (PyTorch does the same)."""
        if self._data.ndim == 0:
            return self._data.item().__format__(spec)
        return object.__format__(self, spec)

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
