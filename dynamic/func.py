"""``torch.func`` basics: ``grad``, ``grad_and_value``, ``vjp``, ``jacrev`` (on the tape,
``autograd.grad``), ``jvp``, ``jacfwd`` (forward mode, ``autograd/forward_ad_transforms``),
``hessian`` (``jacfwd(jacrev)``: forward over reverse) and a looping ``vmap``.

Transforms nest (``grad(grad(f))``): inside another transform the inputs stay connected to the
outer graph and gradients are built with ``create_graph``; the outermost transform returns
detached results, as PyTorch's do. Inputs re-rooted for reverse mode keep their forward-mode
tangents, so reverse transforms run inside forward ones.
``vmap`` calls the function once per batch element and stacks the results: same values as
PyTorch's for functions without side effects or randomness, not its speed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from staticgraph import ops

from . import _unsupported
from ._tensor import Tensor
from .autograd.engine import grad as _autograd_grad
from .autograd.forward_ad_engine import carry_tangents
from .autograd.forward_ad_transforms import jacfwd_columns
from .autograd.forward_ad_transforms import jvp as _forward_jvp
from .autograd.functional import jacobian as _jacobian
from .autograd.grad_mode import enable_grad

_LEVEL = [0]  # how many transforms are running (nested transforms keep the graph)


def _argnums_tuple(argnums: int | tuple, n: int) -> tuple[int, ...]:
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    for a in nums:
        if not isinstance(a, int) or not -n <= a < n:
            raise RuntimeError(f"Got argnums={argnums}, but only {n} positional inputs")
    return tuple(a % n for a in nums)


def _track(x: Any) -> Any:
    """An input to differentiate: connected to an outer transform's graph when nested."""
    if _LEVEL[0] > 1 and x.requires_grad:
        return x.view_as(x)
    return carry_tangents(x, x.detach().requires_grad_(True))


def _finish(x: Any, tracked: tuple = ()) -> Any:
    """At the outermost level: detached, unless ``x`` depends on a tensor that requires grad
    outside the transform (then its graph stays, as in PyTorch)."""
    if isinstance(x, tuple):
        return tuple(_finish(e, tracked) for e in x)
    if _LEVEL[0] == 1 and isinstance(x, Tensor) and not _depends_on_others(x, tracked):
        return x.detach()
    return x


def _depends_on_others(x: Tensor, tracked: tuple) -> bool:
    """Whether a leaf other than the ``tracked`` inputs is reachable from ``x.grad_fn``."""
    ids = {id(t) for t in tracked}
    seen, todo = set(), [x.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        var = getattr(node, "variable", None)
        if var is not None and id(var) not in ids:
            return True
        todo.extend(fn for fn, _ in node.next_functions)
    return False


def _transform(fn: Callable) -> Callable:
    """Count the nesting level around one transform call."""
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _LEVEL[0] += 1
        try:
            with enable_grad():
                return fn(*args, **kwargs)
        finally:
            _LEVEL[0] -= 1
    return wrapped


def grad_and_value(func: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """``(gradient, value)`` of a function returning a one-element tensor."""
    @_transform
    def run(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args))
        args = tuple(_track(a) if i in nums else a for i, a in enumerate(args))
        out = func(*args, **kwargs)
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError("grad_and_value(f)(*args): output of function f should be a "
                                   "tuple: (output, aux) if has_aux is True")
            out, aux = out
        if not isinstance(out, Tensor):
            raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a Tensor, "
                               f"got {type(out)}")
        if out.dim() != 0:
            raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar "
                               f"Tensor, got tensor with {out.dim()} dims. Maybe you wanted to "
                               "use the vjp or jacrev APIs instead?")
        gs = _autograd_grad(out, [args[i] for i in nums], create_graph=True, allow_unused=True,
                            materialize_grads=True)
        g = gs if isinstance(argnums, tuple) else gs[0]
        tracked = tuple(args[i] for i in nums)
        res = (_finish(g, tracked), _finish(out, tracked))
        return (res, _finish(aux, tracked)) if has_aux else res
    return run


