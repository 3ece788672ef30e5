"""Arithmetic, elementwise math and reductions: thin calls into the shared op registry.

Only names PyTorch gives a different ``grad_fn`` (``std`` is ``StdBackward0``, ``max(dim)`` is
``MaxBackward0``...) are renamed here after the op ran; everything else comes from the registry.
Shapes/indexing are in ``_shape_methods``, in-place methods in ``_inplace``.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from staticgraph import ops

from . import linalg
from ._fast_path import binary_method, reduce_all, tensors2_method, unary_method
from ._return_types import ReturnMax, ReturnMin
from ._tensor import Tensor
from .autograd.graph import renamed

__all__ = ["MathMethods"]
_ADD, _SUB, _MUL, _DIV, _MATMUL = (ops.REGISTRY[n] for n in ("add", "sub", "mul", "div", "matmul"))
_SUM, _MEAN = ops.REGISTRY["sum"], ops.REGISTRY["mean"]
(_EXP, _LOG, _SQRT, _SIN, _COS, _TANH, _SIGMOID, _RELU, _ABS, _NEG, _SQUARE, _RECIPROCAL, _LOG1P,
 _EXPM1) = (ops.REGISTRY[n] for n in ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid",
                                       "relu", "abs", "neg", "square", "reciprocal", "log1p",
                                       "expm1"))
_pymax = builtins.max
# the lean operator methods, one per op (``_fast_path``); ``__radd__`` is ``__add__``: PyTorch
# records ``1 + b`` as ``b + 1``, ``2 * b`` as ``b * 2``
_MM = tensors2_method(_MATMUL)
_B = {op: binary_method(op) for op in (_ADD, _SUB, _MUL, _DIV)}
_U = {op: unary_method(op) for op in (_EXP, _LOG, _SQRT, _SIN, _COS, _TANH, _SIGMOID, _RELU,
                                      _ABS, _NEG, _SQUARE, _RECIPROCAL, _LOG1P, _EXPM1)}


class MathMethods:
    """Operators, elementwise functions and reductions (attached to ``Tensor``)."""

    # ------------------------------------------------------------------------ arithmetic
    __add__ = __radd__ = _B[_ADD]
    __sub__ = _B[_SUB]

    def __rsub__(self, o):  # ``RsubBackward1``: one edge, to ``self`` (``OpNode.next_functions``)
        return renamed(ops.sub(o, self), "RsubBackward1")

    __mul__ = __rmul__ = _B[_MUL]
    __truediv__ = _B[_DIV]

    def __rtruediv__(self, o):
        if type(o) in (int, float):  # PyTorch: ``reciprocal() * o`` (MulBackward0)
            return ops.mul(ops.reciprocal(self), o)
        return ops.div(o, self)

    def __pow__(self, o): return ops.pow(self, o)
    def __rpow__(self, o): return ops.pow(o, self)
    __matmul__ = _MM
    def __rmatmul__(self, o): return ops.matmul(o, self)
    __neg__ = _U[_NEG]
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)
    def __floordiv__(self, o): return ops.floor_divide(self, o)
    def __rfloordiv__(self, o): return ops.floor_divide(o, self)
    def __mod__(self, o): return ops.remainder(self, o)
    def __lt__(self, o): return ops.lt(self, o)
    def __le__(self, o): return ops.le(self, o)
    def __gt__(self, o): return ops.gt(self, o)
    def __ge__(self, o): return ops.ge(self, o)
    def __and__(self, o): return ops.logical_and(self, o)
    def __or__(self, o): return ops.logical_or(self, o)
    def __invert__(self): return ops.logical_not(self)

    def __eq__(self, o):  # type: ignore[override]
        return False if o is None else ops.eq(self, o)

    def __ne__(self, o):  # type: ignore[override]
        return True if o is None else ops.ne(self, o)

    __hash__ = object.__hash__  # by identity, as in PyTorch (defining ``__eq__`` removes it)

    def add(self, other, alpha=1):
        return ops.add(self, other if alpha == 1 else ops.mul(other, alpha))

    def sub(self, other, alpha=1):
        return ops.sub(self, other if alpha == 1 else ops.mul(other, alpha))

    mul = _B[_MUL]
    _div = _B[_DIV]

    def div(self, other, *, rounding_mode=None):
        """``rounding_mode``: None (true division), ``"floor"`` or ``"trunc"`` (PyTorch's
        ``DivBackward2``: a zero gradient)."""
        if rounding_mode is None:
            return self._div(other)
        if rounding_mode == "floor":
            return ops.div_floor(self, other)
        if rounding_mode == "trunc":
            return ops.div_trunc(self, other)
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")

    def pow(self, o): return ops.pow(self, o)
    matmul = _MM
    multiply, divide, true_divide, subtract = mul, div, _div, sub

    def mm(self, o):
        if self.dim() != 2 or o.dim() != 2:
            raise RuntimeError("self must be a matrix")
        return ops.matmul(self, o)

    def dot(self, o):
        if self.dim() != 1 or o.dim() != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.dim()}D and {o.dim()}D tensors")
        return ops.matmul(self, o)

    # ---------------------------------------------------------------------- elementwise
    exp = _U[_EXP]
    log = _U[_LOG]
    sqrt = _U[_SQRT]
    sin = _U[_SIN]
    cos = _U[_COS]
    tanh = _U[_TANH]
    sigmoid = _U[_SIGMOID]
    relu = _U[_RELU]
    abs = _U[_ABS]
    neg = _U[_NEG]
    def sign(self): return ops.sign(self)
    square = _U[_SQUARE]
    reciprocal = _U[_RECIPROCAL]
    def rsqrt(self): return renamed(ops.pow(self, -0.5), "RsqrtBackward0")
    log1p = _U[_LOG1P]
    expm1 = _U[_EXPM1]
    def log2(self): return renamed(ops.div(ops.log(self), math.log(2)), "Log2Backward0")
    def log10(self): return renamed(ops.div(ops.log(self), math.log(10)), "Log10Backward0")
    def tan(self): return renamed(ops.div(ops.sin(self), ops.cos(self)), "TanBackward0")
    def floor(self): return ops.floor(self)
    def ceil(self): return ops.ceil(self)
    def trunc(self): return ops.trunc(self)
    def erf(self): return ops.erf(self)

    def round(self, decimals=0):
        if decimals:
            s = 10.0 ** decimals
            return renamed(ops.div(ops.round(ops.mul(self, s)), s), "RoundBackward1")
        return ops.round(self)

    def maximum(self, o): return ops.maximum(self, o)
    def minimum(self, o): return ops.minimum(self, o)
    def eq(self, o): return ops.eq(self, o)
    def ne(self, o): return ops.ne(self, o)
    def lt(self, o): return ops.lt(self, o)
    def le(self, o): return ops.le(self, o)
    def gt(self, o): return ops.gt(self, o)
    def ge(self, o): return ops.ge(self, o)
    def logical_not(self): return ops.logical_not(self)

    def clamp(self, min=None, max=None):  # noqa: A002
        return ops.clamp(self, min, max)

    clip = clamp

    def clamp_min(self, m): return ops.clamp(self, m, None)
    def clamp_max(self, m): return ops.clamp(self, None, m)

    def where(self, condition, other):
        return ops.where(condition, self, other)

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` is true (``MaskedFillBackward0``)."""
        return renamed(ops.where(mask, value, self), "MaskedFillBackward0")

    def softmax(self, dim): return ops.softmax(self, dim)
    def log_softmax(self, dim): return ops.log_softmax(self, dim)

    # ------------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, dtype=None):
        if dim is None and dtype is None and not keepdim:
            t = reduce_all(_SUM, self)
            if t is not None:
                return t
        x = self if dtype is None else self.to(dtype)
        return ops.sum(x, dim, keepdim)

    def mean(self, dim=None, keepdim=False, dtype=None):
        if dim is None and dtype is None and not keepdim:
            t = reduce_all(_MEAN, self)
            if t is not None:
                return t
        x = self if dtype is None else self.to(dtype)
        return ops.mean(x, dim, keepdim)

    def prod(self, dim=None, keepdim=False, dtype=None):
        x = self if dtype is None else self.to(dtype)
        return ops.prod(x, dim, keepdim)

    def cumsum(self, dim, dtype=None):
        x = self if dtype is None else self.to(dtype)
        return ops.cumsum(x, dim)

    def cumprod(self, dim, dtype=None):
        x = self if dtype is None else self.to(dtype)
        return ops.cumprod(x, dim)

    def _nonempty(self, name, dim):
        """PyTorch's errors for a max/min/argmax over nothing (numpy's "zero-size array to
        reduction operation" named no op): ``dim`` None or ``()`` is every dim."""
        shape = self.shape
        if 0 not in shape:
            return
        if dim is None or dim == ():  # PyTorch's three texts, word for word
            if name.startswith("arg"):
                raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                                 "input.numel() == 0.")
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        for d in (dim if isinstance(dim, (tuple, list)) else (dim,)):
            if shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d % len(shape)} to have "
                                 "non-zero size.")

    def _extreme(self, dim, keepdim, fn, arg, pair, cls, name):
        """``max()``: the full reduction (ties share the gradient); ``max(dim)``: values and
        indices, the gradient going to the returned index only (a gather, as in PyTorch)."""
        if not isinstance(dim, Tensor):
            self._nonempty(name[:3].lower(), dim)
        if dim is None:
            return fn(self)
        if isinstance(dim, Tensor):
            return pair(self, dim)
        idx = arg(self, dim, True)
        values = ops.gather(self, idx, dim)
        if not keepdim:
            values, idx = ops.squeeze(values, dim), ops.squeeze(idx, dim)
        return cls(renamed(values, name), idx)

    def max(self, dim=None, keepdim=False):
        return self._extreme(dim, keepdim, ops.amax, ops.argmax, ops.maximum, ReturnMax,
                             "MaxBackward0")

    def min(self, dim=None, keepdim=False):
        return self._extreme(dim, keepdim, ops.amin, ops.argmin, ops.minimum, ReturnMin,
                             "MinBackward0")

    # ``dim=()`` is every dim with amax's gradient (mask / count: NaN everywhere at a NaN
    # result), not ``max()``'s (``ops.amax(x)``: the NaN inputs take it)
    def amax(self, dim=(), keepdim=False):
        self._nonempty("amax", dim)
        return renamed(ops.amax(self, tuple(range(self.ndim)) if dim == () else dim, keepdim),
                       "AmaxBackward0")

    def amin(self, dim=(), keepdim=False):
        self._nonempty("amin", dim)
        return renamed(ops.amin(self, tuple(range(self.ndim)) if dim == () else dim, keepdim),
                       "AminBackward0")

    def argmax(self, dim=None, keepdim=False):
        self._nonempty("argmax", dim)
        return ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        self._nonempty("argmin", dim)
        return ops.argmin(self, dim, keepdim)
    def logsumexp(self, dim, keepdim=False): return ops.logsumexp(self, dim, keepdim)

    def var(self, dim=None, unbiased=True, keepdim=False, correction=None):
        # one registry record with PyTorch's closed-form gradient (var_backward): finite and
        # infinite entries keep their own values next to an inf, where the composed graph's
        # mean term made every entry NaN
        corr = (1 if unbiased else 0) if correction is None else correction
        return ops.var(self, dim, keepdim, corr)

    def std(self, dim=None, unbiased=True, keepdim=False, correction=None):
        # PyTorch's std_backward: gradient 0 at zero spread (linalg._root), not inf * 0 = NaN
        v = self.var(dim, unbiased, keepdim, correction)
        return renamed(linalg._root(v, 2.0), "StdBackward0")

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """``torch.norm``'s old API: ``"fro"``/numbers are vector norms over ``dim`` (all
        elements by default), ``"nuc"`` the nuclear norm of the matrices in ``dim``."""
        if p == "nuc":
            return linalg.matrix_norm(self, "nuc", (-2, -1) if dim is None else dim, keepdim,
                                      dtype=dtype)
        return linalg.vector_norm(self, 2 if p == "fro" else p, dim, keepdim, dtype=dtype)

    def inverse(self): return linalg.inv(self)
    def det(self): return linalg.det(self)
    def logdet(self): return linalg.logdet(self)

    def all(self): return ops.all(self)
    def any(self): return ops.any(self)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return builtins.bool(np.allclose(self._data, np.asarray(other), rtol, atol, equal_nan))

    def equal(self, other):
        return self._data.shape == other._data.shape and builtins.bool(
            np.array_equal(self._data, other._data))


