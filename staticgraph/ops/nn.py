"""Matrix product and neural-network ops: matmul, softmax, log_softmax, nll_loss, mse_loss.

``cross_entropy`` is the composite ``nll_loss(log_softmax(x))`` exactly as in PyTorch (so its
``grad_fn`` is ``NllLossBackward0``); the compiler fuses the pair into one kernel.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, aval_of, bind, broadcast_shapes, normalize_dims, register, result_type
from .elementwise import exp, mul, neg, sub
from .np_rules import matmul2d
from .reductions import mean, size, sum
from .shapes import broadcast_like, expand_dims, squeeze, transpose
from .unknown_rank import dims_at_rank, known_rank


# --------------------------------------------------------------------------------- matmul
def matmul(a, b):
    return bind(MATMUL, a, b)


def _matmul_infer(a: AVal, b: AVal) -> tuple:
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("both arguments to matmul need to be at least 1D, but they are "
                         f"{a.ndim}D and {b.ndim}D")
    sa = (1,) + a.shape if a.ndim == 1 else a.shape
    sb = b.shape + (1,) if b.ndim == 1 else b.shape
    k1, k2 = sa[-1], sb[-2]
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError(_matmul_mismatch(a.shape, b.shape))
    batch = broadcast_shapes(sa[:-2], sb[:-2])
    shape = batch + (sa[-2], sb[-1])
    if a.ndim == 1:
        shape = shape[:-2] + shape[-1:]
    if b.ndim == 1:
        shape = shape[:-1]
    if a.dtype != b.dtype:
        raise ValueError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype.name} != "
                         f"{b.dtype.name}")
    return shape, result_type(a, b)


def _matmul_mismatch(sa: tuple, sb: tuple) -> str:
    """PyTorch's wording for each matmul case (dot, mv, mm, bmm)."""
    if len(sa) == 1 and len(sb) == 1:
        return (f"inconsistent tensor size, expected tensor [{sa[0]}] and src [{sb[0]}] to have "
                f"the same number of elements, but got {sa[0]} and {sb[0]} elements respectively")
    if len(sb) == 1 and None not in sa:
        rows = int(np.prod(sa[:-1]))
        return f"size mismatch, got input ({rows}), mat ({rows}x{sa[-1]}), vec ({sb[0]})"
    if len(sb) >= 3 and None not in sb:
        return (f"Expected size for first two dimensions of batch2 tensor to be: "
                f"[{sb[0]}, {sa[-1]}] but got: [{sb[0]}, {sb[-2]}].")
    return f"mat1 and mat2 shapes cannot be multiplied ({_fmt(sa)} and {_fmt(sb)})"


def _fmt(shape) -> str:
    return "x".join("?" if d is None else str(d) for d in shape) if len(shape) != 1 else \
        f"1x{shape[0]}"


def _matmul_vjp(g, out, a, b, needs=(True, True)):
    """Only the cotangents ``needs`` asks for (no dX GEMM node for an input without grad)."""
    na, nb = (aval_of(a).ndim, aval_of(b).ndim) if known_rank(a) and known_rank(b) else (2, 2)
    ga = gb = None  # unknown ranks: TF's BatchMatMul (both at least 2-D), the 2-D case below
    if na == 1 and nb == 1:
        ga, gb = (mul(g, b) if needs[0] else None), (mul(g, a) if needs[1] else None)
    elif na == 1:  # (k,) @ (..., k, m) -> (..., m)
        if needs[0]:
            ga = squeeze(matmul(expand_dims(g, (-2,)), transpose(b)), -2)
        if needs[1]:
            gb = mul(expand_dims(a, (-1,)), expand_dims(g, (-2,)))
    elif nb == 1:  # (..., n, k) @ (k,) -> (..., n)
        if needs[0]:
            ga = mul(expand_dims(g, (-1,)), b)
        if needs[1]:
            gb = squeeze(matmul(transpose(a), expand_dims(g, (-1,))), -1)
    else:
        ga = matmul(g, transpose(b)) if needs[0] else None
        gb = matmul(transpose(a), g) if needs[1] else None
    return ga, gb


