"""PyTorch forms of the fuzz ops that have no one-call torch equivalent (``T`` in rendered
torch source). Imported only when torch is installed."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812

from .composites import plan


def prod(x, dims, keepdim):
    """One product over all of ``dims`` (their sizes flattened to one axis), as TF's
    ``reduce_prod`` and ``torch.prod(x)`` take it: a product per dim in turn has another
    gradient at an infinite entry (the inner product's ``result / input`` is ``inf / inf``,
    NaN, where one product's is +-inf: fuzz seed 27542)."""
    dims = sorted({d % x.ndim for d in dims}) if x.ndim else []
    if not dims:
        return x
    keep = [i for i in range(x.ndim) if i not in dims]
    n = 1
    for d in dims:
        n *= x.shape[d]
    y = torch.prod(x.permute(keep + dims).reshape([x.shape[i] for i in keep] + [n]), -1)
    return y.reshape([1 if i in dims else s for i, s in enumerate(x.shape)]) if keepdim else y


def cumsum(x, dim, reverse):
    return torch.cumsum(x, dim) if not reverse else torch.cumsum(x.flip(dim), dim).flip(dim)


def expand_dims(x, dims):
    for d in sorted(dims):
        x = x.unsqueeze(d)
    return x


def squeeze(x, dims):
    return x.reshape([n for i, n in enumerate(x.shape) if i not in dims])


def getitem(x, index):
    """numpy indexing incl. negative steps (torch slices need positive steps)."""
    n_real = sum(1 for k in index if k is not None and k is not Ellipsis)
    full = []
    for k in index:
        full.extend([slice(None)] * (x.dim() - n_real) if k is Ellipsis else [k])
    d = 0
    for k in full:
        if k is None:
            x = x.unsqueeze(d)
            d += 1
        elif isinstance(k, int):
            x = x.select(d, k)
        else:
            idx = list(range(x.shape[d]))[k]
            x = torch.index_select(x, d, torch.tensor(idx, dtype=torch.long))
            d += 1
    return x


def mse_loss(a, b, reduction):
    d = torch.square(a - b)
    return d if reduction == "none" else (d.sum() if reduction == "sum" else d.mean())


def _pad_nchw(x, k: tuple, s: int, padding: str, fill: float):
    _, _, h, w = x.shape
    th, bh, _ = plan(h, k[0], s, padding)
    tw, bw, _ = plan(w, k[1], s, padding)
    return F.pad(x, (tw, bw, th, bh), value=fill)


def conv2d(x, w, s, padding):
    xn = _pad_nchw(x.permute(0, 3, 1, 2), tuple(w.shape[:2]), s, padding, 0.0)
    wn = w.permute(3, 2, 0, 1).contiguous()
    return F.conv2d(xn.contiguous(), wn, stride=s).permute(0, 2, 3, 1)


def max_pool(x, k, s, padding):
    xn = _pad_nchw(x.permute(0, 3, 1, 2), (k, k), s, padding, -float("inf"))
    return F.max_pool2d(xn, k, s).permute(0, 2, 3, 1)


def avg_pool(x, k, s, padding):
    xn = _pad_nchw(x.permute(0, 3, 1, 2), (k, k), s, padding, 0.0)
    ones = _pad_nchw(torch.ones_like(x).permute(0, 3, 1, 2), (k, k), s, padding, 0.0)
    return (F.avg_pool2d(xn, k, s) / F.avg_pool2d(ones, k, s)).permute(0, 2, 3, 1)


def cumprod(x, dim, reverse):
    return torch.cumprod(x, dim) if not reverse else torch.cumprod(x.flip(dim), dim).flip(dim)


def segment_sum(data, ids, n):
    out = torch.zeros((n,) + tuple(data.shape[ids.dim():]), dtype=data.dtype)
    return out.index_put((ids,), data, accumulate=True)


def eye(n, dtype):
    return torch.eye(n, dtype=dtype) * n


def loop(x, y, c, n):
    for _ in range(n):
        x = torch.tanh(x * c + y)
    return x


def floor_divide(a, b):
    """torch has no derivative for floor_divide (zero almost everywhere): detached operands."""
    return torch.floor_divide(*(x.detach() if isinstance(x, torch.Tensor) else x
                                for x in (a, b)))


def pad(x, pads, mode):
    """``F.pad``; an empty tensor padded by reflection (which torch refuses) is empty."""
    if x.numel() == 0 and mode != "constant":
        return F.pad(x, pads)
    return F.pad(x, pads, mode)


def layer_norm(x, eps):
    """``F.layer_norm`` over the last dim; an empty ``x`` (which torch refuses to reshape) is
    returned as is."""
    return x * 1 if x.numel() == 0 else F.layer_norm(x, x.shape[-1:], eps=eps)
