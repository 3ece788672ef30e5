"""``diagonal``: PyTorch's ``x.diagonal(offset, dim1, dim2)``, a view (one record, both modes).

The kernel returns a strided view of the input (writable where the input is), so the eager mode
makes the result a view sharing the version counter: ``x.diagonal().add_(1)`` writes ``x``, as in
PyTorch. The diagonal is the last dim of the result, the other dims keep their order. Its VJP
scatters the cotangent back with ``index_grad`` (``diagonal_index`` gives numpy's index and where
numpy puts the diagonal dim); ``diagonal_scatter`` writes a new diagonal into a tensor, what an
in-place write through the view records (``CopySlices``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import AVal, Op, aval_of, bind, register
from .shapes import INDEX_GRAD, permute, setitem


def diagonal(x, offset: int = 0, dim1: int = 0, dim2: int = 1):
    return bind(DIAGONAL, x, offset=int(offset), dim1=int(dim1), dim2=int(dim2))


def _dims(nd: int, dim1: int, dim2: int) -> tuple[int, int]:
    for d in (dim1, dim2):
        if not -nd <= d < nd:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, "
                             f"{nd - 1}], but got {d})")
    d1, d2 = dim1 % nd, dim2 % nd
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def _length(shape: tuple, offset: int, d1: int, d2: int) -> int:
    return max(0, min(shape[d1] - max(-offset, 0), shape[d2] - max(offset, 0)))


def _impl(x: np.ndarray, offset: int, dim1: int, dim2: int) -> np.ndarray:
    """A strided view of ``x`` (writable where ``x`` is), the diagonal as the last dim."""
    d1, d2 = _dims(x.ndim, dim1, dim2)
    n = _length(x.shape, offset, d1, d2)
    keep = [i for i in range(x.ndim) if i not in (d1, d2)]
    shape = tuple(x.shape[i] for i in keep) + (n,)
    strides = tuple(x.strides[i] for i in keep) + (x.strides[d1] + x.strides[d2],)
    start = x
    if n:  # a basic-index view starting at the diagonal's first element
        start = x[tuple(slice(max(-offset, 0), None) if i == d1 else
                        slice(max(offset, 0), None) if i == d2 else slice(None)
                        for i in range(x.ndim))]
    return np.lib.stride_tricks.as_strided(start, shape, strides,
                                           writeable=bool(x.flags.writeable))


def _infer(x: AVal, offset: int, dim1: int, dim2: int) -> tuple:
    d1, d2 = _dims(len(x.shape), dim1, dim2)
    shape = x.shape
    n = None if shape[d1] is None or shape[d2] is None else _length(shape, offset, d1, d2)
    keep = [shape[i] for i in range(len(shape)) if i not in (d1, d2)]
    return tuple(keep) + (n,), x.dtype


def diagonal_index(shape: tuple, offset: int, dim1: int, dim2: int) -> tuple[tuple, int]:
    """numpy's index of the diagonal in an array of ``shape``, and the position numpy gives the
    diagonal dim in ``array[index]`` (0 unless ``dim1``, ``dim2`` are adjacent)."""
    d1, d2 = _dims(len(shape), dim1, dim2)
    n = _length(shape, offset, d1, d2)
    rows = np.arange(n) + max(-offset, 0)
    cols = np.arange(n) + max(offset, 0)
    index = tuple(rows if i == d1 else cols if i == d2 else slice(None)
                  for i in range(len(shape)))
    pos = min(d1, d2) if abs(d1 - d2) == 1 else 0
    return index, pos


def _to_numpy_layout(v: Any, nd: int, pos: int) -> Any:
    """``v`` (PyTorch's layout: the diagonal last) with the diagonal dim moved to ``pos``."""
    if pos == nd - 1:
        return v
    perm = list(range(nd - 1))
    perm.insert(pos, nd - 1)
    return permute(v, tuple(perm))


def _known_shape(x: Any) -> tuple:
    shape = aval_of(x).shape
    if any(d is None for d in shape):
        raise ValueError(f"diagonal: the gradient needs every dim known, got shape {shape}")
    return tuple(int(d) for d in shape)


def _vjp(g, out, x, offset, dim1, dim2):
    index, pos = diagonal_index(_known_shape(x), offset, dim1, dim2)
    gn = _to_numpy_layout(g, len(aval_of(x).shape) - 1, pos)
    return (bind(INDEX_GRAD, gn, x, index=index),)


def diagonal_scatter(x, src, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """``x`` with its diagonal replaced by ``src`` (PyTorch's ``torch.diagonal_scatter``)."""
    index, pos = diagonal_index(_known_shape(x), offset, dim1, dim2)
    return setitem(x, _to_numpy_layout(src, len(aval_of(x).shape) - 1, pos), index)


DIAGONAL = register(Op(name="diagonal", impl=_impl, infer=_infer, vjp=_vjp, kind="index",
                       grad_name="DiagonalBackward0", tf_name="MatrixDiagPartV3",
                       jvp="linear"))
