"""``nn.EmbeddingBag`` / ``F.embedding_bag``: sums, means or maxima of bags of embedding rows,
without making the per-id rows visible.

Bags are the rows of a 2-d ``input`` or the slices of a 1-d ``input`` cut at ``offsets``. The
rows are a ``getitem`` of the weight; ``sum``/``mean`` scatter-add them into their bag
(``index_grad``, the registry's scatter-add), ``max`` takes each bag's ``amax``; an empty bag
is zeros, as in PyTorch. One ``EmbeddingBagBackward0`` node over the weight (and
``per_sample_weights``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph import ops
from staticgraph.ops.shapes import INDEX_GRAD

from .._tensor import Tensor, make, to_tensor
from .._torch_methods import one_node
from . import init
from .modules import Module, Parameter


def _bags(ids: np.ndarray, offsets: Any, include_last_offset: bool) -> tuple:
    """Flat ids and, per id, the number of its bag; the number of bags."""
    if ids.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found offsets"
                             " of type Tensor")
        b, n = ids.shape
        return ids.reshape(-1), np.repeat(np.arange(b), n), b
    if ids.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{ids.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    off = to_tensor(offsets)._data.astype(np.int64).reshape(-1)
    if off.size and off[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch"
                           f" has to start from position 0. However, got {int(off[0])}")
    ends = np.append(off, ids.size)
    if include_last_offset:
        ends = off
    b = ends.size - 1
    lengths = np.maximum(np.diff(ends), 0)
    return ids, np.repeat(np.arange(b), lengths), b


def embedding_bag(input: Tensor, weight: Tensor, offsets: Any = None,  # noqa: A002
                  max_norm: Any = None, norm_type: float = 2, scale_grad_by_freq: bool = False,
                  mode: str = "mean", sparse: bool = False, per_sample_weights: Any = None,
                  include_last_offset: bool = False, padding_idx: int | None = None) -> Tensor:
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("F.embedding_bag(max_norm/scale_grad_by_freq/sparse) is not "
                                  "supported by this project; leave them at their defaults")
    raw = to_tensor(input)._data
    if raw.dtype.kind not in "iu":
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int")
    ids, bag, nbags = _bags(raw, offsets, include_last_offset)
    ids = ids.astype(np.int64)
    n, dim = weight.shape
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        raise IndexError("index out of range in self")
    psw = None if per_sample_weights is None else to_tensor(per_sample_weights)
    if psw is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    keep = np.ones(ids.size, bool) if padding_idx is None else ids != padding_idx % n
    ids, bag = ids[keep], bag[keep]
    counts = np.bincount(bag, minlength=nbags).astype(weight._data.dtype)
    ref = make(np.zeros((nbags, dim), weight._data.dtype))

    def body(w, *ps):
        rows = ops.getitem(w, (ids,))
        if ps:
            pw = ops.getitem(ops.reshape(ps[0], (-1,)), (np.flatnonzero(keep),))
            rows = ops.mul(rows, ops.reshape(pw, (-1, 1)))
        if mode == "max":
            parts = [ops.amax(ops.getitem(rows, (np.flatnonzero(bag == k),)), 0, False)
                     if counts[k] else ops.zeros_like(ops.getitem(ref, (k,)))
                     for k in range(nbags)]
            return ops.stack(parts, 0) if parts else ref
        out = ops.bind(INDEX_GRAD, rows, ref, index=(bag,))
        if mode == "mean":
            out = ops.div(out, np.maximum(counts, 1).reshape(-1, 1))
        return out
    inputs = (weight,) if psw is None else (weight, psw)
    return one_node("EmbeddingBagBackward0", body, inputs)


class EmbeddingBag(Module):
    """Bags of embeddings reduced by ``mode`` (``"mean"`` by default); N(0, 1) init."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: Any = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight: Tensor | None = None,
                 include_last_offset: bool = False, padding_idx: int | None = None,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.mode = num_embeddings, embedding_dim, mode
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, \
            scale_grad_by_freq
        self.sparse, self.include_last_offset, self.padding_idx = sparse, include_last_offset, \
            padding_idx
        if _weight is None:
            self.weight = Parameter(make(np.empty((num_embeddings, embedding_dim), np.float32)))
            init.normal_(self.weight)
        else:
            self.weight = Parameter(_weight)

    def forward(self, input: Tensor, offsets: Any = None,  # noqa: A002
                per_sample_weights: Any = None) -> Tensor:
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                             self.scale_grad_by_freq, self.mode, self.sparse,
                             per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, mode='{self.mode}'"
