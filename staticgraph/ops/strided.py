"""Strided views: PyTorch's ``as_strided`` and ``Tensor.unfold(dim, size, step)`` (one record
each, both modes).

Each kernel returns a strided numpy view of its input (writable where the input is), so the
eager mode makes the result a view sharing the version counter: writing it writes the input, as
in PyTorch. Both are a gather at a fixed index, :func:`view_index` (numpy's advanced index
whose ``x[index]`` equals the view), so the VJP scatters the cotangent back with ``index_grad``
(overlapping windows add up) and an in-place write through the view is a ``setitem`` at that
index (``dynamic/_inplace.py``).

``as_strided(x, size, stride, storage_offset)`` reads ``x`` as its row-major flat storage:
element ``storage_offset + sum(i_k * stride_k)``; the eager method maps a view onto its base's
storage first (``dynamic/_torch_strided.py``). ``unfold(x, dim, size, step)`` puts the windows
along ``dim`` and their elements as a new last dim.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import AVal, Op, aval_of, bind, register
from .reductions import sum as reduce_sum
from .shapes import INDEX_GRAD


def as_strided(x, size: tuple, stride: tuple, storage_offset: int = 0):
    return bind(AS_STRIDED, x, size=tuple(int(s) for s in size),
                stride=tuple(int(s) for s in stride), storage_offset=int(storage_offset))


def unfold(x, dim: int, size: int, step: int):
    return bind(UNFOLD, x, dim=int(dim), size=int(size), step=int(step))


# ----------------------------------------------------------------------------- as_strided
def _check_strided(numel: int | None, size: tuple, stride: tuple, offset: int) -> None:
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: size {list(size)}, "
                           f"stride {list(stride)}")
    if any(s < 0 for s in size):
        raise RuntimeError(f"as_strided: negative size in {list(size)}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    if numel is None or 0 in size:
        return
    need = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if need > numel:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset} requiring a storage size of {need} are out of "
                           f"bounds for storage of {numel} elements")


def _strided_impl(x: np.ndarray, size: tuple, stride: tuple, storage_offset: int) -> np.ndarray:
    _check_strided(x.size, size, stride, storage_offset)
    flat = x.reshape(-1)  # a view where x is C-contiguous (the eager method sees to it)
    if 0 in size:
        return np.zeros(size, x.dtype)
    return np.lib.stride_tricks.as_strided(
        flat[storage_offset:], size, tuple(s * x.itemsize for s in stride),
        writeable=bool(x.flags.writeable and x.flags.c_contiguous))


def _strided_infer(x: AVal, size: tuple, stride: tuple, storage_offset: int) -> tuple:
    numel = None if any(d is None for d in x.shape) else math.prod(x.shape)
    _check_strided(numel, size, stride, storage_offset)
    return tuple(size), x.dtype


def _strided_index(shape: tuple, size: tuple, stride: tuple, storage_offset: int) -> tuple:
    flat = np.full(size, storage_offset, np.int64)
    for k, (n, s) in enumerate(zip(size, stride, strict=True)):
        flat += (np.arange(n, dtype=np.int64) * s).reshape((-1,) + (1,) * (len(size) - k - 1))
    return np.unravel_index(flat, shape) if shape else ()


# --------------------------------------------------------------------------------- unfold
def _unfold_dims(shape: tuple, dim: int, size: int, step: int) -> tuple[int, int]:
    """``dim`` normalized and the number of windows (PyTorch's errors)."""
    nd = max(len(shape), 1)
    if not -nd <= dim < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}]"
                         f", but got {dim})")
    d = dim % nd
    n = shape[d] if shape else 1
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if n is not None and size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    return d, (None if n is None else (n - size) // step + 1)


def _unfold_impl(x: np.ndarray, dim: int, size: int, step: int) -> np.ndarray:
    d, w = _unfold_dims(x.shape, dim, size, step)
    if not x.ndim:
        return np.lib.stride_tricks.as_strided(x, (size,), (0,), writeable=x.flags.writeable)
    shape = x.shape[:d] + (w,) + x.shape[d + 1:] + (size,)
    strides = x.strides[:d] + (x.strides[d] * step,) + x.strides[d + 1:] + (x.strides[d],)
    return np.lib.stride_tricks.as_strided(x, shape, strides,
                                           writeable=bool(x.flags.writeable))


def _unfold_infer(x: AVal, dim: int, size: int, step: int) -> tuple:
    d, w = _unfold_dims(x.shape, dim, size, step)
    if not x.shape:
        return (size,), x.dtype
    return x.shape[:d] + (w,) + x.shape[d + 1:] + (size,), x.dtype


def _unfold_index(shape: tuple, dim: int, size: int, step: int) -> tuple:
    if not shape:  # a 0-d input: every element is its one value (the VJP sums)
        return ()
    d, w = _unfold_dims(shape, dim, size, step)
    nd = len(shape) + 1
    index = []
    for i, n in enumerate(shape):
        axis = np.arange(w if i == d else n, dtype=np.int64)
        lay = [1] * nd
        lay[i] = -1
        axis = axis.reshape(lay)
        if i == d:
            axis = axis * step + np.arange(size, dtype=np.int64).reshape((1,) * (nd - 1) + (-1,))
        index.append(axis)
    return tuple(index)


# ------------------------------------------------------------------------------- shared
_INDEX = {"as_strided": _strided_index, "unfold": _unfold_index}


def view_index(name: str, shape: tuple, params: dict[str, Any]) -> tuple | None:
    """numpy's index whose ``x[index]`` is the strided view ``name(x, **params)`` of an ``x`` of
    ``shape`` (``None``: not a strided-view record)."""
    fn = _INDEX.get(name)
    return None if fn is None else fn(tuple(shape), **params)


def _known_shape(x: Any, name: str) -> tuple:
    shape = aval_of(x).shape
    if any(d is None for d in shape):
        raise ValueError(f"{name}: the gradient needs every dim known, got shape {shape}")
    return tuple(int(d) for d in shape)


def _vjp_of(name: str):
    def vjp(g, out, x, **params):
        index = view_index(name, _known_shape(x, name), params)
        if not index:  # a 0-d input: every element of the view is its one value
            return (reduce_sum(g),)
        return (bind(INDEX_GRAD, g, x, index=index),)
    return vjp


AS_STRIDED = register(Op(name="as_strided", impl=_strided_impl, infer=_strided_infer,
                         vjp=_vjp_of("as_strided"), kind="index",
                         grad_name="AsStridedBackward0", tf_name="AsStrided", jvp="linear"))
UNFOLD = register(Op(name="unfold", impl=_unfold_impl, infer=_unfold_infer,
                     vjp=_vjp_of("unfold"), kind="index", grad_name="UnfoldBackward0",
                     tf_name="Unfold", jvp="linear"))
