"""TF1's dense linear-algebra kernels: ``matrix_solve`` (``MatrixSolve``), ``matrix_determinant``
(``MatrixDeterminant``), ``log_abs_determinant`` and ``determinant_sign`` (the two outputs of
``LogMatrixDeterminant``), ``cholesky`` (``Cholesky``) and ``matrix_triangular_solve``
(``MatrixTriangularSolve``).

Each kernel is LAPACK through numpy in float64, rounded to the input's dtype (as
``matrix_inverse``), over the batch in the leading dims. The VJPs are TF's gradient rules
written with public ops (``matmul``, ``transpose``, ``matrix_inverse``, masks), so they build
graph nodes and are differentiable again. ``cholesky`` and ``matrix_triangular_solve`` read one
triangle of the matrix, as TF's kernels do; ``cholesky``'s VJP is TF's symmetric one.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, aval_of, bind, register
from .elementwise import add, mul, neg, sub
from .linalg import matrix_inverse
from .nn import matmul
from .reductions import sum
from .shapes import expand_dims, transpose


def matrix_solve(a, b, adjoint: bool = False):
    """``x`` with ``a @ x = b`` (``a^T @ x = b`` when ``adjoint``), per matrix of the batch."""
    return bind(MATRIX_SOLVE, a, b, adjoint=bool(adjoint))


def matrix_determinant(a):
    """The determinant of each square matrix in the last two dims of ``a``."""
    return bind(MATRIX_DETERMINANT, a)


def log_abs_determinant(a):
    """``log|det a|`` per matrix (``slogdet``'s second output)."""
    return bind(LOG_ABS_DETERMINANT, a)


def determinant_sign(a):
    """The sign of ``det a`` per matrix (``slogdet``'s first output; no gradient)."""
    return bind(DETERMINANT_SIGN, a)


def cholesky(a):
    """The lower Cholesky factor of each matrix (only its lower triangle is read)."""
    return bind(CHOLESKY, a)


def matrix_triangular_solve(a, b, lower: bool = True, adjoint: bool = False):
    """``x`` with ``tri(a) @ x = b`` (``tri(a)^T`` when ``adjoint``), ``tri`` the lower (or
    upper) triangle of ``a``."""
    return bind(TRIANGULAR_SOLVE, a, b, lower=bool(lower), adjoint=bool(adjoint))


# ------------------------------------------------------------------------------- shape rules
def _square(a: AVal, what: str) -> None:
    if a.ndim < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {a.ndim}")
    n, m = a.shape[-2], a.shape[-1]
    if n is not None and m is not None and n != m:
        raise ValueError(f"Dimensions must be equal, but are {n} and {m}")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{what} needs a float matrix, got {a.dtype}")


def _per_matrix_infer(what: str):
    def infer(a: AVal) -> tuple:
        _square(a, what)
        return a.shape[:-2], a.dtype
    return infer


def _solve_infer(a: AVal, b: AVal, **_: object) -> tuple:
    _square(a, "matrix_solve")
    if b.ndim < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {b.ndim}")
    if b.ndim != a.ndim:
        raise ValueError(f"Shapes must be equal rank, but are {a.ndim} and {b.ndim}")
    n, m = a.shape[-1], b.shape[-2]
    if n is not None and m is not None and n != m:
        raise ValueError(f"Dimensions must be equal, but are {n} and {m}")
    if a.dtype != b.dtype:
        raise ValueError(f"matrix and rhs must have one dtype, got {a.dtype} and {b.dtype}")
    return b.shape, b.dtype


# ------------------------------------------------------------------------------------ kernels
def _f64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _solve_kernel(a: np.ndarray, b: np.ndarray, adjoint: bool) -> np.ndarray:
    m = _f64(a)
    if adjoint:
        m = np.swapaxes(m, -1, -2)
    try:
        x = np.linalg.solve(m, _f64(b))
    except np.linalg.LinAlgError:
        raise ValueError("Input matrix is not invertible.") from None
    return x.astype(b.dtype, copy=False)


def _slogdet(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.linalg.slogdet(_f64(a))


def _cholesky_kernel(a: np.ndarray) -> np.ndarray:
    """Of a matrix that is not positive definite: NaN in its lower triangle, as TF 2's kernel
    (TF 1.x raised "Cholesky decomposition was not successful")."""
    low = np.tril(_f64(a))
    sym = low + np.swapaxes(np.tril(low, -1), -1, -2)
    try:
        out = np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:
        flat = sym.reshape((-1,) + sym.shape[-2:])
        out = np.empty_like(flat)
        for i, m in enumerate(flat):
            try:
                out[i] = np.linalg.cholesky(m)
            except np.linalg.LinAlgError:
                out[i] = np.tril(np.full_like(m, np.nan))
        out = out.reshape(sym.shape)
    return out.astype(a.dtype, copy=False)


def _tri(m: np.ndarray, lower: bool) -> np.ndarray:
    return np.tril(m) if lower else np.triu(m)


def _triangular_kernel(a: np.ndarray, b: np.ndarray, lower: bool, adjoint: bool) -> np.ndarray:
    m = _tri(_f64(a), lower)
    if adjoint:
        m = np.swapaxes(m, -1, -2)
    try:
        x = np.linalg.solve(m, _f64(b))
    except np.linalg.LinAlgError:  # a zero on the diagonal: TF substitutes on (inf/nan)
        x = _substitute(m, _f64(b), lower != adjoint)
    return x.astype(b.dtype, copy=False)


def _substitute(m: np.ndarray, b: np.ndarray, lower: bool) -> np.ndarray:
    """Forward (``lower``) or back substitution without a singularity check, as TF's kernel."""
    n = m.shape[-1]
    x = np.zeros(np.broadcast_shapes(m.shape[:-2], b.shape[:-2]) + b.shape[-2:])
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in (range(n) if lower else range(n - 1, -1, -1)):
            done = x[..., :i, :] if lower else x[..., i + 1:, :]
            row = m[..., i:i + 1, :i] if lower else m[..., i:i + 1, i + 1:]
            rest = b[..., i:i + 1, :] - row @ done
            x[..., i:i + 1, :] = rest / m[..., i:i + 1, i:i + 1]
    return x


# ----------------------------------------------------------------------------- gradient rules
def _n(x) -> int:
    n = aval_of(x).shape[-1]
    if n is None:
        raise ValueError("this gradient needs the matrix size when the graph is built")
    return int(n)


def _mask(x, lower: bool, diag: float = 1.0) -> np.ndarray:
    """The 0/1 mask of ``x``'s lower (or upper) triangle, ``diag`` on the diagonal."""
    n = _n(x)
    m = np.tril(np.ones((n, n))) if lower else np.triu(np.ones((n, n)))
    m[np.diag_indices(n)] = diag
    return m.astype(aval_of(x).dtype)


def _bcast(v):
    """A per-matrix value ``[...]`` as ``[..., 1, 1]``."""
    return expand_dims(expand_dims(v, -1), -1)


def _solve_vjp(g, out, a, b, adjoint):
    gb = matrix_solve(a, g, adjoint=not adjoint)
    ga = neg(matmul(out, transpose(gb)) if adjoint else matmul(gb, transpose(out)))
    return ga, gb


def _solve_jvp(ts, out, a, b, adjoint):
    ta, tb = ts
    rhs = tb
    if ta is not None:
        da_x = matmul(transpose(ta) if adjoint else ta, out)
        rhs = neg(da_x) if rhs is None else sub(rhs, da_x)
    return matrix_solve(a, rhs, adjoint=adjoint)


def _det_vjp(g, out, a):
    return (mul(_bcast(mul(g, out)), transpose(matrix_inverse(a))),)


def _det_jvp(ts, out, a):
    return mul(out, sum(mul(transpose(matrix_inverse(a)), ts[0]), (-2, -1)))


def _logdet_vjp(g, out, a):
    return (mul(_bcast(g), transpose(matrix_inverse(a))),)


def _logdet_jvp(ts, out, a):
    return sum(mul(transpose(matrix_inverse(a)), ts[0]), (-2, -1))


def _cholesky_vjp(g, out, a):
    """TF's ``_CholeskyGrad``: ``sym(L^-T Phi(L^T g) L^-1) / 2``."""
    l_inv = matrix_inverse(out)
    middle = mul(matmul(transpose(out), g), _mask(out, True, 0.5))
    ga = matmul(matmul(transpose(l_inv), middle), l_inv)
    return (mul(add(ga, transpose(ga)), 0.5),)


def _cholesky_jvp(ts, out, a):
    """``dL = L Phi(L^-1 dA L^-T)``, ``dA`` the symmetric matrix of the tangent's lower
    triangle (the part the kernel reads)."""
    t = ts[0]
    da = add(mul(t, _mask(t, True)), transpose(mul(t, _mask(t, True, 0.0))))
    l_inv = matrix_inverse(out)
    x = matmul(matmul(l_inv, da), transpose(l_inv))
    return matmul(out, mul(x, _mask(out, True, 0.5)))


def _triangular_vjp(g, out, a, b, lower, adjoint):
    gb = matrix_triangular_solve(a, g, lower=lower, adjoint=not adjoint)
    ga = neg(matmul(out, transpose(gb)) if adjoint else matmul(gb, transpose(out)))
    return mul(ga, _mask(a, lower)), gb


def _triangular_jvp(ts, out, a, b, lower, adjoint):
    ta, tb = ts
    rhs = tb
    if ta is not None:
        ta = mul(ta, _mask(ta, lower))
        da_x = matmul(transpose(ta) if adjoint else ta, out)
        rhs = neg(da_x) if rhs is None else sub(rhs, da_x)
    return matrix_triangular_solve(a, rhs, lower=lower, adjoint=adjoint)


_COMMON = dict(kind="other", fresh_output=True, same_dtype=(), input_names=("matrix", "rhs"))

MATRIX_SOLVE = register(Op(
    name="matrix_solve", impl=_solve_kernel, infer=_solve_infer, vjp=_solve_vjp, nin=2,
    saves=(0, "out"), grad_name="LinalgSolveExBackward0", tf_name="MatrixSolve",
    jvp=_solve_jvp, **_COMMON))
MATRIX_DETERMINANT = register(Op(
    name="matrix_determinant",
    impl=lambda a: np.asarray(np.linalg.det(_f64(a))).astype(a.dtype),
    infer=_per_matrix_infer("matrix_determinant"), vjp=_det_vjp, saves=(0, "out"),
    grad_name="LinalgDetBackward0", tf_name="MatrixDeterminant", jvp=_det_jvp, **_COMMON))
LOG_ABS_DETERMINANT = register(Op(
    name="log_abs_determinant",
    impl=lambda a: np.asarray(_slogdet(a)[1]).astype(a.dtype),
    infer=_per_matrix_infer("log_matrix_determinant"), vjp=_logdet_vjp, saves=(0,),
    grad_name="LinalgSlogdetBackward0", tf_name="LogMatrixDeterminant", jvp=_logdet_jvp,
    **_COMMON))
DETERMINANT_SIGN = register(Op(
    name="determinant_sign",
    impl=lambda a: np.asarray(_slogdet(a)[0]).astype(a.dtype),
    infer=_per_matrix_infer("log_matrix_determinant"), tf_name="LogMatrixDeterminant",
    tf_differentiable=False, **_COMMON))
CHOLESKY = register(Op(
    name="cholesky", impl=_cholesky_kernel,
    infer=lambda a: (_square(a, "cholesky"), (a.shape, a.dtype))[1], vjp=_cholesky_vjp,
    saves=("out",), grad_name="LinalgCholeskyExBackward0", tf_name="Cholesky",
    jvp=_cholesky_jvp, **_COMMON))
TRIANGULAR_SOLVE = register(Op(
    name="matrix_triangular_solve", impl=_triangular_kernel, infer=_solve_infer,
    vjp=_triangular_vjp, nin=2, saves=(0, "out"), grad_name="LinalgSolveTriangularBackward0",
    tf_name="MatrixTriangularSolve", jvp=_triangular_jvp, **_COMMON))
