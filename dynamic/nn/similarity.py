"""``F.normalize``, ``F.cosine_similarity``, ``F.pairwise_distance``, ``F.gumbel_softmax`` and
the modules ``nn.CosineSimilarity``, ``nn.PairwiseDistance``: composites of registry ops with
PyTorch's formulas (so their values, ``grad_fn`` names and gradients are PyTorch's)."""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph import ops

from .._random import generator_of
from .._tensor import Tensor, make, to_tensor
from .modules import Module


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,  # noqa: A002
              out: Any = None) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim`` (``DivBackward0``)."""
    x = to_tensor(input)
    denom = ops.clamp(x.norm(p, dim, keepdim=True), eps, None)
    return ops.div(x, ops.broadcast_to(denom, tuple(x.shape)))


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """PyTorch's: each input divided by its norm clamped at ``eps``, the products summed
    along ``dim`` (inputs broadcast; ``SumBackward1``)."""
    a, b = to_tensor(x1), to_tensor(x2)
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    nd = len(shape)
    if not -nd <= dim < max(nd, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, "
                         f"{nd - 1}], but got {dim})")
    a = a if tuple(a.shape) == shape else a.expand(*shape)
    b = b if tuple(b.shape) == shape else b.expand(*shape)
    an = ops.clamp(a.norm(2, dim, keepdim=True), eps, None)
    bn = ops.clamp(b.norm(2, dim, keepdim=True), eps, None)
    return ops.mul(ops.div(a, an), ops.div(b, bn)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dim."""
    d = ops.add(ops.sub(x1, x2), eps)
    return d.norm(p, -1, keepdim=keepdim)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1, generator: Any = None) -> Tensor:
    """``softmax((logits + g) / tau)`` with Gumbel noise ``g = -log(E)``, ``E ~ Exp(1)``;
    ``hard``: the one-hot of its argmax, with the soft sample's gradient (straight through)."""
    x = to_tensor(logits)
    e = generator_of(generator).exponential(1.0, tuple(x.shape)).astype(x._data.dtype)
    g = make(-np.log(e))
    y = ops.softmax(ops.div(ops.add(x, g), tau), dim)
    if not hard:
        return y
    d = dim % x.dim()
    idx = np.expand_dims(np.argmax(y._data, axis=d), d)
    one = np.zeros(y._data.shape, y._data.dtype)
    np.put_along_axis(one, idx, 1, d)
    return ops.add(ops.sub(make(one), y.detach()), y)


class CosineSimilarity(Module):
    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
