"""Running sums and products (``cumsum``, ``cumprod``) and ``prod``, whose gradient is built
from them.

Both scans take TF's ``exclusive`` (the element itself left out: ``[1, a, a*b]``) and ``reverse``
(from the end) flags; PyTorch's ``cumsum``/``cumprod`` are the default (inclusive, forward).
Gradients follow PyTorch's rules, written with the public op functions so that one rule computes
eagerly and builds gradient nodes in a graph:

* ``prod``: ``g * prod / x`` when the tensor holds no zero (as PyTorch, so an inf or NaN element
  gives NaN there); otherwise the product of the *other* elements of the slice, from exclusive
  products taken from both sides (``prod_safe_zeros_backward``: exact with zeros, no division);
  0 for a full product with several zeros.
* ``cumprod``: PyTorch's O(n) ``cumprod_backward``: reversed running sums of ``g * out`` divided
  by ``x`` before the first zero of a slice, the product-of-others sum at the first zero, 0 after;
  plus terms that are 0 in value but not in derivative, so that a second derivative is exact at
  zeros too (PyTorch's O(n^2) double-backward values, in O(n)).
"""

from __future__ import annotations

import numpy as np

from .core import INT64, AVal, Op, aval_of, bind, register
from .elementwise import (
    abs,
    add,
    cast,
    div,
    eq,
    gt,
    logical_and,
    logical_not,
    logical_or,
    lt,
    mul,
    neg,
    sub,
    where,
)
from .reductions import _dim, _dims, _name, _red, _unreduce, sum
from .shapes import ones_like, reshape, reshape_like
from .unknown_rank import dims_at_rank, known_rank


# --------------------------------------------------------------------------- public functions
def prod(x, dim=None, keepdim=False):
    """Product of elements (all, or along ``dim``); integer inputs give int64."""
    return bind(PROD, x, dim=_dims(x, dim), keepdim=bool(keepdim), full=dim is None)


def cumsum(x, dim, reverse=False, exclusive=False):
    """Running sum along ``dim`` (``reverse``: from the end; ``exclusive``: without the element
    itself, starting at 0)."""
    return bind(CUMSUM, x, dim=_dim(x, dim), exclusive=bool(exclusive),
                reverse=bool(reverse))


def cumprod(x, dim, reverse=False, exclusive=False):
    """Running product along ``dim`` (``reverse``: from the end; ``exclusive``: without the
    element itself, starting at 1)."""
    return bind(CUMPROD, x, dim=_dim(x, dim), exclusive=bool(exclusive),
                reverse=bool(reverse))


# ------------------------------------------------------------------------------------ kernels
def _scan(fn, identity: int):
    """The numpy kernel of a running ``fn`` (``np.cumsum``/``np.cumprod``) with TF's flags:
    exclusive shifts the inclusive result by one and puts ``identity`` first."""

    def impl(x, dim, exclusive, reverse):
        if x.dtype == np.float16:  # in float32, rounded once (PyTorch's opmath): numpy scans
            out = impl(x.astype(np.float32), dim, exclusive, reverse)  # float16 in float16
            return out.astype(np.float16)  # (3000 ones summed to 2048)
        if x.dtype.kind in "bui":
            x = x.astype(np.int64)
        if reverse:
            x = np.flip(x, dim)
        out = fn(x, axis=dim)
        if exclusive and x.shape[dim]:
            lead = [slice(None)] * x.ndim
            lead[dim] = slice(0, 1)
            head = np.full_like(out[tuple(lead)], identity)
            lead[dim] = slice(0, -1)
            out = np.concatenate([head, out[tuple(lead)]], axis=dim)
        return np.flip(out, dim) if reverse else out

    return impl


def _prod_impl(x, dim, keepdim, full):
    """``np.prod``; float16 multiplied in float32 and rounded once (the kernel rule: numpy
    multiplies the rows of a non-inner float16 axis in float16, 1 ulp per step)."""
    if x.dtype == np.float16:
        return np.multiply.reduce(x, axis=dim, keepdims=keepdim,
                                  dtype=np.float32).astype(np.float16)
    return np.prod(x, axis=dim, keepdims=keepdim)


def _scan_infer(x: AVal, dim, exclusive, reverse) -> tuple:
    return x.shape, (INT64 if x.dtype.kind in "bui" else x.dtype)


# ---------------------------------------------------------------------------------- gradients
def _others(x, dim: tuple, full: bool):
    """The product of the other elements of each element's slice over ``dim``, without a
    division: exclusive products from both sides (a full reduction runs over the flattened
    tensor, as PyTorch's does). Several dims: the other sub-slices' products times the
    others within the element's own sub-slice."""
    if full and (not known_rank(x) or aval_of(x).ndim > 1):
        return reshape_like(_others(reshape(x, (-1,)), (0,), True), x)
    d, rest = dim[0], dim[1:]
    if rest:
        q = prod(x, rest, keepdim=True)
        return mul(_others(q, (d,), False), _others(x, rest, False))
    return mul(cumprod(x, d, exclusive=True), cumprod(x, d, reverse=True, exclusive=True))


