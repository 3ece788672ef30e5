"""``torch.autograd.functional``: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vhp``, ``hvp``.

Built on ``autograd.grad`` as PyTorch builds them (``jvp``/``hvp`` by the double-backward
trick, as PyTorch's), with the same tuple conventions, ``create_graph``/``strict`` semantics and
messages. ``jacobian(strategy="forward-mode", vectorize=True)`` runs forward mode column by
column (``forward_ad_transforms``), so ``hessian(outer_jacobian_strategy="forward-mode")`` is
forward over reverse, as in PyTorch; ``vectorize=True`` alone computes row by row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from staticgraph import ops

from .._creation import zeros_like
from ._functional_checks import (
    as_tuple,
    autograd_grad,
    check_requires_grad,
    fill_in_zeros,
    postprocess,
    preprocess,
    unpack,
    validate_v,
)
from .forward_ad_transforms import jacfwd_columns
from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _prepare(fn_name: str, func: Callable, inputs: Any, v: Any, create_graph: bool,
             strict: bool, v_like_inputs: bool) -> tuple:
    """Run ``func`` on fresh graph roots; check and preprocess ``v`` (shaped like the inputs
    for ``jvp``/``vhp``/``hvp``, like the outputs for ``vjp``)."""
    is_in_tuple, inputs = as_tuple(inputs, "inputs", fn_name)
    inputs = preprocess(inputs, create_graph, need_graph=True)
    if v_like_inputs:
        v = _v(fn_name, v, inputs, is_in_tuple, create_graph,
               "the input to the user-provided function is")
    outputs = func(*inputs)
    is_out_tuple, outputs = as_tuple(outputs, "outputs of the user-provided function", fn_name)
    check_requires_grad(outputs, "outputs", strict)
    if not v_like_inputs:
        v = _v(fn_name, v, outputs, is_out_tuple, create_graph,
               "user-provided function returns a single Tensor with a single element.")
    return is_in_tuple, inputs, is_out_tuple, outputs, v


def _v(fn_name: str, v: Any, like: tuple, is_like_tuple: bool, create_graph: bool,
       what: str) -> tuple | None:
    if v is None:
        if len(like) != 1 or like[0].nelement() != 1:
            if what.startswith("user"):
                raise RuntimeError(f"The vector v can only be None if the {what}")
            raise RuntimeError(f"The vector v can only be None if {what} a single Tensor with "
                               "a single element.")
        return None
    _, v = as_tuple(v, "v", fn_name)
    v = preprocess(v, create_graph, need_graph=False)
    validate_v(v, like, is_like_tuple)
    return v


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), v^T J)``."""
    with enable_grad():
        is_in, inputs, is_out, outputs, v = _prepare("vjp", func, inputs, v, create_graph,
                                                     strict, v_like_inputs=False)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = autograd_grad(outputs, inputs, v, create_graph=create_graph)
        res = fill_in_zeros(res, inputs, strict, create_graph, "back")
    return (unpack(postprocess(outputs, create_graph), is_out),
            unpack(postprocess(res, create_graph), is_in))


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), J v)`` by the double-backward trick."""
    with enable_grad():
        _, inputs, is_out, outputs, v = _prepare("jvp", func, inputs, v, create_graph, strict,
                                                 v_like_inputs=True)
        grad_outputs = tuple(zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        check_requires_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = autograd_grad(grad_inputs, grad_outputs, v, create_graph=create_graph)
        res = fill_in_zeros(res, outputs, strict, create_graph, "back_trick")
    return (unpack(postprocess(outputs, create_graph), is_out),
            unpack(postprocess(res, create_graph), is_out))


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``: one row per output element (reverse mode)."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more performant. '
            'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        _check_forward_mode(create_graph, strict, vectorize)
    with enable_grad():
        is_in, inputs = as_tuple(inputs, "inputs", "jacobian")
        inputs = preprocess(inputs, create_graph, need_graph=True)
        if strategy == "forward-mode":
            jac, is_out = jacfwd_columns(func, inputs)
            return unpack(postprocess(jac, create_graph), (is_out, is_in))
        is_out, outputs = as_tuple(func(*inputs), "outputs of the user-provided function",
                                   "jacobian")
        check_requires_grad(outputs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either "
                               "set `strict=False` or `vectorize=False`.")
        jac = tuple(_jacobian_rows(i, out, inputs, create_graph, strict)
                    for i, out in enumerate(outputs))
        return unpack(postprocess(jac, create_graph), (is_out, is_in))


def _check_forward_mode(create_graph: bool, strict: bool, vectorize: bool) -> None:
    if create_graph:
        raise NotImplementedError("torch.autograd.functional.jacobian: `create_graph=True` and "
                                  '`strategy="forward-mode"` are not supported together (yet). '
                                  "Please either set `create_graph=False` or "
                                  '`strategy="reverse-mode"`.')
    if strict:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                           '`strategy="forward-mode"` are not supported together (yet). Please '
                           'either set `strict=False` or `strategy="reverse-mode"`.')
    if not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian isonly implemented for `vectorize=True`.")


def _jacobian_rows(i: int, out: Any, inputs: tuple, create_graph: bool, strict: bool) -> tuple:
    """d out / d input_j for every j, shaped ``out.shape + input_j.shape``."""
    rows: tuple[list, ...] = tuple([] for _ in inputs)
    flat = out.reshape(-1)
    for k in range(out.nelement()):
        vj = autograd_grad((flat[k],), inputs, retain_graph=True, create_graph=create_graph)
        for j, (row, g, inp) in enumerate(zip(rows, vj, inputs, strict=True)):
            if g is None:
                if strict:
                    raise RuntimeError(f"Output {i} of the user-provided function is independent "
                                       f"of input {j}. This is not allowed in strict mode.")
                g = zeros_like(inp)
            elif strict and create_graph and not g.requires_grad:
                raise RuntimeError("The jacobian of the user-provided function is independent "
                                   f"of input {i}. This is not allowed in strict mode when "
                                   "create_graph=True.")
            row.append(g)
    return tuple(_stack(row, inp).reshape(tuple(out.shape) + tuple(inp.shape))
                 for row, inp in zip(rows, inputs, strict=True))


def _stack(row: list, like: Any) -> Any:
    return ops.stack(row, 0) if row else zeros_like(like).reshape(0, *like.shape)


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar ``func``: the Jacobian of its gradient."""
    is_in, inputs = as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*inp: Any) -> Any:
        out = func(*inp)
        is_out_tuple, t_out = as_tuple(out, "outputs of the user-provided function", "hessian")
        check_requires_grad(t_out, "outputs", strict)
        if is_out_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.nelement() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        return out.squeeze()

    def jac_func(*inp: Any) -> Any:
        if outer_jacobian_strategy == "forward-mode":
            inp = tuple(t.requires_grad_(True) for t in inp)
        jac = jacobian(single_output, inp, create_graph=True)
        check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return unpack(res, (is_in, is_in))


