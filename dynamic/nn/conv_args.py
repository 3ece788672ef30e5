"""PyTorch's argument rules for the convolution family (``F.conv1d/2d/3d``,
``conv_transpose*``, the ``Conv*`` modules): int-or-tuple arguments, the positivity checks,
padding strings, ``padding_mode`` padding, and the shape checks, each with PyTorch's error
text. Shared by ``conv.py`` and ``pooling.py``; holds no arithmetic beyond the index rules."""

from __future__ import annotations

from typing import Any

from staticgraph.ops import windows as window_ops

from .._tensor import Tensor


def ntuple(v: Any, n: int, what: str) -> tuple[int, ...]:
    """``v`` as ``n`` ints (an int, or a list of 1 or ``n``), PyTorch's error otherwise."""
    if isinstance(v, int):
        return (v,) * n
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        many = "a list of 2 values" if n == 2 else f"a list of {n} values"
        raise RuntimeError(f"expected {what} to be a single integer value or {many} to match "
                           f"the convolution dimensions, but got {what}={list(v)}")
    return v


def module_tuple(v: Any, n: int) -> Any:
    """A module's stored argument: strings kept, ints made ``n``-tuples (``_ntuple``)."""
    if isinstance(v, str):
        return v
    return (v,) * n if isinstance(v, int) else tuple(v)


def check_positive(stride: tuple, padding: Any, dilation: tuple, groups: int) -> None:
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if not isinstance(padding, str) and min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("non-positive dilation is not supported")


def batched(input: Tensor, nd: int, what: str) -> tuple[Any, bool]:  # noqa: A002
    """The input with a batch dim, and whether one was added (an unbatched call)."""
    from staticgraph import ops

    if input.dim() == nd + 1:
        return ops.unsqueeze(input, 0), True
    if input.dim() != nd + 2:
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{what}, but got input of size: {list(input.shape)}")
    return input, False


def check_weight(input: Tensor, weight: Tensor, bias: Tensor | None, nd: int, groups: int,  # noqa: A002
                 transposed: bool = False) -> None:
    """The weight's rank, the channel count per group and the bias size (PyTorch's texts)."""
    ws = list(weight.shape)
    if weight.dim() != nd + 2:
        raise RuntimeError(f"Expected {nd + 2}D weight for conv{nd}d, got {weight.dim()}D "
                           f"weight of size {ws}")
    c = input.shape[-nd - 1]
    if transposed:
        if ws[0] != c:
            raise RuntimeError(f"Given transposed=1, weight of size {ws}, expected "
                               f"input{list(input.shape)} to have {ws[0]} channels, but got {c} "
                               "channels instead")
        out = ws[1] * groups
        if ws[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                               f"{groups} at dimension 0, but got weight of size [{ws}] instead")
    else:
        if ws[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                               f"{groups} at dimension 0, but got weight of size [{ws}] instead")
        if ws[1] * groups != c:
            raise RuntimeError(f"Given groups={groups}, weight of size {ws}, expected "
                               f"input{list(input.shape)} to have {ws[1] * groups} channels, but "
                               f"got {c} channels instead")
        out = ws[0]
    if bias is not None and tuple(bias.shape) != (out,):
        raise RuntimeError(f"Given weight of size {ws}, expected bias to be 1-dimensional with "
                           f"{out} elements, but got bias of size {list(bias.shape)} instead")


def conv_pads(padding: Any, k: tuple, s: tuple, d: tuple) -> tuple[tuple[int, int], ...]:
    """``(before, after)`` per spatial dim: 'same' puts the odd entry after, as PyTorch."""
    n = len(k)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if any(si != 1 for si in s):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        totals = [di * (ki - 1) for ki, di in zip(k, d, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in ntuple(padding, n, "padding"))


def mode_pad(x: Any, pads: tuple[tuple[int, int], ...], mode: str) -> Any:
    """A channels-last ``x`` padded by ``mode`` (reflect/replicate/circular), with the checks
    of PyTorch's ``F.pad``; ``x``'s dims as PyTorch numbers them (channels first) in errors."""
    sizes = list(x.shape[1:-1])
    nd = len(sizes)
    torch_shape = [x.shape[0], x.shape[-1]] + sizes
    for d in reversed(range(nd)):
        before, after = pads[d]
        if mode == "reflect" and (before >= sizes[d] or after >= sizes[d]):
            raise RuntimeError(f"Argument #{2 * (nd - d) + 2}: Padding size should be less than "
                               "the corresponding input dimension, but got: padding "
                               f"({before}, {after}) at dimension {d + 2} of input {torch_shape}")
        if mode == "circular" and (before > sizes[d] or after > sizes[d]):
            raise RuntimeError("Padding value causes wrapping around more than once.")
    return window_ops.pad_spatial(x, None, pads, mode=mode, sizes=sizes)


def out_sizes(sizes: tuple, pads: tuple, k: tuple, s: tuple, d: tuple) -> tuple[int, ...]:
    """The output size per spatial dim; PyTorch's error when a kernel outgrows the input."""
    padded = [n + a + b for n, (a, b) in zip(sizes, pads, strict=True)]
    eff = [di * (ki - 1) + 1 for ki, di in zip(k, d, strict=True)]
    if any(e > p for e, p in zip(eff, padded, strict=True)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))})."
                           f" Kernel size: ({' x '.join(map(str, eff))}). Kernel size can't be "
                           "greater than actual input size")
    return tuple((p - e) // si + 1 for p, e, si in zip(padded, eff, s, strict=True))


__all__ = ["batched", "check_positive", "check_weight", "conv_pads", "mode_pad",
           "module_tuple", "ntuple", "out_sizes"]