def _prod_vjp(g, out, x, dim, keepdim, full):
    """PyTorch's ``prod_backward``: ``g * (prod / x)`` when no element of the tensor is 0,
    otherwise ``g *`` the product of the others (``prod_safe_zeros_backward``), and for the
    full product of a tensor with two or more zeros exactly 0 (PyTorch's first-order
    shortcut; a second derivative there is 0 too). The candidates are built and one is picked,
    so the graph needs no data-dependent branch; the division never sees a 0 (the unpicked
    side stays finite for a second derivative)."""
    if known_rank(x) and aval_of(x).ndim == 0:
        return (g,)
    gu, ou = _unreduce(g, x, dim, keepdim), _unreduce(out, x, dim, keepdim)
    zero = eq(x, 0)
    fast = mul(gu, div(ou, where(zero, 1, x)))
    safe = mul(gu, _others(x, dim, full))
    zeros = sum(cast(zero, aval_of(x).dtype))
    grad = where(gt(zeros, 0), safe, fast)
    return (where(gt(zeros, 1), 0.0, grad) if full else grad,)


def _cumsum_vjp(g, out, x, dim, exclusive, reverse):
    return (cumsum(g, dim, reverse=not reverse, exclusive=exclusive),)


def _cumprod_vjp(g, out, x, dim, exclusive, reverse):
    """PyTorch's ``cumprod_backward``, exact to first order in every input, zeros included, so
    that a second derivative through it is exact (what PyTorch's O(n^2) double-backward path
    computes, here in O(n) and without a data-dependent branch): the first-order values
    (``_cumprod_first_order``) plus ``_vanishing_terms``, which are 0 in value (``-0.0``, so
    that the sum keeps every bit, signed zeros included) but not in derivative."""
    if known_rank(x) and aval_of(x).shape[dim] == 1:
        return (mul(g, 0.0) if exclusive else g,)
    grad, parts = _cumprod_first_order(g, out, x, dim, exclusive, reverse)
    zero = _vanishing_terms(g, x, dim, exclusive, reverse, *parts)
    grad = add(grad, neg(sub(0.0, zero)))  # -(0 - (+-0)) is -0.0: grad + -0.0 is grad
    return (_exclusive_last(grad, dim, exclusive, reverse),)


def _cumprod_np_vjp(g, out, needs, x, dim, exclusive, reverse):
    """``_cumprod_vjp`` on arrays (the eager backward without ``create_graph``): the same
    values op for op, without the terms that only a second derivative reads; a tensor without
    zeros takes PyTorch's shortcut, the reversed running sums of ``g * out`` over ``x`` (the
    same bits: the masks select everything there)."""
    if x.shape[dim] == 1:
        return (mul(g, 0.0) if exclusive else g,)
    if (x != 0).all():
        grad = div(cumsum(mul(out, g), dim, not reverse, exclusive), x)
    else:
        grad = _cumprod_first_order(g, out, x, dim, exclusive, reverse)[0]
    return (_exclusive_last(grad, dim, exclusive, reverse),)


def _exclusive_last(grad, dim, exclusive, reverse):
    """The last element (in scan order) of an exclusive scan is no factor of any output: its
    cotangent is exactly 0 (not ``0 / x``, NaN at a NaN)."""
    if not exclusive:
        return grad
    last = eq(cumsum(ones_like(grad), dim, not reverse), 1)
    return where(last, 0.0, grad)


def _cumprod_first_order(g, out, x, dim, exclusive, reverse):
    """PyTorch's first-order ``cumprod_backward`` per slice along ``dim`` in scan order: before
    the first zero ``z1``, ``sum_{j >= i} g_j out_j / x_i`` (``j > i`` when exclusive); at
    ``z1``, ``prod_{m < z1} x_m * sum_j g_j prod_{z1 < m <= j} x_m`` over the ``j`` whose
    output has ``z1`` as its only zero factor; after it, 0. Exact values, but its derivative
    misses the terms that are 0 only through a zero factor. Returns the cotangent and the
    masks and products ``_vanishing_terms`` reuses. A scan over a dim of size 1 (handled by
    the callers) is the identity (1 when exclusive): ``g`` (0) itself, as PyTorch's, so that a
    second derivative does not cancel ``out / x`` terms of size ``1 / x``."""
    z = eq(x, 0)
    zf = cast(z, aval_of(x).dtype)
    cz = cumsum(zf, dim, reverse)  # zeros at or before i
    factors = sub(cz, zf) if exclusive else cz  # zeros among out_i's factors
    before = eq(cz, 0)
    w = where(eq(factors, 0), mul(out, g), 0.0)
    gb = div(cumsum(w, dim, not reverse, exclusive), where(before, x, 1))
    between = logical_and(eq(cz, 1), logical_not(z))  # strictly between the 1st and 2nd zero
    p = cumprod(where(between, x, 1), dim, reverse, exclusive)
    s = sum(mul(p, where(eq(factors, 1), g, 0.0)), dim, keepdim=True)
    below = cumprod(x, dim, reverse, exclusive=True)  # at z1: the product before it
    first = logical_and(z, eq(cz, 1))
    grad = where(before, gb, where(first, mul(s, below), 0.0))
    return grad, (z, cz, factors, p, first, below)


