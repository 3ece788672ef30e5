"""``nn.functional``: activations, softmax family, losses and ``linear`` over the registry ops."""

from __future__ import annotations

import importlib
import math
import warnings
from typing import Any

import numpy as np

from staticgraph import ops

from .._fast_path_loss import cross_entropy as _plain_cross_entropy
from .._tensor import Tensor, to_tensor
from .._unsupported import missing_names
from ..autograd.graph import renamed
from . import _losses
from ._losses import huber_loss, kl_div, smooth_l1_loss  # noqa: F401 - nn.functional's names


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return input.relu_() if inplace else ops.relu(input)


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return ops.sigmoid(input)


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    return ops.tanh(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """PyTorch's: ``x`` where ``beta * x > threshold``, else ``log1p(exp(beta * x)) / beta``
    (the registry's stable ``softplus``; gradient ``sigmoid(beta * x)``)."""
    xb = input if beta == 1 else ops.mul(input, beta)
    big = ops.gt(xb, threshold)
    soft = ops.softplus(ops.where(big, 0.0, xb))  # 0 there: no inf * 0 in the gradient
    if beta != 1:
        soft = ops.div(soft, beta)
    return renamed(ops.where(big, input, soft), "SoftplusBackward0")


def _softmax_dim(input: Tensor, dim: int | None, name: str) -> int:  # noqa: A002
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                      "to include dim=X as an argument.", UserWarning, stacklevel=3)
        return 0 if input.dim() in (0, 1, 3) else 1
    return dim


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    x = input if dtype is None else input.to(dtype)
    return ops.softmax(x, _softmax_dim(input, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    x = input if dtype is None else input.to(dtype)
    return ops.log_softmax(x, _softmax_dim(input, dim, "log_softmax"))


def _unsupported(**opts: Any) -> None:
    for k, (v, default) in opts.items():
        if v != default:
            raise NotImplementedError(f"{k}={v!r} is not supported by dynamic.nn.functional")


def nll_loss(input: Tensor, target: Tensor, weight: Any = None, size_average: Any = None,  # noqa: A002
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer labels; class ``weight`` and ``ignore_index`` as
    PyTorch (the mean divides by the summed weights of the counted labels)."""
    target = to_tensor(target)
    if weight is None and ignore_index == -100 and not (target._data == -100).any():
        return ops.nll_loss(input, target, reduction)
    return _losses.weighted_nll(input, target, weight, ignore_index, reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Any = None, size_average: Any = None,  # noqa: A002
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy from integer class labels or class probabilities, with PyTorch's
    ``weight``, ``ignore_index`` and ``label_smoothing``."""
    target = to_tensor(target)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    plain = weight is None and ignore_index == -100 and label_smoothing == 0.0
    # a plain ndarray view: under ``dynamic.compile``'s capture this check is not a graph
    # break; a later call's -100 then meets the compiled kernel's bounds check (an IndexError)
    # no label is -100 (integer labels: their minimum first, the ufunc's own reduction)
    if plain and not target.is_floating_point() and not _has_ignored(
            target._data.view(np.ndarray)):
        return _plain_cross_entropy(input, target, reduction)  # ops.cross_entropy, lean
    logp = log_softmax(input, 1 if input.dim() > 1 else 0)
    if target.is_floating_point():
        return _losses.prob_cross_entropy(logp, target, weight, reduction, label_smoothing)
    if label_smoothing > 0:
        return _losses.smoothed_cross_entropy(logp, target, weight, ignore_index, reduction,
                                              label_smoothing)
    return _losses.weighted_nll(logp, target, weight, ignore_index, reduction)


def _has_ignored(labels: np.ndarray) -> bool:
    """Whether a label is -100 (``ignore_index``'s default); for integer labels none is when
    their minimum is not negative (one reduction, no comparison array)."""
    if labels.dtype.kind in "iu" and (not labels.size or
                                      np.minimum.reduce(labels, axis=None) >= 0):
        return False
    return bool((labels == -100).any())


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    if tuple(input.shape) != tuple(to_tensor(target).shape):
        warnings.warn(f"Using a target size ({to_tensor(target).shape}) that is different to the "
                      f"input size ({input.shape}). This will likely lead to incorrect results "
                      "due to broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=2)
    return ops.mse_loss(input, target, reduction)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """``input @ weight.T + bias`` (with bias: ``AddmmBackward0`` for a 2-D input,
    ``ViewBackward0`` for others, as PyTorch's addmm-and-view)."""
    wt = ops.transpose(weight, 0, 1)
    # the eager fast path's product (``Tensor.matmul``): the same op and node, without the
    # general frontend, and a large product first settles the BLAS threads (_parallel.matmul)
    y = input.matmul(wt) if isinstance(input, Tensor) else ops.matmul(input, wt)
    if bias is None:
        return y
    y = ops.add(y, bias)
    return renamed(y, "AddmmBackward0" if input.dim() == 2 else "ViewBackward0")


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "mean":
        return renamed(ops.mean(loss), name)
    if reduction == "sum":
        return renamed(ops.sum(loss), name)
    if reduction == "none":
        return renamed(loss, name)
    raise ValueError(f"{reduction} is not a valid value for reduction")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Any = None,  # noqa: A002
                         reduction: str = "mean") -> Tensor:
    """``-(y log p + (1 - y) log(1 - p))``, each log clamped at -100 as PyTorch does."""
    target = to_tensor(target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    for name, t in (("input", input), ("target", target)):
        d = np.asarray(t._data)
        if not ((d >= 0) & (d <= 1)).all():  # NaN fails too, as in PyTorch's kernel
            raise RuntimeError(f"all elements of {name} should be between 0 and 1")
    lp = ops.clamp(ops.log(input), -100.0, None)
    lq = ops.clamp(ops.log(ops.sub(1, input)), -100.0, None)
    loss = ops.neg(ops.add(ops.mul(target, lp), ops.mul(ops.sub(1, target), lq)))
    if weight is not None:
        loss = ops.mul(loss, weight)
    return _reduce(loss, reduction, "BinaryCrossEntropyBackward0")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Any = None,  # noqa: A002
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """Stable ``BCE(sigmoid(x), y)``: ``max(x, 0) - x y + log1p(exp(-|x|))``."""
    target = to_tensor(target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    if pos_weight is not None:
        loss = _losses.bce_logits_pos_weight(input, target, pos_weight)
        if weight is not None:
            loss = ops.mul(loss, weight)
        return _reduce(loss, reduction, "BinaryCrossEntropyWithLogitsBackward0")
    soft = ops.log1p(ops.exp(ops.neg(ops.abs(input))))
    # maximum, not relu: its gradient at 0 is 1/2, so d/dx at x = 0 is sigmoid(0) - y
    loss = ops.add(ops.sub(ops.maximum(input, 0.0), ops.mul(input, target)), soft)
    if weight is not None:
        loss = ops.mul(loss, weight)
    return _reduce(loss, reduction, "BinaryCrossEntropyWithLogitsBackward0")


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    loss = ops.abs(ops.sub(input, target))
    return ops.mean(loss) if reduction == "mean" else (
        ops.sum(loss) if reduction == "sum" else loss)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:  # noqa: A002
    out = ops.where(ops.gt(input, 0), input, ops.mul(input, negative_slope))
    return renamed(out, "LeakyReluBackward0")


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows (``num_classes=-1``: one more than the largest label), one registry
    op (``staticgraph.ops.one_hot``: recorded by ``dynamic.compile``'s capture, no graph
    break); PyTorch's errors for a non-int64 tensor and labels out of range."""
    t = to_tensor(tensor)
    if t._data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if t.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(ops.amax(t)) + 1  # a value read (guarded under dynamic.compile)
    elif num_classes < -1:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return ops.one_hot(t, num_classes)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """``x * Phi(x)`` (exact, with erf) or the tanh approximation."""
    if approximate == "tanh":
        inner = ops.mul(ops.add(input, ops.mul(ops.mul(ops.mul(input, input), input), 0.044715)),
                        math.sqrt(2 / math.pi))
        out = ops.mul(ops.mul(input, 0.5), ops.add(ops.tanh(inner), 1))
    else:
        out = ops.mul(ops.mul(input, 0.5), ops.add(ops.erf(ops.mul(input, 0.5 ** 0.5)), 1))
    return renamed(out, "GeluBackward0")

def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """``alpha * (exp(x) - 1)`` where ``x <= 0`` (expm1 of ``x`` there, else of 0: no inf),
    else ``x``. The gradient follows PyTorch's: ``alpha`` at 0 (``minimum(x, 0)`` split it in
    halves there) and 1 at NaN."""
    le0 = ops.le(input, 0)
    neg = ops.mul(ops.expm1(ops.where(le0, input, 0.0)), alpha)
    return renamed(ops.where(le0, neg, input), "EluBackward0")


def selu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return renamed(ops.mul(elu(input, alpha), scale), "EluBackward0")


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return renamed(ops.mul(input, ops.sigmoid(input)), "SiluBackward0")


def mish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return renamed(ops.mul(input, ops.tanh(softplus(input))), "MishBackward0")


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,  # noqa: A002
             inplace: bool = False) -> Tensor:
    """``clamp(x, min_val, max_val)`` whose gradient is 0 at and beyond the bounds and 1
    elsewhere (NaN included), as PyTorch's (``clamp``'s is 1 at the bounds too)."""
    x = to_tensor(input)
    inside = ops.logical_not(ops.logical_or(ops.le(x, min_val), ops.ge(x, max_val)))
    return renamed(ops.where(inside, x, ops.clamp(x.detach(), min_val, max_val)),
                   "HardtanhBackward0")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return hardtanh(input, 0.0, 6.0)


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """``-softplus(-x)``, stable for large ``|x|``."""
    return renamed(ops.neg(ops.softplus(ops.neg(input))), "LogSigmoidBackward0")


def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002
    """``x`` where positive, else ``weight * x``; one weight per channel (dim 1) or shared."""
    w = weight
    if weight.numel() > 1 and input.dim() > 1:
        w = ops.reshape(weight, (-1,) + (1,) * (input.dim() - 2))
    out = ops.where(ops.gt(input, 0), input, ops.mul(w, input))
    return renamed(out, "PreluKernelBackward0")


_missing = missing_names("torch.nn.functional")
# defined beside their modules (conv.py, pooling.py, norm.py, normalization.py, sparse.py
# import Module, which imports this file)
_ELSEWHERE = {**dict.fromkeys(("conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                "conv_transpose2d", "conv_transpose3d"), "conv"),
              **dict.fromkeys(("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d",
                               "avg_pool2d", "avg_pool3d", "adaptive_avg_pool2d"), "pooling"),
              **dict.fromkeys(("adaptive_avg_pool1d", "adaptive_max_pool2d"), "adaptive_pooling"),
              "pad": "padding", "max_unpool2d": "unpooling",
              **dict.fromkeys(("layer_norm", "group_norm", "instance_norm"), "normalization"),
              **dict.fromkeys(("interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle",
                               "unfold"), "resample"),
              **dict.fromkeys(("normalize", "cosine_similarity", "pairwise_distance",
                               "gumbel_softmax"), "similarity"),
              "embedding_bag": "embedding_bag", "fold": "fold",
              "dropout": "norm", "batch_norm": "norm", "embedding": "sparse",
              **dict.fromkeys(("scaled_dot_product_attention",
                               "multi_head_attention_forward"), "attention")}


def __getattr__(name: str) -> Any:
    """The window and train/eval functions from their files; else the not-supported error."""
    if name in _ELSEWHERE:
        value = getattr(importlib.import_module(f"{__package__}.{_ELSEWHERE[name]}"), name)
        globals()[name] = value
        return value
    return _missing(name)
