"""``tf.pad`` (modes ``CONSTANT``, ``REFLECT``, ``SYMMETRIC``) as concatenations along each
padded axis: the border blocks are slices of the input (mirrored) or a fill value broadcast
over a one-wide slice, so the result and its gradient (concat's slices) need no new op and
work on inputs of unknown rank (the rank is ``len(paddings)``, the shape ``(?, ?)`` as TF
infers)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import ops
from .array_ops import index_at
from .composite_ops import with_rank
from .core import Tensor
from .frontend import as_graph_tensor
from .math_ops import _final, _t, composite

_slice = builtins.slice
MODES = ("CONSTANT", "REFLECT", "SYMMETRIC")
_TF_ENUM = {"float64": "DOUBLE", "float32": "FLOAT", "float16": "HALF"}  # TF's DataType names


def _paddings(paddings: Any, x: Tensor, node: str, op_type: str) -> list[tuple[int, int]]:
    """``paddings`` as (before, after) pairs, checked as TF checks them when building ``node``
    (the error names the node as TF's shape inference does)."""
    if as_graph_tensor(paddings) is not None:
        raise NotImplementedError("tf.pad with paddings given as a graph tensor is not "
                                  "supported by staticgraph; pass a list of [before, after] "
                                  "pairs")
    p = np.asarray(paddings)
    dt = _TF_ENUM.get(x.dtype.base_dtype.name, x.dtype.base_dtype.name.upper())
    where = (f"'{{{{node {node}}}}} = {op_type}[T=DT_{dt}, "
             f"Tpaddings=DT_INT32]({x.op.name}, {node}/paddings)' with input shapes: "
             f"{x.shape.tf_list_str()}, [{','.join(str(d) for d in p.shape)}]")
    if p.ndim != 2 or p.shape[1] != 2 or (x.aval.shape is not None and p.shape[0] != x.ndim):
        what = (f"Shape must be rank 2 but is rank {p.ndim}" if p.ndim != 2 else
                f"Dimension must be 2 but is {p.shape[1]}" if p.shape[1] != 2 else
                f"Shape must be rank {p.shape[0]} but is rank {x.ndim}")
        raise ValueError(f"{what} for {where}.")
    pairs = [(int(a), int(b)) for a, b in p]
    if any(a < 0 or b < 0 for a, b in pairs):
        rows = "".join(f"[{a} {b}]" for a, b in pairs)
        raise ValueError(f"Paddings must be non-negative for {where} and with computed input "
                         f"tensors: input[1] = <{rows}>.")
    return pairs


def _border(x: Tensor, axis: int, n: int, before: bool, mode: str, fill: Any) -> Tensor:
    """The ``n``-wide block put before (or after) ``x`` along ``axis``. A constant block is
    made from a one-wide slice of ``x``, or, where ``axis`` may be empty when run (size 0 or
    unknown when built), from the sum of ``zeros_like(x)`` over it (a slice of an empty axis is
    empty: the padding came out missing)."""
    if mode == "CONSTANT":
        shape = x.aval.shape
        if shape is not None and shape[axis] is not None and shape[axis] > 0:
            one = ops.getitem(x, index_at(axis, _slice(0, 1)))
        else:
            one = ops.sum(ops.zeros_like(x), axis, keepdim=True)
        block = ops.add(ops.zeros_like(one), fill) if fill else ops.zeros_like(one)
        return block if n == 1 else ops.cat([block] * n, axis)
    skip = 1 if mode == "REFLECT" else 0  # REFLECT leaves out the edge element, SYMMETRIC not
    if before:
        idx = _slice(n - 1 + skip, None if skip == 0 else 0, -1)
    else:
        idx = _slice(-1 - skip, -1 - skip - n, -1)
    return ops.getitem(x, index_at(axis, idx))


def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", name: str | None = None,
        constant_values: Any = 0) -> Tensor:
    """``tensor`` with ``paddings[i] = [before, after]`` elements added along axis ``i``."""
    x = _t(tensor)
    mode_u = str(mode).upper()
    if mode_u not in MODES:
        raise ValueError(f'Value of argument `mode` expected to be one of "CONSTANT", "REFLECT", '
                         f'or "SYMMETRIC". Received `mode` = {mode}')
    fill = np.asarray(constant_values, x.dtype.base_dtype.np_dtype)[()]
    default = "MirrorPad" if mode_u != "CONSTANT" else "PadV2" if fill else "Pad"
    with composite(name, default, x) as stem:
        pairs = _paddings(paddings, x, stem[:-1], default)
        return _pad(stem, x, pairs, mode_u, fill)


def _pad(stem: str, x: Tensor, pairs: list[tuple[int, int]], mode_u: str, fill: Any) -> Tensor:
    """The concatenations, the last one named ``stem``."""
    if x.aval.shape is not None and mode_u != "CONSTANT":
        for (a, b), d in zip(pairs, x.aval.shape, strict=True):
            limit = d - (mode_u == "REFLECT") if d is not None else None
            if limit is not None and max(a, b) > limit:
                raise ValueError(f"paddings must be less than the dimension size: {a}, {b} not "
                                 f"less than {d}" if mode_u == "REFLECT" else
                                 f"paddings must be no greater than the dimension size: {a}, "
                                 f"{b} greater than {d}")
    out = with_rank(x, len(pairs))
    todo = [(i, a, b) for i, (a, b) in enumerate(pairs) if a or b]
    if not todo:
        return _final(stem, ops.getitem, out, (Ellipsis,))
    for k, (i, a, b) in enumerate(todo):
        parts = ([_border(out, i, a, True, mode_u, fill)] if a else []) + [out] + (
            [_border(out, i, b, False, mode_u, fill)] if b else [])
        out = _final(stem, ops.cat, parts, i) if k == len(todo) - 1 else ops.cat(parts, i)
    return out


__all__ = ["pad"]
