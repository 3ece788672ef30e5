"""``nn.Embedding`` / ``F.embedding``: rows of a weight matrix picked by integer ids.

The lookup is the registry's ``getitem`` (its gradient scatter-adds into the rows, repeated ids
summed), named ``EmbeddingBackward0`` as PyTorch. ``padding_idx``'s row gets no gradient: the
lookup reads that row through ``detach`` (its value is unchanged)."""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph import ops

from .._tensor import Tensor, make, to_tensor
from ..autograd.grad_mode import no_grad
from ..autograd.graph import renamed
from . import init
from .modules import Module, Parameter


def _not_supported(**opts: Any) -> None:
    for k, (v, default) in opts.items():
        if v != default:
            raise NotImplementedError(f"nn.Embedding({k}={v!r}) is not supported by this "
                                      "project (dynamic); leave it at its default")


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,  # noqa: A002
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """``weight[input]``; ids must be integers in ``[0, num_embeddings)``."""
    _not_supported(max_norm=(max_norm, None), scale_grad_by_freq=(scale_grad_by_freq, False),
                   sparse=(sparse, False))
    ids = to_tensor(input)
    if ids.is_floating_point() or ids.dtype.is_complex:
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got torch.FloatTensor "
                           "instead (while checking arguments for embedding)")
    n = weight.shape[0]
    raw = ids._data
    if raw.size and (raw.min() < -n or raw.max() >= n):
        raise IndexError("index out of range in self")
    w = weight
    if padding_idx is not None and weight.requires_grad:
        keep = np.ones((n, 1), bool)
        keep[padding_idx] = False
        w = ops.where(keep, weight, weight.detach())
    return renamed(ops.getitem(w, raw.astype(np.int64)), "EmbeddingBackward0")


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim`` (N(0, 1) init;
    the ``padding_idx`` row zero)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Tensor | None = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        _not_supported(max_norm=(max_norm, None), scale_grad_by_freq=(scale_grad_by_freq, False),
                       sparse=(sparse, False))
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(make(np.empty((num_embeddings, embedding_dim), np.float32)),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     "embedding_dim")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