def grad(func: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """The gradient of a function returning a one-element tensor, w.r.t. ``argnums``."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        if has_aux:
            (g, _), aux = gv(*args, **kwargs)
            return g, aux
        return gv(*args, **kwargs)[0]
    return run


@_transform
def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(func(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one gradient per primal."""
    primals = tuple(_track(p) for p in primals)
    out = func(*primals)
    aux = None
    if has_aux:
        out, aux = out
    level = _LEVEL[0]

    def vjp_fn(*cotangents: Any) -> tuple:
        outs = out if isinstance(out, tuple) else (out,)
        cts = cotangents[0] if len(cotangents) == 1 and isinstance(out, tuple) else cotangents
        saved, _LEVEL[0] = _LEVEL[0], level
        try:
            with enable_grad():
                gs = _autograd_grad(list(outs), list(primals), list(cts), retain_graph=True,
                                    create_graph=True, allow_unused=True,
                                    materialize_grads=True)
            return _finish(tuple(gs), primals)
        finally:
            _LEVEL[0] = saved

    out_f = _finish(out, primals)
    return (out_f, vjp_fn, _finish(aux, primals)) if has_aux else (out_f, vjp_fn)


def jvp(func: Callable, primals: tuple, tangents: tuple, *, has_aux: bool = False) -> tuple:
    """``(func(*primals), J @ tangents)`` by forward mode."""
    return _forward_jvp(func, primals, tangents, has_aux=has_aux)


def jacrev(func: Callable, argnums: int | tuple = 0, *, has_aux: bool = False) -> Callable:
    """The Jacobian (``out.shape + input.shape``) w.r.t. ``argnums``, row by row."""
    if has_aux:
        raise NotImplementedError(_unsupported.message("torch.func.jacrev(has_aux=True)"))

    @_transform
    def run(*args: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args))
        tracked = tuple(_track(args[i]) for i in nums)

        def of_selected(*sel: Any) -> Any:
            full = list(args)
            for i, s in zip(nums, sel, strict=True):
                full[i] = s
            return func(*full)

        jac = _jacobian(of_selected, tracked, create_graph=True)
        res = jac if isinstance(argnums, tuple) else jac[0]
        return _finish(res, tracked)
    return run


def jacfwd(func: Callable, argnums: int | tuple = 0, *, has_aux: bool = False,
           randomness: str = "error") -> Callable:
    """The Jacobian (``out.shape + input.shape``) w.r.t. ``argnums``, column by column in
    forward mode (one ``jvp`` per input element)."""
    if has_aux:
        raise NotImplementedError(_unsupported.message("torch.func.jacfwd(has_aux=True)"))

    @_transform
    def run(*args: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args))
        sel = tuple(args[i] for i in nums)

        def of_selected(*s: Any) -> Any:
            full = list(args)
            for i, v in zip(nums, s, strict=True):
                full[i] = v
            return func(*full)

        jac, out_tuple = jacfwd_columns(of_selected, sel)
        res = tuple(r if isinstance(argnums, tuple) else r[0] for r in jac)
        res = res if out_tuple else res[0]
        outer = any(isinstance(a, Tensor) and a.requires_grad for a in args)
        return res if outer or _LEVEL[0] > 1 else _detached(res)
    return run


def _detached(x: Any) -> Any:
    return tuple(_detached(e) for e in x) if isinstance(x, tuple) else x.detach()


def hessian(func: Callable, argnums: int | tuple = 0) -> Callable:
    """``jacfwd(jacrev(func))``."""
    return jacfwd(jacrev(func, argnums), argnums)


def vmap(func: Callable, in_dims: int | tuple | None = 0, out_dims: int = 0,
         randomness: str = "error", *, chunk_size: int | None = None) -> Callable:
    """Map ``func`` over dimension ``in_dims`` of its tensor arguments (a Python loop)."""
    @functools.wraps(func)
    def run(*args: Any) -> Any:
        dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap(func, in_dims={in_dims}, ...)(<inputs>): in_dims is not "
                             f"compatible with the structure of `inputs`. in_dims has structure "
                             f"of length {len(dims)} but inputs has length {len(args)}.")
        sizes = {a.shape[d] for a, d in zip(args, dims, strict=True)
                 if d is not None and isinstance(a, Tensor)}
        if not sizes:
            raise ValueError(f"vmap({func.__name__}, in_dims={in_dims}, ...)(<inputs>): at "
                             "least one input must be a Tensor mapped over a dimension")
        if len(sizes) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                             f"dimension, got sizes {sorted(sizes)} for the mapped dimension")
        outs = [func(*(a[(slice(None),) * d + (i,)] if d is not None and isinstance(a, Tensor)
                       else a for a, d in zip(args, dims, strict=True)))
                for i in range(sizes.pop())]
        if isinstance(outs[0], tuple):
            return tuple(ops.stack(list(o), out_dims) for o in zip(*outs, strict=True))
        return ops.stack(outs, out_dims)
    return run


__getattr__ = _unsupported.missing_names(
    "torch.func", {"functional_call": "call the module with its own parameters"})
