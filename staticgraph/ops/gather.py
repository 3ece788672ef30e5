"""PyTorch's ``gather`` and ``scatter_add`` along one dim (``gather``'s VJP is a
``scatter_add`` into zeros, and ``scatter_add``'s a ``gather``)."""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, aval_of, bind, normalize_dims, register, result_type
from .shapes import zeros_like
from .unknown_rank import dims_at_rank, known_rank


def _op(name, impl, infer, vjp=None, *, grad_name="", saves=(), nin=1, kind="index", tf="",
        **facts):
    facts.setdefault("jvp", "linear" if vjp is not None else None)  # forward mode: op(tangents)
    return register(Op(name=name, impl=impl, infer=infer, vjp=vjp, kind=kind,
                       grad_name=grad_name, saves=saves, nin=nin, tf_name=tf, **facts))


def _axis(x, dim) -> int:
    """One axis of ``x``: normalized, or raw when the rank is unknown (``at_rank``)."""
    return normalize_dims(dim, aval_of(x).ndim)[0] if known_rank(x) else int(dim)


def gather(x, index, dim):
    """``out[i][j] = x[i][index[i][j]]`` along ``dim`` (PyTorch's ``gather``; ``index`` int64)."""
    return bind(GATHER, x, index, dim=_axis(x, dim))


def scatter_add(x, src, index, dim):
    """A copy of ``x`` with ``src`` added at ``index`` along ``dim`` (repeated indices add up)."""
    return bind(SCATTER_ADD, x, src, index, dim=_axis(x, dim))


def _along(index: np.ndarray, dim: int) -> tuple:
    """Full integer index tuple addressing ``index``'s positions, with ``index`` along ``dim``."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def _gather_infer(x: AVal, index: AVal, dim) -> tuple:
    if index.dtype.kind not in "iu":
        raise ValueError("gather(): Expected dtype int64 for index")
    if index.ndim != x.ndim:
        raise ValueError("Index tensor must have the same number of dimensions as input tensor")
    return index.shape, x.dtype


def _scatter_add_impl(x, src, index, dim):
    if x.dtype == np.float16:  # added in float32, rounded once (torch.scatter_add's 3000, not
        return _scatter_add_impl(x.astype(np.float32), src.astype(np.float32),  # 2048, for
                                 index, dim).astype(np.float16)  # 3000 ones on one slot)
    out = np.array(x, copy=True)
    np.add.at(out, _along(index, dim), src[tuple(slice(0, n) for n in index.shape)])
    return out


GATHER = _op("gather", lambda x, index, dim: x[_along(index, dim)], _gather_infer,
             lambda g, out, x, index, dim: (scatter_add(zeros_like(x), g, index, dim), None),
             nin=2, saves=(1,), grad_name="GatherBackward0", tf="GatherV2", kind="index",
             at_rank=dims_at_rank(single=True))
SCATTER_ADD = _op("scatter_add", _scatter_add_impl,
                  lambda x, src, index, dim: (x.shape, result_type(x, src)),
                  lambda g, out, x, src, index, dim: (g, gather(g, index, dim), None),
                  nin=3, saves=(2,), grad_name="ScatterAddBackward0", tf="ScatterAdd",
                  kind="index", at_rank=dims_at_rank(single=True))
