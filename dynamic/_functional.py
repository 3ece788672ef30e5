"""Module-level functions (``torch.exp(x)``, ``torch.cat([...])``...): the Tensor methods."""

from __future__ import annotations

import builtins
import functools
import inspect
from typing import Any

import numpy as np

from staticgraph import ops

from . import _dtypes
from ._creation import _finish, tensor, zeros
from ._tensor import Tensor, make, to_tensor
from .autograd.grad_mode import no_grad
from .autograd.graph import renamed

_POSITIONAL_KEYWORDS = ("other", "exponent", "mat2", "vec2")  # PyTorch's names of argument 2


def _write_out(name: str, result: Any, out: Any) -> Any:
    """``torch.f(..., out=t)``: the result written into ``t`` (resized if its shape differs),
    ``t`` returned; PyTorch's error where the result would need a gradient."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if result.requires_grad:
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if result.is_floating_point() and not out.is_floating_point():
        raise RuntimeError(f"result type {result.dtype._legacy[:-6]} can't be cast to the "
                           f"desired output type {out.dtype._legacy[:-6]}")
    with no_grad():
        if tuple(out.shape) == tuple(result.shape):
            out.copy_(result)
        else:
            out.data = result.to(out.dtype)
    return out


def _method(name: str) -> Any:
    found: list = []  # ``Tensor``'s function for ``name``, looked up at the first call

    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - PyTorch's name
        if not kwargs and type(input) is Tensor:  # the common call, straight to the method
            if found:  # no bound method made per call, no argument tuple for one or two
                if not args:
                    return found[0](input)
                if len(args) == 1:
                    return found[0](input, args[0])
                return found[0](input, *args)
            f = getattr(Tensor, name)
            if inspect.isfunction(f):
                found.append(f)
            return getattr(input, name)(*args)
        if "out" in kwargs:
            out = kwargs.pop("out")
            return _write_out(name, fn(input, *args, **kwargs), out)
        if not args and kwargs:  # ``torch.matmul(input=a, other=b)``: the method calls it ``o``
            for k in _POSITIONAL_KEYWORDS:
                if k in kwargs and k not in _params(name):
                    args = (kwargs.pop(k),)
                    break
        return getattr(to_tensor(input), name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"``torch.{name}(input, ...)``: same as ``input.{name}(...)``."
    return fn


@functools.cache
def _params(name: str) -> frozenset:
    return frozenset(inspect.signature(getattr(Tensor, name)).parameters)


_NAMES = ("add sub mul div pow exp log sqrt sin cos tanh sigmoid relu abs neg square sign "
          "reciprocal clamp clip clamp_min clamp_max maximum minimum eq ne lt le gt ge sum mean "
          "max min amax amin argmax argmin logsumexp var std matmul mm dot t transpose permute "
          "reshape flatten unsqueeze squeeze softmax log_softmax numel clone detach "
          "broadcast_to all any logical_not multiply divide true_divide subtract prod cumsum "
          "cumprod norm rsqrt log1p expm1 log2 log10 tan floor ceil round trunc masked_fill gather "
          "scatter scatter_add narrow index_select flip roll split chunk tril triu diag trace "
          "sort argsort msort topk unique nonzero erf").split()
globals().update({n: _method(n) for n in _NAMES})


def where(condition: Any, input: Any = None, other: Any = None) -> Any:  # noqa: A002
    """``where(c, x, y)`` picks elementwise; ``where(c)`` is ``c.nonzero(as_tuple=True)``."""
    if input is None and other is None:
        return to_tensor(condition).nonzero(as_tuple=True)
    return ops.where(to_tensor(condition), input, other)


def cat(tensors: Any, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    res = ops.cat([to_tensor(t) for t in tensors], dim)
    return res if out is None else _write_out("cat", res, out)


concat = concatenate = cat


def stack(tensors: Any, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    res = ops.stack([to_tensor(t) for t in tensors], dim)
    return res if out is None else _write_out("stack", res, out)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002 - PyTorch's names
    if input.dim() != 3 or mat2.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    return renamed(ops.matmul(input, mat2), "BmmBackward0")


def outer(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002
    return ops.mul(ops.unsqueeze(input, 1), ops.unsqueeze(vec2, 0))


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    return bool(np.allclose(np.asarray(a), np.asarray(b), rtol, atol, equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    return input.equal(other)


def is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


def is_floating_point(x: Tensor) -> bool:
    return x.is_floating_point()


def isfinite(x: Tensor) -> Tensor:
    return make(np.isfinite(x._data))


def isnan(x: Tensor) -> Tensor:
    return make(np.isnan(x._data))


def logspace(start: float, end: float, steps: int, base: float = 10.0, dtype: Any = None,
             requires_grad: bool = False, device: Any = None) -> Tensor:
    return _finish(np.logspace(start, end, steps, base=base).astype(_dtype(dtype)), requires_grad)


def _dtype(dtype: Any) -> np.dtype:
    return np.dtype(np.float32) if dtype is None else _dtypes.to_numpy_dtype(dtype)


def _legacy(dtype_name: str) -> Any:
    """``torch.FloatTensor([1, 2])``: the old typed constructors."""
    dt = getattr(_dtypes, dtype_name)

    def ctor(*args: Any) -> Tensor:
        if args and builtins.all(isinstance(a, int) for a in args):
            return zeros(*args, dtype=dt)
        return tensor(args[0] if args else [], dtype=dt)

    ctor.__name__ = dt._legacy
    return ctor


FloatTensor, DoubleTensor, LongTensor, IntTensor, BoolTensor = (
    _legacy(n) for n in ("float32", "float64", "int64", "int32", "bool"))


def get_default_dtype() -> Any:
    return _dtypes.float32


def set_default_dtype(d: Any) -> None:
    if d is not _dtypes.float32:
        raise NotImplementedError("only float32 is supported as the default dtype")
