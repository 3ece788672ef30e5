"""The two solve records ``tf.linalg`` and ``torch.linalg`` share: ``matrix_solve``
(``MatrixSolve``: pivoted LU, LAPACK ``gesv``) and ``matrix_triangular_solve``
(``MatrixTriangularSolve``: one triangle of the matrix read, the other never).

The frontends' differences are parameters: ``adjoint`` (TF: solve with ``a^T``), ``vec`` (PyTorch:
``b`` is a batch of vectors ``(..., n)``), ``lower`` (which triangle). Batch dims broadcast
(PyTorch's rule; ``tf.linalg`` checks TF's equal ranks before binding). A singular ``a`` makes
``matrix_solve`` raise :class:`SingularMatrix` with TF's text, which ``torch.linalg.solve``
rewords; a zero on a triangular solve's diagonal substitutes on (inf/nan), as both TF's and
PyTorch's kernels do. VJPs are TF's/PyTorch's rules (the same maths), the triangular one masked
to the triangle read.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, bind, broadcast_shapes, register
from .elementwise import mul, neg, sub
from .linalg import check_square, f64, triangle_mask
from .nn import matmul
from .reductions import sum as sum_
from .shapes import expand_dims, transpose


class SingularMatrix(ValueError):
    """LAPACK found an exactly zero pivot: the system has no unique solution."""


def matrix_solve(a, b, adjoint: bool = False, vec: bool = False):
    """``x`` with ``a @ x = b`` (``a^T @ x = b`` when ``adjoint``); ``a`` is ``(..., n, n)``,
    ``b`` is ``(..., n, k)``, or ``(..., n)`` with ``vec``; batch dims broadcast."""
    return bind(MATRIX_SOLVE, a, b, adjoint=bool(adjoint), vec=bool(vec))


def matrix_triangular_solve(a, b, lower: bool = True, adjoint: bool = False):
    """``x`` with ``tri(a) @ x = b`` (``tri(a)^T`` when ``adjoint``), ``tri`` the lower (or
    upper) triangle of ``a``; batch dims broadcast."""
    return bind(TRIANGULAR_SOLVE, a, b, lower=bool(lower), adjoint=bool(adjoint))


def _solve_infer(a: AVal, b: AVal, adjoint: bool = False, vec: bool = False,
                 lower: bool = True) -> tuple:
    check_square(a, "matrix_solve")
    bm = b.shape + (1,) if vec else b.shape
    if len(bm) < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {b.ndim}")
    n, m = a.shape[-1], bm[-2]
    if n is not None and m is not None and n != m:
        raise ValueError(f"Dimensions must be equal, but are {n} and {m}")
    if a.dtype != b.dtype:
        raise ValueError(f"matrix and rhs must have one dtype, got {a.dtype} and {b.dtype}")
    shape = broadcast_shapes(a.shape[:-2], bm[:-2]) + bm[-2:]
    return (shape[:-1] if vec else shape), b.dtype


# ------------------------------------------------------------------------------------ kernels
def _solve_kernel(a: np.ndarray, b: np.ndarray, adjoint: bool = False,
                  vec: bool = False) -> np.ndarray:
    m = np.swapaxes(f64(a), -1, -2) if adjoint else f64(a)
    rhs = f64(b)[..., None] if vec else f64(b)
    batch = broadcast_shapes(m.shape[:-2], rhs.shape[:-2])
    try:
        x = np.linalg.solve(np.broadcast_to(m, batch + m.shape[-2:]),
                            np.broadcast_to(rhs, batch + rhs.shape[-2:]))
    except np.linalg.LinAlgError:
        raise SingularMatrix("Input matrix is not invertible.") from None
    return (x[..., 0] if vec else x).astype(b.dtype, copy=False)


def _triangular_kernel(a: np.ndarray, b: np.ndarray, lower: bool = True,
                       adjoint: bool = False) -> np.ndarray:
    m = np.tril(f64(a)) if lower else np.triu(f64(a))
    if adjoint:
        m = np.swapaxes(m, -1, -2)
    try:
        x = np.linalg.solve(m, f64(b))
    except np.linalg.LinAlgError:  # a zero on the diagonal: the kernels substitute on
        x = _substitute(m, f64(b), lower != adjoint)
    return x.astype(b.dtype, copy=False)


def _substitute(m: np.ndarray, b: np.ndarray, lower: bool) -> np.ndarray:
    """Forward (``lower``) or back substitution without a singularity check."""
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
def _outer(u, v, vec: bool):
    """``u v^T`` per matrix: of vectors (``vec``) or of matrices' columns."""
    return mul(expand_dims(u, -1), expand_dims(v, -2)) if vec else matmul(u, transpose(v))


def _times(m, x, vec: bool):
    """``m @ x`` for a batch of matrices ``x``, or of vectors (``vec``)."""
    return sum_(mul(m, expand_dims(x, -2)), -1) if vec else matmul(m, x)


def _solve_vjp(g, out, a, b, adjoint=False, vec=False):
    gb = matrix_solve(a, g, adjoint=not adjoint, vec=vec)
    return neg(_outer(out, gb, vec) if adjoint else _outer(gb, out, vec)), gb


def _tangent_rhs(ta, tb, out, adjoint: bool, vec: bool):
    """``tb - dA x`` (``dA^T x`` when ``adjoint``): the right side the tangent solves."""
    if ta is None:
        return tb
    da_x = _times(transpose(ta) if adjoint else ta, out, vec)
    return neg(da_x) if tb is None else sub(tb, da_x)


def _solve_jvp(ts, out, a, b, adjoint=False, vec=False):
    return matrix_solve(a, _tangent_rhs(ts[0], ts[1], out, adjoint, vec), adjoint, vec)


def _triangular_vjp(g, out, a, b, lower=True, adjoint=False):
    gb = matrix_triangular_solve(a, g, lower=lower, adjoint=not adjoint)
    ga = neg(_outer(out, gb, False) if adjoint else _outer(gb, out, False))
    return mul(ga, triangle_mask(a, lower)), gb


def _triangular_jvp(ts, out, a, b, lower=True, adjoint=False):
    ta = None if ts[0] is None else mul(ts[0], triangle_mask(ts[0], lower))
    return matrix_triangular_solve(a, _tangent_rhs(ta, ts[1], out, adjoint, False),
                                   lower=lower, adjoint=adjoint)


_SOLVE = dict(nin=2, kind="other", saves=(0, "out"), fresh_output=True,
              input_names=("matrix", "rhs"), same_dtype=(0, 1))

MATRIX_SOLVE = register(Op(
    name="matrix_solve", impl=_solve_kernel, infer=_solve_infer, vjp=_solve_vjp,
    grad_name="LinalgSolveExBackward0", tf_name="MatrixSolve", jvp=_solve_jvp, **_SOLVE))
TRIANGULAR_SOLVE = register(Op(
    name="matrix_triangular_solve", impl=_triangular_kernel, infer=_solve_infer,
    vjp=_triangular_vjp, grad_name="LinalgSolveTriangularBackward0",
    tf_name="MatrixTriangularSolve", jvp=_triangular_jvp, **_SOLVE))
