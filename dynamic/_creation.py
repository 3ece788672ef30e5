"""Creation functions: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``linspace``,
``rand``, ``randn``, ``*_like``... with PyTorch's default dtypes (float32, int64)."""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph.ops.core import with_numpys_dtype

from . import _dtypes
from ._random import generator_of
from ._tensor import Tensor, _as_array, make
from .autograd.grad_mode import INFERENCE, mark_inference

_F32 = np.dtype(np.float32)


def _size(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _dt(dtype: Any, default: np.dtype = _F32) -> np.dtype:
    return default if dtype is None else _dtypes.to_numpy_dtype(dtype)


def _made(data: np.ndarray) -> Tensor:
    """A new tensor over ``data`` (an inference tensor inside ``inference_mode()``)."""
    t = make(with_numpys_dtype(data))
    return mark_inference(t) if INFERENCE[0] else t


def _finish(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = _made(data)
    if requires_grad:
        if data.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t._requires_grad = True
    return t


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor copying ``data`` (nested lists, scalars, arrays or tensors)."""
    if isinstance(data, Tensor):
        a = data._data.astype(_dt(dtype, data._data.dtype), copy=True)
    else:
        a = _as_array(data, dtype)
        if a.base is not None or a is data:
            a = a.copy()
    return _finish(a, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or _dt(dtype) == data._data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or _dt(dtype) == data.dtype):
        return _made(data)
    return _made(_as_array(data, dtype))


def from_numpy(a: np.ndarray) -> Tensor:
    """Shares memory with ``a``."""
    return _made(a)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None,
          out: Any = None) -> Tensor:
    return _finish(np.zeros(_size(size), _dt(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _finish(np.ones(_size(size), _dt(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    if dtype is None:
        dtype = _dtypes.bool if isinstance(fill_value, bool) else (
            _dtypes.int64 if isinstance(fill_value, int) else _dtypes.float32)
    return _finish(np.full(_size((size,)), fill_value, _dt(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False,
        device: Any = None) -> Tensor:
    return _finish(np.eye(n, m, dtype=_dt(dtype)), requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False, device: Any = None) -> Tensor:
    if end is None:
        start, end = 0, start
    ints = all(isinstance(v, int) for v in (start, end, step))
    a = np.arange(start, end, step, dtype=np.float64 if dtype is None and not ints else None)
    return _finish(a.astype(_dt(dtype, np.dtype(np.int64) if ints else _F32)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False, device: Any = None) -> Tensor:
    return _finish(np.linspace(start, end, steps).astype(_dt(dtype)), requires_grad)


def rand(*size: Any, generator: Any = None, dtype: Any = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    a = generator_of(generator).random(_size(size)).astype(_dt(dtype))
    return _finish(a, requires_grad)


def randn(*size: Any, generator: Any = None, dtype: Any = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    a = generator_of(generator).standard_normal(_size(size)).astype(_dt(dtype))
    return _finish(a, requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), generator: Any = None,
            dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    if high is None:
        low, high = 0, low
    a = generator_of(generator).integers(low, high, _size((size,)))
    return _finish(a.astype(_dt(dtype, np.dtype(np.int64))), requires_grad)


def randperm(n: int, generator: Any = None, dtype: Any = None, device: Any = None) -> Tensor:
    return _made(generator_of(generator).permutation(n).astype(_dt(dtype, np.dtype(np.int64))))


def _like(fn: Any) -> Any:
    def like(x: Tensor, dtype: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
        return fn(*x._data.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)

    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with ``x``'s shape and dtype."
    return like


zeros_like, ones_like, empty_like, rand_like, randn_like = (
    _like(zeros), _like(ones), _like(empty), _like(rand), _like(randn))


def full_like(x: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False,
              **kw: Any) -> Tensor:
    return full(tuple(x._data.shape), fill_value, dtype=dtype or x.dtype,
                requires_grad=requires_grad)