def _scalar_output(fn_name: str, is_out_tuple: bool, outputs: tuple) -> None:
    if is_out_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), v^T H)``."""
    with enable_grad():
        is_in, inputs, is_out, outputs, v = _prepare("vhp", func, inputs, v, create_graph,
                                                     strict, v_like_inputs=True)
        _scalar_output("vhp", is_out, outputs)
        jac = autograd_grad(outputs, inputs, create_graph=True)
        check_requires_grad(jac, "jacobian", strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = autograd_grad(jac, inputs, v, create_graph=create_graph)
        res = fill_in_zeros(res, inputs, strict, create_graph, "double_back")
    return (unpack(postprocess(outputs, create_graph), is_out),
            unpack(postprocess(res, create_graph), is_in))


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), H v)`` by the double-backward trick."""
    with enable_grad():
        is_in, inputs, is_out, outputs, v = _prepare("hvp", func, inputs, v, create_graph,
                                                     strict, v_like_inputs=True)
        _scalar_output("hvp", is_out, outputs)
        jac = autograd_grad(outputs, inputs, create_graph=True)
        check_requires_grad(jac, "jacobian", strict)
        grad_jac = tuple(zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = autograd_grad(jac, inputs, grad_jac, create_graph=True)
        check_requires_grad(jac, "hessian", strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = autograd_grad(double_back, grad_jac, v, create_graph=create_graph)
        res = fill_in_zeros(res, inputs, strict, create_graph, "double_back_trick")
    return (unpack(postprocess(outputs, create_graph), is_out),
            unpack(postprocess(res, create_graph), is_in))
