"""Helpers ``W`` of the wide fuzz rows (:mod:`.ops_wide`): numpy forms of ops that have no
one-call numpy equivalent (the finite-difference oracle's rendering), and the few static/eager
forms written with public functions (``tf.slice`` for narrow, moments for layer norm, attention
with ``ops``, a Python loop twin of ``tf.while_loop``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def erf(x: np.ndarray) -> np.ndarray:
    return _erf(x).astype(np.asarray(x).dtype)


def elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def cumprod(x: np.ndarray, dim: int, reverse: bool) -> np.ndarray:
    if not reverse:
        return np.cumprod(x, dim)
    return np.flip(np.cumprod(np.flip(x, dim), dim), dim)


def sort(x: np.ndarray, dim: int, direction: str) -> np.ndarray:
    s = np.sort(x, dim)
    return np.flip(s, dim) if direction == "DESCENDING" else s


def topk(x: np.ndarray, k: int) -> np.ndarray:
    return np.flip(np.sort(x, -1), -1)[..., :k]


def eye(n: int, dtype: Any) -> np.ndarray:
    """``n I``: added to ``a a^T``, a well-conditioned SPD matrix."""
    return np.eye(n, dtype=dtype) * n


def np_narrow(x: np.ndarray, dim: int, start: int, length: int) -> np.ndarray:
    idx = [slice(None)] * x.ndim
    idx[dim] = slice(start, start + length)
    return x[tuple(idx)]


def tf_narrow(tf: Any, x: Any, dim: int, start: int, length: int) -> Any:
    """``tf.slice`` with ``-1`` (to the end) on every other dim."""
    rank = len(x.shape)
    begin = [start if d == dim else 0 for d in range(rank)]
    size = [length if d == dim else -1 for d in range(rank)]
    return tf.slice(x, begin, size)


def scatter_add(x: np.ndarray, index: np.ndarray, dim: int, src: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    for pos in np.ndindex(index.shape):
        to = list(pos)
        to[dim] = index[pos]
        out[tuple(to)] += src[pos]
    return out


def segment_sum(data: np.ndarray, ids: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n,) + data.shape[ids.ndim:], data.dtype)
    np.add.at(out, ids, data)
    return out


def tf_layer_norm(tf: Any, x: Any, eps: float) -> Any:
    mean, var = tf.nn.moments(x, [len(x.shape) - 1], keep_dims=True)
    return tf.nn.batch_normalization(x, mean, var, None, None, eps)


def np_layer_norm(x: np.ndarray, eps: float) -> np.ndarray:
    m = x.mean(-1, keepdims=True)
    return (x - m) / np.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + eps)


def ops_attention(ops: Any, q: Any, k: Any, v: Any) -> Any:
    """softmax(q k^T / sqrt(E)) v with the registry's functions (the static graph's form)."""
    e = ops.aval_of(q).shape[-1]
    s = ops.mul(ops.matmul(q, ops.transpose(k, -1, -2)), 1.0 / math.sqrt(e))
    return ops.matmul(ops.softmax(s, -1), v)


def np_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    s = np.exp(s - s.max(-1, keepdims=True))
    return (s / s.sum(-1, keepdims=True)) @ v


def loop(ops: Any, x: Any, y: Any, c: float, n: int) -> Any:
    """The eager twin of the ``while`` row: ``x = tanh(c x + y)``, ``n`` times."""
    for _ in range(n):
        x = ops.tanh(ops.add(ops.mul(x, c), y))
    return x


def np_loop(x: np.ndarray, y: np.ndarray, c: float, n: int) -> np.ndarray:
    for _ in range(n):
        x = np.tanh(x * c + y)
    return x