def _np_matmul_vjp(g, out, needs, a, b):
    """The 2-D-and-up case on ndarrays, computing only the cotangents asked for (no dX GEMM for
    an input without grad); vectors go through the general rule."""
    if a.ndim < 2 or b.ndim < 2:
        return NotImplemented
    if a.ndim == 2 and b.ndim == 2:  # ``matmul2d``: ``np.matmul``'s bits, less dispatch
        if _transposed(a) or _transposed(b):
            ga = (matmul2d(b, g.T).T if _transposed(a) else matmul2d(g, b.T)) if needs[0] \
                else None
            gb = (matmul2d(g.T, a).T if _transposed(b) else matmul2d(a.T, g)) if needs[1] \
                else None
            return ga, gb
        return (matmul2d(g, b.T) if needs[0] else None), (matmul2d(a.T, g) if needs[1] else None)
    ga = np.matmul(g, b.swapaxes(-1, -2)) if needs[0] else None  # the method: no Python wrapper
    gb = np.matmul(a.swapaxes(-1, -2), g) if needs[1] else None
    return ga, gb


def _transposed(x: np.ndarray) -> bool:
    """A matrix laid out as a transposed C array (``weight.T`` in ``F.linear``): its cotangent
    is computed transposed (the same GEMM) so that it has the operand's layout, and the
    weight's gradient, transposed back, is C-contiguous as PyTorch's (its ``mm`` backward does
    the same); an F-order ``.grad`` made every later update of the weight a strided loop."""
    return x.flags.f_contiguous and not x.flags.c_contiguous


def _matmul_name(args, params) -> str:
    na, nb = aval_of(args[0]).ndim, aval_of(args[1]).ndim
    if na == 1 and nb == 1:
        return "DotBackward0"
    if na == 2 and nb == 1:
        return "MvBackward0"
    if na == 2 and nb == 2:
        return "MmBackward0"
    if na == 1 and nb == 2:
        return "SqueezeBackward4"
    return "UnsafeViewBackward0"


def _matmul_equal_dims(out, a, b) -> list:
    """The contracted dims: a's last, b's second to last."""
    return [(a[-1], b[-2])] if len(a) >= 1 and len(b) >= 2 else []


MATMUL = register(Op(name="matmul", impl=np.matmul, infer=_matmul_infer, vjp=_matmul_vjp,
                     kind="matmul", grad_name=_matmul_name, saves=(0, 1), nin=2,
                     saved_for=((1,), (0,)),
                     tf_name="MatMul", input_names=("a", "b"), same_dtype=(0, 1),
                     equal_dims=_matmul_equal_dims, np_vjp=_np_matmul_vjp, jvp="multilinear",
                     vjp_needs=True))


# -------------------------------------------------------------------------- softmax family
def _axis(x, dim) -> int:
    """``dim`` normalized for ``x``'s rank, or raw when it is unknown (``Op.at_rank``)."""
    return normalize_dims(dim, aval_of(x).ndim)[0] if known_rank(x) else int(dim)


def softmax(x, dim=-1):
    return bind(SOFTMAX, x, dim=_axis(x, dim))


def log_softmax(x, dim=-1):
    return bind(LOG_SOFTMAX, x, dim=_axis(x, dim))


def _row_max(x: np.ndarray, dim: int) -> np.ndarray:
    """The shift of the softmax family: the row max, NaN-propagating and unguarded, so a row
    holding +inf (inf - inf) or only -inf gives NaN throughout, as in PyTorch and TF."""
    return np.maximum.reduce(x, axis=dim, keepdims=True) if x.size else np.zeros((), x.dtype)


def _softmax_impl(x, dim):
    if x.dtype == np.float16:  # computed in float32, rounded once (PyTorch's opmath)
        return _softmax_impl(x.astype(np.float32), dim).astype(x.dtype)
    e = np.exp(x - _row_max(x, dim))
    return e / np.sum(e, axis=dim, keepdims=True)


def _log_softmax_impl(x, dim):
    if x.dtype == np.float16:  # computed in float32, rounded once (PyTorch's opmath)
        return _log_softmax_impl(x.astype(np.float32), dim).astype(x.dtype)
    # the ufuncs' reductions themselves (``np.max``/``np.sum`` call them after ~2 us of
    # Python each: a fifth of a 256x10 log_softmax)
    z = x - _row_max(x, dim)
    return z - np.log(np.add.reduce(np.exp(z), axis=dim, keepdims=True))


