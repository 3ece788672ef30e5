"""NHWC conv2d / max_pool / avg_pool written with the registry's public op functions, for the
eager and plain-numpy renderings of a fuzz program (``staticgraph.conv_ops`` is graph-only).

Written independently of ``conv_ops`` (padding blocks of the padded size, whatever the input
size), so the eager rendering is a second implementation of TF's SAME/VALID rules.
"""

from __future__ import annotations

import numpy as np

from staticgraph import ops


def plan(size: int, k: int, s: int, padding: str) -> tuple[int, int, int]:
    """(pad before, pad after, output size) along one spatial dim, TF's rule."""
    if padding == "VALID":
        out = (size - k) // s + 1
        if out < 1:
            raise ValueError(f"window {k} is larger than the input size {size} (VALID)")
        return 0, 0, out
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2, out


def _pad(x, axis: int, before: int, after: int, fill: float):
    if not (before or after):
        return x
    shape = list(ops.aval_of(x).shape)
    one = ops.zeros_like(ops.getitem(x, (slice(None),) * axis + (slice(0, 1),)))
    parts = []
    for n in (before, after):
        shape[axis] = n
        block = ops.broadcast_to(one, tuple(shape)) if n else None
        parts.append(block if (block is None or fill == 0.0) else ops.add(block, fill))
    pieces = ([parts[0]] if before else []) + [x] + ([parts[1]] if after else [])
    return ops.cat(pieces, axis)


def _windows(x, kh: int, kw: int, s: int, padding: str, fill: float):
    _, h, w, _ = ops.aval_of(x).shape
    th, bh, oh = plan(h, kh, s, padding)
    tw, bw, ow = plan(w, kw, s, padding)
    xp = _pad(_pad(x, 1, th, bh, fill), 2, tw, bw, fill)
    for i in range(kh):
        for j in range(kw):
            yield i, j, ops.getitem(xp, (slice(None), slice(i, i + s * (oh - 1) + 1, s),
                                         slice(j, j + s * (ow - 1) + 1, s)))


def conv2d(x, w, s: int, padding: str):
    kh, kw = ops.aval_of(w).shape[:2]
    acc = None
    for i, j, patch in _windows(x, kh, kw, s, padding, 0.0):
        term = ops.matmul(patch, ops.getitem(w, (i, j)))
        acc = term if acc is None else ops.add(acc, term)
    return acc


def max_pool(x, k: int, s: int, padding: str):
    """The gradient goes to the first maximum of each window (TF's and PyTorch's rule, as
    ``staticgraph.ops.windows.max_over``), never split among ties as ``maximum``'s is."""
    acc = None
    for _, _, patch in _windows(x, k, k, s, padding, -np.inf):
        if acc is None:
            acc = patch
            continue
        acc = ops.where(ops.logical_or(ops.gt(patch, acc), ops.ne(patch, patch)), patch, acc)
    return acc


def avg_pool(x, k: int, s: int, padding: str):
    total = count = None
    windows = _windows(x, k, k, s, padding, 0.0)
    inside_windows = _windows(ops.ones_like(x), k, k, s, padding, 0.0)
    for (_, _, patch), (_, _, inside) in zip(windows, inside_windows, strict=True):
        total = patch if total is None else ops.add(total, patch)
        count = inside if count is None else ops.add(count, inside)
    return ops.div(total, count)
