"""Linear-algebra records PyTorch's ``torch.linalg`` needs: determinant, log|det|, solve, Cholesky.

Kernels run LAPACK through numpy in float64 and round to the input's dtype (as
``matrix_inverse`` in :mod:`.linalg` does). Every VJP/JVP rule is written with public ops
(``matmul``, ``transpose``, ``matrix_inverse``, ``where``) so it builds graph nodes and can be
differentiated again. The gradients assume an invertible input (det, log|det|, solve) or a
positive-definite one (Cholesky); PyTorch's rank-deficient det gradient (via SVD) is not here.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, bind, broadcast_shapes, register
from .elementwise import add, mul, neg, sub, where
from .linalg import matrix_inverse
from .nn import matmul
from .reductions import sum as sum_
from .shapes import expand_dims, transpose


def _square(x: AVal, what: str) -> None:
    if x.ndim < 2:
        raise ValueError(f"{what}: The input tensor A must have at least 2 dimensions.")
    n, m = x.shape[-2], x.shape[-1]
    if n is not None and m is not None and n != m:
        raise ValueError(f"{what}: A must be batches of square matrices, but they are "
                         f"{n} by {m} matrices")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{what}: Expected a floating point tensor as input. Got {x.dtype}")


def _f64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _inv_t(x):
    return transpose(matrix_inverse(x))


def _mat(v):
    """A per-matrix scalar ``(...,)`` as ``(..., 1, 1)`` so it scales whole matrices."""
    return expand_dims(v, (-2, -1))


def _trace_of_product(a, b):
    """``trace(a @ b)`` per matrix, as ``sum(a^T * b)`` (no matmul)."""
    return sum_(mul(transpose(a), b), (-2, -1))


# ------------------------------------------------------------------------------ det, log|det|
def linalg_det(x):
    """``det`` of each square matrix in the last two dims (``torch.linalg.det``)."""
    return bind(LINALG_DET, x)


def _det_infer(x: AVal) -> tuple:
    _square(x, "linalg.det")
    return x.shape[:-2], x.dtype


def _det_vjp(g, out, x):
    return (mul(_mat(mul(g, out)), _inv_t(x)),)


def _det_jvp(ts, out, x):
    return mul(out, _trace_of_product(matrix_inverse(x), ts[0]))


LINALG_DET = register(Op(
    name="linalg_det", impl=lambda x: np.asarray(np.linalg.det(_f64(x))).astype(x.dtype),
    infer=_det_infer, vjp=_det_vjp, grad_name="LinalgDetBackward0", saves=(0, "out"), nin=1,
    tf_name="MatrixDeterminant", fresh_output=True, jvp=_det_jvp))


def linalg_logabsdet(x):
    """``log|det|`` of each square matrix (the second half of ``torch.linalg.slogdet``)."""
    return bind(LINALG_LOGABSDET, x)


def _logabsdet_kernel(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.linalg.slogdet(_f64(x))[1]).astype(x.dtype)


def _logabsdet_infer(x: AVal) -> tuple:
    _square(x, "linalg.slogdet")
    return x.shape[:-2], x.dtype


def _logabsdet_vjp(g, out, x):
    return (mul(_mat(g), _inv_t(x)),)


def _logabsdet_jvp(ts, out, x):
    return _trace_of_product(matrix_inverse(x), ts[0])


LINALG_LOGABSDET = register(Op(
    name="linalg_logabsdet", impl=_logabsdet_kernel, infer=_logabsdet_infer,
    vjp=_logabsdet_vjp, grad_name="LinalgSlogdetBackward0", saves=(0,), nin=1,
    tf_name="LogMatrixDeterminant", fresh_output=True, jvp=_logabsdet_jvp))


# ------------------------------------------------------------------------------------ solve
class SingularMatrix(ValueError):
    """LAPACK found an exactly zero pivot: the system has no unique solution."""


def linalg_solve(a, b, vec: bool = False):
    """``X`` with ``a @ X = b``: ``a`` is ``(..., n, n)``, ``b`` is ``(..., n, k)``, or ``(..., n)``
    with ``vec`` (batch dims broadcast). Pivoted LU (LAPACK ``gesv``), not ``inv(a) @ b``."""
    return bind(LINALG_SOLVE, a, b, vec=bool(vec))


def _solve_kernel(a: np.ndarray, b: np.ndarray, vec: bool = False) -> np.ndarray:
    b64 = _f64(b)[..., None] if vec else _f64(b)
    shape = broadcast_shapes(a.shape[:-2], b64.shape[:-2])
    try:
        x = np.linalg.solve(np.broadcast_to(_f64(a), shape + a.shape[-2:]),
                            np.broadcast_to(b64, shape + b64.shape[-2:]))
    except np.linalg.LinAlgError:
        raise SingularMatrix("The solver failed because the input matrix is singular.") from None
    return (x[..., 0] if vec else x).astype(np.result_type(a, b))


def _solve_infer(a: AVal, b: AVal, vec: bool = False) -> tuple:
    _square(a, "linalg.solve")
    if b.ndim < (1 if vec else 2):
        raise ValueError("linalg.solve: The input tensor B must have at least 2 dimensions.")
    bm = b.shape + (1,) if vec else b.shape
    n, nb = a.shape[-1], bm[-2]
    if n is not None and nb is not None and n != nb:
        raise ValueError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                         f"({a.shape[-2]}x{n} and {nb}x{bm[-1]})")
    if a.dtype != b.dtype:
        raise ValueError(f"linalg.solve: Expected A and B to have the same dtype, but found A "
                         f"of type {a.dtype} and B of type {b.dtype} instead")
    shape = broadcast_shapes(a.shape[:-2], bm[:-2]) + bm[-2:]
    return (shape[:-1] if vec else shape), a.dtype


def _solve_vjp(g, out, a, b, vec=False):
    gb = linalg_solve(transpose(a), g, vec)
    if vec:
        return neg(mul(expand_dims(gb, -1), expand_dims(out, -2))), gb
    return neg(matmul(gb, transpose(out))), gb


def _solve_jvp(ts, out, a, b, vec=False):
    ta, tb = ts
    if ta is None:
        return linalg_solve(a, tb, vec)
    ax = sum_(mul(ta, expand_dims(out, -2)), -1) if vec else matmul(ta, out)
    return linalg_solve(a, neg(ax) if tb is None else sub(tb, ax), vec)


LINALG_SOLVE = register(Op(
    name="linalg_solve", impl=_solve_kernel, infer=_solve_infer, vjp=_solve_vjp,
    grad_name="LinalgSolveExBackward0", saves=(0, "out"), nin=2, tf_name="MatrixSolve",
    input_names=("matrix", "rhs"), same_dtype=(0, 1), fresh_output=True, jvp=_solve_jvp))


# --------------------------------------------------------------------------------- Cholesky
def linalg_cholesky(x):
    """The lower Cholesky factor ``L`` (``S = L L^T``) of the symmetric part ``S = (x + x^T)/2``
    of each matrix: equal to PyTorch's (which reads the lower triangle) on the symmetric inputs
    Cholesky is for, and it makes PyTorch's symmetric gradient the exact one."""
    return bind(LINALG_CHOLESKY, x)


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