def _float_same(x: AVal, dim) -> tuple:
    if x.dtype.kind != "f":
        raise ValueError(f"softmax expects a floating point input, got {x.dtype.name}")
    return x.shape, x.dtype


def _softmax_vjp(g, out, x, dim):
    return (mul(out, sub(g, sum(mul(g, out), dim, keepdim=True))),)


def _log_softmax_vjp(g, out, x, dim):
    return (sub(g, mul(exp(out), sum(g, dim, keepdim=True))),)


def _softmax_jvp(ts, out, x, dim):
    return mul(out, sub(ts[0], sum(mul(out, ts[0]), dim, keepdim=True)))


def _log_softmax_jvp(ts, out, x, dim):
    return sub(ts[0], sum(mul(exp(out), ts[0]), dim, keepdim=True))


SOFTMAX = register(Op(name="softmax", impl=_softmax_impl, infer=_float_same, vjp=_softmax_vjp,
                      kind="nn", grad_name="SoftmaxBackward0", saves=("out",),
                      tf_name="Softmax", at_rank=dims_at_rank(single=True), jvp=_softmax_jvp))
LOG_SOFTMAX = register(Op(name="log_softmax", impl=_log_softmax_impl, infer=_float_same,
                          vjp=_log_softmax_vjp, kind="nn", grad_name="LogSoftmaxBackward0",
                          saves=("out",), tf_name="LogSoftmax", at_rank=dims_at_rank(single=True),
                          jvp=_log_softmax_jvp,
                          np_vjp=lambda g, out, needs, x, dim: (
                              np.subtract(g, np.exp(out) * np.add.reduce(g, axis=dim,
                                                                         keepdims=True)),)))


# --------------------------------------------------------------------------------- losses
_REDUCTIONS = ("mean", "sum", "none")


def nll_loss(logp, target, reduction="mean"):
    """Negative log-likelihood of integer class ``target`` (N,) under log-probs ``logp`` (N, C)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return bind(NLL_LOSS, logp, target, reduction=reduction)


def cross_entropy(logits, target, reduction="mean"):
    """Softmax cross-entropy from integer labels, numerically stable (log-sum-exp inside)."""
    dim = -1 if not known_rank(logits) else 1 if aval_of(logits).ndim > 1 else 0
    return nll_loss(log_softmax(logits, dim), target, reduction)


def mse_loss(a, b, reduction="mean"):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return bind(MSE_LOSS, a, b, reduction=reduction)


def _nll_infer(logp: AVal, target: AVal, reduction) -> tuple:
    if target.dtype.kind not in "iu":
        raise ValueError(f"expected scalar type Long but found {target.dtype.name}")
    if logp.ndim not in (1, 2) or target.ndim != logp.ndim - 1:
        raise ValueError(f"nll_loss expects input (N, C) and target (N,), got {logp.shape} and "
                         f"{target.shape}")
    n0, n1 = (logp.shape[0] if logp.ndim == 2 else None), (target.shape[0] if target.ndim else None)
    if logp.ndim == 2 and n0 is not None and n1 is not None and n0 != n1:
        raise ValueError(f"Expected input batch_size ({n0}) to match target batch_size ({n1}).")
    return (target.shape if reduction == "none" else ()), logp.dtype


def _check_targets(logp, target):
    """Class indices outside [0, C) are errors (numpy would wrap -1 to the last class)."""
    if logp.ndim == 2 and target.size:
        # the ufuncs' reductions themselves (``.min()``/``.max()`` reach them through ~2 us
        # of Python each, twice a training step: forward and gradient)
        lo, hi = np.minimum.reduce(target, axis=None), np.maximum.reduce(target, axis=None)
        if lo < 0 or hi >= logp.shape[1]:
            raise IndexError(f"Target {int(hi if hi >= logp.shape[1] else lo)} is out of bounds.")


def _pick(logp, target):
    if logp.ndim == 1:
        return logp[target]
    _check_targets(logp, target)
    return logp[np.arange(logp.shape[0]), target]


def _nll_impl(logp, target, reduction):
    picked = -_pick(logp, target)
    if reduction == "none":
        return picked
    dt = picked.dtype
    if dt.kind == "f" and dt.itemsize >= 4 and 0 < picked.size < 1 << 24:
        # ``sum()``/``mean()`` without numpy's Python wrappers (~3 us a call): the same
        # reduction, and for the mean the sum divided by the count in the dtype (numpy divides
        # in float64 and rounds again: the same correctly rounded quotient, as ``_mean_impl``)
        total = np.add.reduce(picked, axis=None)
        return total if reduction == "sum" else total / dt.type(picked.size)
    return picked.sum() if reduction == "sum" else picked.mean()


def _nll_vjp(g, out, logp, target, reduction):
    return bind(NLL_LOSS_GRAD, g, logp, target, reduction=reduction), None


def _nll_grad_impl(g, ref, target, reduction):
    """d loss / d logp: ``-g`` (divided by N for the mean) at each row's target column."""
    _check_targets(ref, target)  # the gradient may run without the forward loss (pruned)
    out = np.zeros(ref.shape, ref.dtype)
    scale = -np.asarray(g, ref.dtype)
    if reduction == "mean":
        scale = scale / max(target.size, 1)
    if ref.ndim == 1:
        out[target] = scale
    else:
        out[np.arange(ref.shape[0]), target] = scale
    return out


