"""The Cholesky record ``tf.linalg.cholesky`` and ``torch.linalg.cholesky`` share (``Cholesky``,
grad_fn ``LinalgCholeskyExBackward0``): the lower factor ``L`` with ``S = L L^T``.

The frontends differ in two parameters:

* which symmetric ``S`` is factored: TF's kernel reads the lower triangle of ``a``
  (``symmetrize=False``: ``S = tril(a) + tril(a, -1)^T``); PyTorch's result is taken as that of
  the symmetric part (``symmetrize=True``: ``S = (a + a^T)/2``), equal to PyTorch's (which reads
  the lower triangle) on the symmetric inputs Cholesky is for, and it makes PyTorch's
  symmetric gradient the exact one. Each JVP differentiates its own ``S``;
* what a matrix that is not positive definite gives: ``on_failure="nan"`` a NaN lower triangle
  (TF 2's kernel; the other matrices of the batch are factored), ``"raise"``
  :class:`NotPositiveDefinite` naming the first bad leading minor and the batch element, which
  ``torch.linalg.cholesky`` words as PyTorch's ``LinAlgError``.

The VJP is the one both libraries use (TF's ``_CholeskyGrad``, PyTorch's ``cholesky_backward``):
``gA = L^-T sym(Phi(L^T g)) L^-1``, ``Phi`` the lower triangle with its diagonal halved.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, bind, register
from .elementwise import add, mul
from .linalg import (
    check_square,
    f64,
    matrix_inverse,
    symmetric_input,
    symmetric_tangent,
    triangle_mask,
)
from .nn import matmul
from .shapes import transpose


def cholesky(a, symmetrize: bool = False, on_failure: str = "nan"):
    """The lower Cholesky factor of each matrix of ``a`` (of its lower triangle, or with
    ``symmetrize`` of its symmetric part); ``on_failure`` ``"nan"`` or ``"raise"``."""
    if on_failure not in ("nan", "raise"):
        raise ValueError(f"cholesky: on_failure must be 'nan' or 'raise', got {on_failure!r}")
    return bind(CHOLESKY, a, symmetrize=bool(symmetrize), on_failure=on_failure)


class NotPositiveDefinite(ValueError):
    """The factorization stopped: ``order`` is the first leading minor that is not positive
    definite, ``batch`` the flat index of the matrix (``None`` for a single matrix)."""

    def __init__(self, order: int, batch: int | None) -> None:
        super().__init__(f"the leading minor of order {order} is not positive-definite")
        self.order, self.batch = order, batch


def _first_bad_minor(a: np.ndarray) -> int:
    for k in range(1, a.shape[-1] + 1):
        try:
            np.linalg.cholesky(a[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return a.shape[-1]


def _cholesky_kernel(a: np.ndarray, symmetrize: bool = False,
                     on_failure: str = "nan") -> np.ndarray:
    s = symmetric_input(f64(a), symmetrize)
    try:
        return np.linalg.cholesky(s).astype(a.dtype, copy=False)
    except np.linalg.LinAlgError:
        pass
    flat = s.reshape((-1,) + s.shape[-2:])
    out = np.empty_like(flat)
    for i, m in enumerate(flat):
        try:
            out[i] = np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            if on_failure == "raise":
                raise NotPositiveDefinite(_first_bad_minor(m), i if s.ndim > 2 else None) from None
            out[i] = np.tril(np.full_like(m, np.nan))
    return out.reshape(s.shape).astype(a.dtype, copy=False)


def _cholesky_infer(a: AVal, **_: object) -> tuple:
    check_square(a, "cholesky")
    return a.shape, a.dtype


def _cholesky_vjp(g, out, a, **_):
    l_inv = matrix_inverse(out)
    middle = mul(matmul(transpose(out), g), triangle_mask(out, True, 0.5))
    ga = matmul(matmul(transpose(l_inv), middle), l_inv)
    return (mul(add(ga, transpose(ga)), 0.5),)


def _cholesky_jvp(ts, out, a, symmetrize=False, **_):
    """``dL = L Phi(L^-1 dS L^-T)``, ``dS`` the tangent of the symmetric matrix factored."""
    ds = symmetric_tangent(ts[0], symmetrize)
    l_inv = matrix_inverse(out)
    x = matmul(matmul(l_inv, ds), transpose(l_inv))
    return matmul(out, mul(x, triangle_mask(out, True, 0.5)))


CHOLESKY = register(Op(
    name="cholesky", impl=_cholesky_kernel, infer=_cholesky_infer, vjp=_cholesky_vjp, nin=1,
    saves=("out",), grad_name="LinalgCholeskyExBackward0", tf_name="Cholesky",
    input_names=("input",), fresh_output=True, jvp=_cholesky_jvp))
