"""The singular value decomposition ``tf.linalg.svd`` and ``torch.linalg.svd``/``svdvals``
share, as three records: ``U`` (``linalg_svd_u``), ``S`` (``linalg_svd_s``, descending) and
``Vh`` (``linalg_svd_vh``; TF's ``v`` is its transpose), each differentiable. LAPACK's
``gesdd`` through numpy in float64. Singular vectors are unique only up to sign, and the signs
differ between libraries (TF's Eigen SVD, and PyTorch on some shapes, flip columns numpy does
not): compare them, and their gradients, through sign-invariant functions.

The gradient is PyTorch's ``svd_backward`` (``FunctionsManual.cpp``), linear in
``(gU, gS, gVh)``, so each record's rule is its part and the walker adds them. With ``k =
min(m, n)`` (a full factorization's extra columns of ``U`` and rows of ``Vh`` carry no
information about ``a`` and their cotangents are dropped, as PyTorch does),
``E_ij = s_j^2 - s_i^2`` (1 on the diagonal) and ``skew(X) = X - X^T``:

* ``gS``: ``U diag(gS) Vh``;
* ``gU``: ``U ((skew(U^T gU) / E) S) Vh``, plus ``(I - U U^T) gU S^-1 Vh`` when ``m > n``;
* ``gVh``: ``U (S (skew(Vh gVh^T) / E)) Vh``, plus ``U S^-1 gVh (I - Vh^T Vh)`` when ``m < n``.

Repeated singular values make ``E`` zero off the diagonal: the vectors are not unique there and
the gradient is inf/NaN, as in PyTorch (TF's rule softens the division, ``_SafeReciprocal``).
A full factorization of a non-square matrix: PyTorch drops the extra columns' cotangents
(``full_grad=True``). TF (``full_grad=False``, the static frontend) keeps them when ``|m - n| ==
1``, where the one extra column of the larger factor is fixed up to sign by the others: with
``U = [U1 u2]`` (``m = n + 1``) it adds ``-u2 (gu2^T U1) S^-1 Vh``, with ``Vh = [Vh1; vh2]``
(``n = m + 1``) ``-U S^-1 (Vh1 gvh2^T) vh2`` (TF's ``_SvdGrad``); for ``|m - n| > 1`` the extra
columns are any basis of a subspace and TF raises NotImplementedError, as this rule does.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, aval_of, bind, register
from .elementwise import add, div, mul, neg, sub, where
from .linalg import f64
from .nn import matmul
from .reductions import sum as sum_
from .shapes import expand_dims, getitem, transpose


def linalg_svd_u(a, full: bool = False, full_grad: bool = True):
    """``U`` of ``a = U diag(S) Vh``: ``(..., m, k)``, ``(..., m, m)`` when ``full``."""
    return bind(LINALG_SVD_U, a, full=bool(full), full_grad=bool(full_grad))


def linalg_svd_s(a):
    """The singular values ``S``, descending: ``(..., k)``."""
    return bind(LINALG_SVD_S, a)


def linalg_svd_vh(a, full: bool = False, full_grad: bool = True):
    """``Vh`` of ``a = U diag(S) Vh``: ``(..., k, n)``, ``(..., n, n)`` when ``full``."""
    return bind(LINALG_SVD_VH, a, full=bool(full), full_grad=bool(full_grad))


def _dims(a: AVal) -> tuple:
    if a.ndim < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {a.ndim}")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"svd needs a float matrix, got {a.dtype}")
    m, n = a.shape[-2], a.shape[-1]
    return m, n, None if m is None or n is None else min(m, n)


def _u_infer(a: AVal, full: bool = False, full_grad: bool = True) -> tuple:
    m, _, k = _dims(a)
    return tuple(a.shape[:-2]) + (m, m if full else k), a.dtype


def _s_infer(a: AVal) -> tuple:
    return tuple(a.shape[:-2]) + (_dims(a)[2],), a.dtype


def _vh_infer(a: AVal, full: bool = False, full_grad: bool = True) -> tuple:
    _, n, k = _dims(a)
    return tuple(a.shape[:-2]) + (n if full else k, n), a.dtype


def _u_kernel(a: np.ndarray, full: bool = False, full_grad: bool = True) -> np.ndarray:
    return np.linalg.svd(f64(a), full_matrices=full)[0].astype(a.dtype)


def _s_kernel(a: np.ndarray) -> np.ndarray:
    return np.linalg.svd(f64(a), compute_uv=False).astype(a.dtype)


def _vh_kernel(a: np.ndarray, full: bool = False, full_grad: bool = True) -> np.ndarray:
    return np.linalg.svd(f64(a), full_matrices=full)[2].astype(a.dtype)


def _factors(a):
    """The reduced ``U, S, Vh`` of ``a`` and its dims."""
    m, n = aval_of(a).shape[-2:]
    if m is None or n is None:
        raise NotImplementedError("the SVD gradient needs the matrix dims when it is built")
    return linalg_svd_u(a), linalg_svd_s(a), linalg_svd_vh(a), m, n


def _skew_over_e(x, s, k: int):
    """``skew(x) / E`` with ``E_ij = s_j^2 - s_i^2`` off the diagonal (the diagonal is 0)."""
    s2 = mul(s, s)
    eye = np.eye(k, dtype=bool)
    e = where(eye, 1.0, sub(expand_dims(s2, -2), expand_dims(s2, -1)))
    return div(sub(x, transpose(x)), e)


def _narrow(g, full: bool, full_grad: bool, m: int, n: int, axis: int):
    """The cotangent of the reduced factor (the first ``k`` columns of ``U``, rows of ``Vh``)."""
    if not full or m == n:
        return g
    if not full_grad and abs(m - n) > 1:
        raise NotImplementedError("svd gradient is not implemented for abs(m - n) > 1 when "
                                  f"full_matrices is True (a {m}x{n} matrix: its extra "
                                  "singular vectors are not unique); use full_matrices=False")
    k = min(m, n)
    return getitem(g, (Ellipsis, slice(0, k)) if axis == -1 else
                   (Ellipsis, slice(0, k), slice(None)))


def _extra_column(g, a, s, vh, full: bool, full_grad: bool, m: int, n: int, axis: int):
    """TF's term for the cotangent of the one extra column of a full ``U`` (``m = n + 1``,
    ``axis=-1``) or row of a full ``Vh`` (``n = m + 1``, ``axis=-2``); None when it has none."""
    if not full or full_grad or abs(m - n) != 1 or (m > n) != (axis == -1):
        return None
    if axis == -1:  # -u2 (gu2^T U1) S^-1 Vh
        uf = linalg_svd_u(a, True, full_grad=False)
        u1, u2 = getitem(uf, (Ellipsis, slice(0, n))), getitem(uf, (Ellipsis, slice(n, m)))
        gu2 = getitem(g, (Ellipsis, slice(n, m)))
        inner = div(matmul(transpose(gu2), u1), expand_dims(s, -2))
        return neg(matmul(matmul(u2, inner), vh))
    vf = linalg_svd_vh(a, True, full_grad=False)  # -U S^-1 (Vh1 gvh2^T) vh2
    vh2 = getitem(vf, (Ellipsis, slice(m, n), slice(None)))
    gvh2 = getitem(g, (Ellipsis, slice(m, n), slice(None)))
    inner = div(matmul(vh, transpose(gvh2)), expand_dims(s, -1))
    return neg(matmul(linalg_svd_u(a), matmul(inner, vh2)))


def _s_vjp(g, out, a):
    u, _, vh, _, _ = _factors(a)
    return (matmul(mul(u, expand_dims(g, -2)), vh),)


def _u_vjp(g, out, a, full=False, full_grad=True):
    u, s, vh, m, n = _factors(a)
    extra = _extra_column(g, a, s, vh, full, full_grad, m, n, -1)
    g = _narrow(g, full, full_grad, m, n, -1)
    inner = mul(_skew_over_e(matmul(transpose(u), g), s, min(m, n)), expand_dims(s, -2))
    ga = matmul(u, inner)
    if m > n:
        gs_inv = div(g, expand_dims(s, -2))
        ga = add(ga, sub(gs_inv, matmul(u, matmul(transpose(u), gs_inv))))
    ga = matmul(ga, vh)
    return (ga if extra is None else add(ga, extra),)


def _vh_vjp(g, out, a, full=False, full_grad=True):
    u, s, vh, m, n = _factors(a)
    extra = _extra_column(g, a, s, vh, full, full_grad, m, n, -2)
    g = _narrow(g, full, full_grad, m, n, -2)
    inner = mul(expand_dims(s, -1), _skew_over_e(matmul(vh, transpose(g)), s, min(m, n)))
    ga = matmul(inner, vh)
    if m < n:
        s_inv_g = div(g, expand_dims(s, -1))
        ga = add(ga, sub(s_inv_g, matmul(matmul(s_inv_g, transpose(vh)), vh)))
    ga = matmul(u, ga)
    return (ga if extra is None else add(ga, extra),)


def svd_jvp(a, da, full: bool) -> tuple:
    """``(dU, dS, dVh)`` for a tangent ``da`` of ``a`` (PyTorch's ``svd_jvp``): with
    ``dP = U^T dA V``, ``dS = diag(dP)`` and, ``dP`` now without its diagonal,
    ``dU = U (dP S + S dP^T) / E`` (plus ``(I - U U^T) dA V S^-1`` when ``m > n``) and
    ``dV = V (S dP + dP^T S) / E`` (plus ``(I - V V^T) dA^T U S^-1`` when ``m < n``)."""
    u, s, vh, m, n = _factors(a)
    if full and m != n:
        raise NotImplementedError("the derivative of a full SVD (full_matrices=True) of a "
                                  f"non-square matrix ({m}x{n}) is not supported")
    k = min(m, n)
    v = transpose(vh)
    dp = matmul(matmul(transpose(u), da), v)
    eye = np.eye(k, dtype=bool)
    ds = sum_(mul(dp, eye.astype(aval_of(a).dtype)), -1)
    dp = where(eye, 0.0, dp)
    s2 = mul(s, s)
    e = where(eye, 1.0, sub(expand_dims(s2, -2), expand_dims(s2, -1)))
    row, col = expand_dims(s, -2), expand_dims(s, -1)
    du = matmul(u, div(add(mul(dp, row), mul(col, transpose(dp))), e))
    dv = matmul(v, div(add(mul(col, dp), mul(transpose(dp), row)), e))
    if m > n:
        dav = matmul(da, v)
        du = add(du, div(sub(dav, matmul(u, matmul(transpose(u), dav))), row))
    elif m < n:
        dahu = matmul(transpose(da), u)
        dv = add(dv, div(sub(dahu, matmul(v, matmul(vh, dahu))), row))
    return du, ds, transpose(dv)


_SVD = dict(nin=1, grad_name="LinalgSvdBackward0", tf_name="Svd", input_names=("input",),
            fresh_output=True, saves=(0,))

LINALG_SVD_U = register(Op(
    name="linalg_svd_u", impl=_u_kernel, infer=_u_infer, vjp=_u_vjp,
    jvp=lambda ts, out, a, full=False, full_grad=True: svd_jvp(a, ts[0], full)[0], **_SVD))
LINALG_SVD_S = register(Op(
    name="linalg_svd_s", impl=_s_kernel, infer=_s_infer, vjp=_s_vjp,
    jvp=lambda ts, out, a: svd_jvp(a, ts[0], False)[1], **_SVD))
LINALG_SVD_VH = register(Op(
    name="linalg_svd_vh", impl=_vh_kernel, infer=_vh_infer, vjp=_vh_vjp,
    jvp=lambda ts, out, a, full=False, full_grad=True: svd_jvp(a, ts[0], full)[2], **_SVD))