def _rows_equal_targets(out, *ins, reduction) -> list:
    """One target per row: the log-probs (second to last input, 2-D) have as many rows as the
    targets (last input, 1-D) have entries."""
    lp, t = ins[-2], ins[-1]
    return [(lp[0], t[0])] if len(lp) == 2 and len(t) == 1 else []


NLL_LOSS = register(Op(name="nll_loss", impl=_nll_impl, infer=_nll_infer, vjp=_nll_vjp,
                       kind="nn", grad_name="NllLossBackward0", saves=(1,), nin=2, jvp="linear",
                       tf_name="NllLoss", vjp_exact=True, equal_dims=_rows_equal_targets,
                       np_vjp=lambda g, out, needs, logp, target, reduction: (
                           _nll_grad_impl(g, logp, target, reduction) if needs[0] else None,
                           None)))
NLL_LOSS_GRAD = register(Op(
    name="nll_loss_grad", impl=_nll_grad_impl,
    infer=lambda g, ref, target, reduction: (ref.shape, ref.dtype),
    vjp=lambda gg, out, g, ref, target, reduction: (nll_loss(gg, target, reduction), None, None),
    kind="nn", grad_name="NllLossBackwardBackward0", saves=(2,), nin=3,
    tf_name="NllLossGrad", vjp_exact=True, jvp="linear", shape_only=(1,),
    equal_dims=_rows_equal_targets))


def _mse_impl(a, b, reduction):
    if a.dtype == np.float16:  # computed in float32, rounded once (PyTorch's opmath)
        return np.asarray(_mse_impl(a.astype(np.float32), b.astype(np.float32), reduction)
                          ).astype(a.dtype)
    d = np.square(a - b)
    return d if reduction == "none" else (d.sum() if reduction == "sum" else d.mean())


def _mse_infer(a: AVal, b: AVal, reduction) -> tuple:
    shape = broadcast_shapes(a.shape, b.shape)
    return (shape if reduction == "none" else ()), result_type(a, b)


def _mse_vjp(g, out, a, b, reduction):
    d = sub(a, b)
    grad = mul(mul(broadcast_like(g, d), d), 2.0)
    if reduction == "mean":
        from .elementwise import div

        grad = div(grad, size(d))
    return grad, mul(grad, -1.0)


def _mse_jvp(ts, out, a, b, reduction):
    """``2 (a - b) (ta - tb)``, reduced as the loss is."""
    ta, tb = ts
    td = ta if tb is None else (neg(tb) if ta is None else sub(ta, tb))
    dd = mul(mul(sub(a, b), td), 2.0)
    return dd if reduction == "none" else (sum(dd) if reduction == "sum" else mean(dd))


MSE_LOSS = register(Op(name="mse_loss", impl=_mse_impl, infer=_mse_infer, vjp=_mse_vjp,
                       kind="nn", grad_name="MseLossBackward0", saves=(0, 1), nin=2,
                       tf_name="MSE", same_dtype=(0, 1), jvp=_mse_jvp))

__all__ = ["matmul", "softmax", "log_softmax", "nll_loss", "cross_entropy", "mse_loss"]