def _cholesky_kernel(x: np.ndarray) -> np.ndarray:
    a = _f64(x)
    a = 0.5 * (a + np.swapaxes(a, -1, -2))
    try:
        return np.linalg.cholesky(a).astype(x.dtype)
    except np.linalg.LinAlgError:
        flat = a.reshape((-1,) + a.shape[-2:])
        for i, m in enumerate(flat):
            try:
                np.linalg.cholesky(m)
            except np.linalg.LinAlgError:
                raise NotPositiveDefinite(_first_bad_minor(m), i if a.ndim > 2 else None) from None
        raise


def _cholesky_infer(x: AVal) -> tuple:
    _square(x, "linalg.cholesky")
    return x.shape, x.dtype


def _strict_lower(n: int) -> np.ndarray:
    return np.tril(np.ones((n, n), bool), -1)


def _cholesky_vjp(g, out, x):
    # PyTorch's cholesky_backward (Murray 2016): T = tril(L^T gL), P = (T + strict_lower(T)^T)/2,
    # gA = L^-T P L^-1 (symmetric)
    n = out.shape[-1]
    t = where(np.tril(np.ones((n, n), bool)), matmul(transpose(out), g), 0.0)
    p = mul(add(t, transpose(where(_strict_lower(n), t, 0.0))), 0.5)
    li = matrix_inverse(out)
    return (matmul(matmul(transpose(li), p), li),)


def _cholesky_jvp(ts, out, x):
    # dL = L Phi(L^-1 dS L^-T), dS = (dA + dA^T)/2, Phi: the lower triangle, diagonal halved
    n = out.shape[-1]
    li = matrix_inverse(out)
    ds = mul(add(ts[0], transpose(ts[0])), 0.5)
    m = matmul(matmul(li, ds), transpose(li))
    phi = where(_strict_lower(n), m, where(np.eye(n, dtype=bool), mul(m, 0.5), 0.0))
    return matmul(out, phi)


LINALG_CHOLESKY = register(Op(
    name="linalg_cholesky", impl=_cholesky_kernel, infer=_cholesky_infer, vjp=_cholesky_vjp,
    grad_name="LinalgCholeskyExBackward0", saves=("out",), nin=1, tf_name="Cholesky",
    fresh_output=True, jvp=_cholesky_jvp))