def _vanishing_terms(g, x, dim, exclusive, reverse, z, cz, factors, p, first, below):
    """The terms of ``d/dx_i sum_j g_j out_j`` with exactly one zero factor besides ``x_i``:
    0 in value, but their derivative in that zero is not. Each is that zero (``x_z1`` or
    ``x_z2``, read from ``x`` so that the graph differentiates in it) times its coefficient:
    at a nonzero ``x_i`` before ``z2``, ``x_z1 * prod_{m < z1} x_m * sum_j g_j p_j / x_i`` over
    the ``j`` whose only zero factor is ``z1`` (``p_j``: their factors after ``z1``); at
    ``z1``, ``x_z2 * K``; at ``z2``, ``x_z1 * K``, with ``K`` the sum over the ``j`` whose zero
    factors are ``z1`` and ``z2`` of ``g_j`` times their nonzero factors. Terms with two zeros
    besides ``x_i`` vanish to first order. A coefficient that is not finite (inf or NaN
    inputs, overflow) counts as 0, so that the value is a zero (``0 * inf`` would be NaN)."""
    second = logical_and(z, eq(cz, 2))

    def at(mask, v):  # the value at the slice's position ``mask``, along the whole slice
        return sum(where(mask, v, 0.0), dim, keepdim=True)

    def vanish(zero, coeff):  # zero * coeff, coeff read as 0 where it is not finite
        return mul(zero, where(lt(abs(coeff), np.inf), coeff, 0.0))

    x1, x2, pz = at(first, x), at(second, x), at(first, below)
    r = cumsum(where(eq(factors, 1), mul(g, p), 0.0), dim, not reverse, exclusive)
    nz = logical_not(z)
    c1 = where(nz, div(mul(pz, r), where(z, 1, x)), 0.0)
    mid = logical_and(nz, logical_or(eq(cz, 1), eq(cz, 2)))  # nonzero, between z1 and z3
    q = cumprod(where(mid, x, 1), dim, reverse, exclusive)
    k = mul(pz, sum(where(eq(factors, 2), mul(g, q), 0.0), dim, keepdim=True))
    return add(vanish(x1, c1), add(vanish(x2, where(first, k, 0.0)),
                                   vanish(x1, where(second, k, 0.0))))


def _cumprod_jvp(ts, out, x, dim, exclusive, reverse):
    """Exact with zeros: where ``out_k`` has no zero factor, ``out_k * sum_{j} t_j / x_j`` over
    its factors; with one (the slice's first zero), ``t`` there times the product of the other
    factors; with two or more, 0."""
    t = ts[0]
    fdt = aval_of(x).dtype
    z = eq(x, 0)
    zf = cast(z, fdt)
    cz = cumsum(zf, dim, reverse)
    factors = sub(cz, zf) if exclusive else cz
    x1 = where(z, 1, x)
    none = mul(out, cumsum(div(t, x1), dim, reverse, exclusive))
    first = logical_and(z, eq(cz, 1))
    one = mul(cumsum(where(first, t, 0.0), dim, reverse, exclusive),
              cumprod(x1, dim, reverse, exclusive))
    return where(eq(factors, 0), none, where(eq(factors, 1), one, 0.0))


# ----------------------------------------------------------------------------------- records
PROD = _red("prod", _prod_impl, "sum",
            _prod_vjp, _name("ProdBackward0", "ProdBackward1"), "Prod", saves=(0, "out"))
CUMSUM = register(Op(name="cumsum", impl=_scan(np.cumsum, 0), infer=_scan_infer,
                     vjp=_cumsum_vjp, kind="reduce", grad_name="CumsumBackward0",
                     tf_name="Cumsum", at_rank=dims_at_rank(single=True), jvp="linear"))
CUMPROD = register(Op(name="cumprod", impl=_scan(np.cumprod, 1), infer=_scan_infer,
                      vjp=_cumprod_vjp, np_vjp=_cumprod_np_vjp, kind="reduce", grad_name="CumprodBackward0",
                      saves=(0, "out"), tf_name="Cumprod", at_rank=dims_at_rank(single=True),
                      jvp=_cumprod_jvp))

__all__ = ["prod", "cumsum", "cumprod"]
