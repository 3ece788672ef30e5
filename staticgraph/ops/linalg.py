"""Linear algebra records shared by ``tf.linalg`` and ``torch.linalg``: ``matrix_inverse``
(``MatrixInverse``), ``matrix_determinant`` (``MatrixDeterminant``), and ``log_abs_determinant``
and ``determinant_sign`` (the two outputs of ``LogMatrixDeterminant``), plus the helpers the
other ``linalg_*`` records use.

Kernels are LAPACK through numpy in float64, rounded to the input's dtype, so a float32 result is
as accurate as float32 can hold (an unrolled float32 elimination lost four digits on an
ill-conditioned 9x9 normal-equation matrix). VJP and JVP rules are written with public ops
(``matmul``, ``transpose``, ``matrix_inverse``, masks), so they build graph nodes and are
differentiable again. Shape errors carry TF's texts (the static frontend reports them when a
graph is built); ``dynamic/linalg.py`` checks its inputs with PyTorch's texts before binding, and
each frontend words a kernel failure (``ValueError``) its own way.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, aval_of, bind, register
from .elementwise import add, mul, neg
from .nn import matmul
from .reductions import sum as sum_
from .shapes import expand_dims, transpose, zeros_like


# ------------------------------------------------------------------------------- helpers
def f64(x: np.ndarray) -> np.ndarray:
    """``x`` as float64 (the precision every kernel here computes in)."""
    return np.asarray(x, dtype=np.float64)


def check_square(a: AVal, what: str) -> None:
    """``a`` must be a float batch of square matrices (TF's shape-function texts)."""
    if a.ndim < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {a.ndim}")
    n, m = a.shape[-2], a.shape[-1]
    if n is not None and m is not None and n != m:
        raise ValueError(f"Dimensions must be equal, but are {n} and {m}")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{what} needs a float matrix, got {a.dtype}")


def matrix_size(x) -> int:
    """The size of ``x``'s square matrices, which a masking gradient rule needs when built."""
    n = aval_of(x).shape[-1]
    if n is None:
        raise ValueError("this gradient needs the matrix size when the graph is built")
    return int(n)


def triangle_mask(x, lower: bool, diag: float = 1.0) -> np.ndarray:
    """The 0/1 mask of ``x``'s lower (or upper) triangle, ``diag`` on the diagonal."""
    n = matrix_size(x)
    m = np.tril(np.ones((n, n))) if lower else np.triu(np.ones((n, n)))
    m[np.diag_indices(n)] = diag
    return m.astype(aval_of(x).dtype)


def symmetric_input(a: np.ndarray, symmetrize: bool) -> np.ndarray:
    """The symmetric matrix a factorization of ``a`` (float64) decomposes: TF's kernels read the
    lower triangle (``tril(a) + tril(a, -1)^T``); with ``symmetrize`` (``torch.linalg``) the
    symmetric part ``(a + a^T)/2``, the same on the symmetric inputs these are for, whose exact
    gradient is then PyTorch's symmetric one."""
    if symmetrize:
        return 0.5 * (a + np.swapaxes(a, -1, -2))
    low = np.tril(a)
    return low + np.swapaxes(np.tril(low, -1), -1, -2)


def symmetric_tangent(t, symmetrize: bool):
    """The tangent of :func:`symmetric_input` for a tangent ``t`` of ``a``."""
    if symmetrize:
        return mul(add(t, transpose(t)), 0.5)
    return add(mul(t, triangle_mask(t, True)), transpose(mul(t, triangle_mask(t, True, 0.0))))


def per_matrix(v):
    """A per-matrix value ``(...,)`` as ``(..., 1, 1)``, so it scales whole matrices."""
    return expand_dims(v, (-2, -1))


# -------------------------------------------------------------------------------- inverse
def matrix_inverse(x):
    """The inverse of each square matrix in the last two dims of ``x``."""
    return bind(MATRIX_INVERSE, x)


def _inverse_kernel(x: np.ndarray) -> np.ndarray:
    try:
        inv = np.linalg.inv(f64(x))
    except np.linalg.LinAlgError:
        raise ValueError("Input is not invertible.") from None
    return inv.astype(x.dtype, copy=False)


def _inverse_infer(x: AVal) -> tuple:
    check_square(x, "matrix_inverse")
    return x.shape, x.dtype


def _inverse_vjp(g, out, x):
    inv_t = transpose(out)
    return (neg(matmul(matmul(inv_t, g), inv_t)),)


def _inverse_jvp(ts, out, x):
    return neg(matmul(matmul(out, ts[0]), out))


MATRIX_INVERSE = register(Op(name="matrix_inverse", impl=_inverse_kernel, infer=_inverse_infer,
                             vjp=_inverse_vjp, grad_name="LinalgInvExBackward0", saves=("out",),
                             nin=1, tf_name="MatrixInverse", fresh_output=True,
                             jvp=_inverse_jvp))


# ------------------------------------------------------------------------ det, log|det|, sign
def matrix_determinant(a):
    """The determinant of each square matrix in the last two dims of ``a``."""
    return bind(MATRIX_DETERMINANT, a)


def log_abs_determinant(a):
    """``log|det a|`` per matrix (``slogdet``'s second output)."""
    return bind(LOG_ABS_DETERMINANT, a)


def determinant_sign(a, zero_grad: bool = False):
    """The sign of ``det a`` per matrix (``slogdet``'s first output). Piecewise constant: its
    gradient is zeros with ``zero_grad`` (TF: ``tf.gradients(sign, a)`` is zeros), otherwise
    none at all (PyTorch: ``sign`` has a ``grad_fn`` but leaves ``a.grad`` unset)."""
    return bind(DETERMINANT_SIGN, a, zero_grad=bool(zero_grad))


def _per_matrix_infer(what: str):
    def infer(a: AVal, **params) -> tuple:
        check_square(a, what)
        return a.shape[:-2], a.dtype
    return infer


def _inv_t(a):
    return transpose(matrix_inverse(a))


def _trace_of_inverse_times(a, t):
    """``trace(a^-1 t)`` per matrix, as ``sum(a^-T * t)`` (no second matmul)."""
    return sum_(mul(_inv_t(a), t), (-2, -1))


def _det_vjp(g, out, a):
    return (mul(per_matrix(mul(g, out)), _inv_t(a)),)


def _det_jvp(ts, out, a):
    return mul(out, _trace_of_inverse_times(a, ts[0]))


def _logdet_vjp(g, out, a):
    return (mul(per_matrix(g), _inv_t(a)),)


def _logdet_jvp(ts, out, a):
    return _trace_of_inverse_times(a, ts[0])


_PER_MATRIX = dict(nin=1, kind="other", fresh_output=True, input_names=("input",))

MATRIX_DETERMINANT = register(Op(
    name="matrix_determinant", impl=lambda a: np.asarray(np.linalg.det(f64(a))).astype(a.dtype),
    infer=_per_matrix_infer("matrix_determinant"), vjp=_det_vjp, saves=(0, "out"),
    grad_name="LinalgDetBackward0", tf_name="MatrixDeterminant", jvp=_det_jvp, **_PER_MATRIX))
LOG_ABS_DETERMINANT = register(Op(
    name="log_abs_determinant",
    impl=lambda a: np.asarray(np.linalg.slogdet(f64(a))[1]).astype(a.dtype),
    infer=_per_matrix_infer("log_matrix_determinant"), vjp=_logdet_vjp, saves=(0,),
    grad_name="LinalgSlogdetBackward0", tf_name="LogMatrixDeterminant", jvp=_logdet_jvp,
    **_PER_MATRIX))
DETERMINANT_SIGN = register(Op(
    name="determinant_sign",
    impl=lambda a, zero_grad=False: np.asarray(np.linalg.slogdet(f64(a))[0]).astype(a.dtype),
    infer=_per_matrix_infer("log_matrix_determinant"), tf_name="LogMatrixDeterminant",
    vjp=lambda g, out, a, zero_grad=False: (zeros_like(a) if zero_grad else None,),
    jvp=lambda ts, out, a, zero_grad=False: zeros_like(out),
    grad_name="LinalgSlogdetBackward0", **_PER_MATRIX))
