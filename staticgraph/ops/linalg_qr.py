"""The QR decomposition ``tf.linalg.qr`` and ``torch.linalg.qr`` share, as two records: ``Q``
(``linalg_qr_q``) and ``R`` (``linalg_qr_r``), each differentiable. LAPACK's Householder QR
(numpy, float64, the same factors as both libraries' CPU kernels); ``complete`` is TF's
``full_matrices=True`` and PyTorch's ``mode="complete"``.

The gradient is PyTorch's ``linalg_qr_backward`` (``FunctionsManual.cpp``), linear in
``(gQ, gR)``, so each record's rule is that formula with the other cotangent zero and the
walker adds the two. With ``X = gR R^T - Q^T gQ``:

* ``m >= n``: ``gA = (Q sym(triu X) + gQ) R^-T``, ``sym(T) = T + triu(T, 1)^T``;
* ``m < n``: ``gA = [Q tril(X^T - X) R1^-T, 0] + Q gR``, ``R1`` the first ``m`` columns of R.

TF's ``_QrGrad`` is the same derivative written differently (checked against it and against
finite differences). A complete factorization of a tall matrix (``m > n``) leaves ``Q``'s extra
columns undetermined; both libraries refuse its gradient, and so does the rule.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, aval_of, bind, register
from .elementwise import add, mul, neg, sub
from .linalg import f64
from .linalg_solve import matrix_triangular_solve
from .nn import matmul
from .shapes import cat, getitem, transpose, zeros_like


def linalg_qr_q(a, complete: bool = False):
    """``Q`` of ``a = Q R`` per matrix: orthonormal columns, ``(..., m, k)``, ``k = min(m, n)``
    (``m`` when ``complete``)."""
    return bind(LINALG_QR_Q, a, complete=bool(complete))


def linalg_qr_r(a, complete: bool = False):
    """``R`` of ``a = Q R`` per matrix: upper triangular, ``(..., k, n)``."""
    return bind(LINALG_QR_R, a, complete=bool(complete))


def _dims(a: AVal, complete: bool) -> tuple:
    if a.ndim < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {a.ndim}")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"qr needs a float matrix, got {a.dtype}")
    m, n = a.shape[-2], a.shape[-1]
    k = m if complete else (None if m is None or n is None else min(m, n))
    return m, n, k


def _q_infer(a: AVal, complete: bool = False) -> tuple:
    m, _, k = _dims(a, complete)
    return tuple(a.shape[:-2]) + (m, k), a.dtype


def _r_infer(a: AVal, complete: bool = False) -> tuple:
    _, n, k = _dims(a, complete)
    return tuple(a.shape[:-2]) + (k, n), a.dtype


def _mode(complete: bool) -> str:
    return "complete" if complete else "reduced"


def _q_kernel(a: np.ndarray, complete: bool = False) -> np.ndarray:
    return np.linalg.qr(f64(a), mode=_mode(complete))[0].astype(a.dtype)


def _r_kernel(a: np.ndarray, complete: bool = False) -> np.ndarray:
    return np.linalg.qr(f64(a), mode=_mode(complete))[1].astype(a.dtype)


def _upper_mask(n: int, dtype, k: int = 0) -> np.ndarray:
    return np.triu(np.ones((n, n)), k).astype(dtype)


def _solve_right_upper_t(x, r):
    """``x R^-T`` for an upper triangular ``R`` (``R y^T = x^T``)."""
    return transpose(matrix_triangular_solve(r, transpose(x), lower=False))


def qr_backward(a, gq, gr, complete: bool):
    """``gA`` for the cotangents ``gq``/``gr`` (either may be None) of ``Q, R = qr(a)``."""
    m, n = aval_of(a).shape[-2:]
    if m is None or n is None:
        raise NotImplementedError("the QR gradient needs the matrix dims when it is built")
    if complete and m > n:
        raise NotImplementedError("The QR decomposition is not differentiable when "
                                  "mode='complete' (full_matrices=True) and nrows > ncols.")
    q, r = linalg_qr_q(a, complete), linalg_qr_r(a, complete)
    qt_gq = None if gq is None else matmul(transpose(q), gq)
    if gr is None:
        x = neg(qt_gq)
    else:
        x = matmul(gr, transpose(r))
        x = x if qt_gq is None else sub(x, qt_gq)
    dt = aval_of(a).dtype
    if m >= n:
        up = mul(x, _upper_mask(n, dt))
        sym = add(up, transpose(mul(x, _upper_mask(n, dt, 1))))
        ga = matmul(q, sym)
        ga = ga if gq is None else add(ga, gq)
        return _solve_right_upper_t(ga, r)
    low = np.tril(np.ones((m, m))).astype(dt)
    ga = matmul(q, mul(sub(transpose(x), x), low))
    ga = _solve_right_upper_t(ga, getitem(r, (Ellipsis, slice(None), slice(0, m))))
    ga = cat([ga, zeros_like(getitem(a, (Ellipsis, slice(None), slice(m, n))))], -1)
    return ga if gr is None else add(ga, matmul(q, gr))


def _solve_right_upper(x, r):
    """``x R^-1`` for an upper triangular ``R`` (``R^T y^T = x^T``)."""
    return transpose(matrix_triangular_solve(r, transpose(x), lower=False, adjoint=True))


def qr_jvp(a, da, complete: bool) -> tuple:
    """``(dQ, dR)`` for a tangent ``da`` of ``a`` (PyTorch's ``linalg_qr_jvp``): with ``X`` the
    leading square block of ``R`` and ``C = Q^T dA1 X^-1``, ``dX = triu_half(C + C^T) X``,
    ``dQ = dA1 X^-1 - Q triu_half(C + C^T)``, and for a wide ``a`` ``dY = Q^T (dA2 - dQ Y)``."""
    m, n = aval_of(a).shape[-2:]
    if m is None or n is None or (complete and m > n):
        raise NotImplementedError("The QR decomposition is not differentiable when "
                                  "mode='complete' (full_matrices=True) and nrows > ncols.")
    q, r = linalg_qr_q(a, complete), linalg_qr_r(a, complete)
    k = min(m, n)
    x = r if m >= n else getitem(r, (Ellipsis, slice(None), slice(0, m)))
    da1 = da if m >= n else getitem(da, (Ellipsis, slice(None), slice(0, m)))
    da1_xinv = _solve_right_upper(da1, x)
    c = matmul(transpose(q), da1_xinv)
    both = add(c, transpose(c))
    half = mul(both, (np.triu(np.ones((k, k)), 1) + 0.5 * np.eye(k)).astype(aval_of(a).dtype))
    dq = sub(da1_xinv, matmul(q, half))
    dr = matmul(half, x)
    if m < n:
        y = getitem(r, (Ellipsis, slice(None), slice(m, n)))
        da2 = getitem(da, (Ellipsis, slice(None), slice(m, n)))
        dr = cat([dr, matmul(transpose(q), sub(da2, matmul(dq, y)))], -1)
    return dq, dr


_QR = dict(nin=1, grad_name="LinalgQrBackward0", tf_name="Qr", input_names=("input",),
           fresh_output=True, saves=(0,))

LINALG_QR_Q = register(Op(
    name="linalg_qr_q", impl=_q_kernel, infer=_q_infer,
    vjp=lambda g, out, a, complete=False: (qr_backward(a, g, None, complete),),
    jvp=lambda ts, out, a, complete=False: qr_jvp(a, ts[0], complete)[0], **_QR))
LINALG_QR_R = register(Op(
    name="linalg_qr_r", impl=_r_kernel, infer=_r_infer,
    vjp=lambda g, out, a, complete=False: (qr_backward(a, None, g, complete),),
    jvp=lambda ts, out, a, complete=False: qr_jvp(a, ts[0], complete)[1], **_QR))
