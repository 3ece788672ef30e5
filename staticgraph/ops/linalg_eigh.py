"""The symmetric eigendecomposition as two records: eigenvalues (``linalg_eigvalsh``) and
eigenvectors (``linalg_eigh_vectors``), each differentiable, so ``torch.linalg.eigh`` has
PyTorch's gradients and second derivatives.

Both decompose the symmetric part ``S = (x + x^T)/2`` (LAPACK ``syevd`` in float64): on the
symmetric inputs ``eigh`` is for that equals PyTorch's (which reads one triangle), and PyTorch's
symmetric gradient is then the exact one. With ``w`` ascending, ``V`` orthonormal and
``F_ij = 1/(w_j - w_i)`` off the diagonal (0 on it):

* ``dw = diag(V^T dS V)``, so ``gA = V diag(gw) V^T``;
* ``dV = V (F o (V^T dS V))``, so ``gA = V (F o skew(V^T gV)) V^T`` (PyTorch's rule; the
  gradient assumes distinct eigenvalues, as PyTorch's does).
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, bind, register
from .elementwise import add, mul, reciprocal, sub, where
from .linalg import check_square, f64
from .nn import matmul
from .reductions import sum as sum_
from .shapes import expand_dims, transpose


def linalg_eigvalsh(x):
    """The eigenvalues (ascending) of the symmetric part of each square matrix."""
    return bind(LINALG_EIGVALSH, x)


def linalg_eigh_vectors(x):
    """The orthonormal eigenvectors (columns, in ``linalg_eigvalsh``'s order)."""
    return bind(LINALG_EIGH_VECTORS, x)


def _sym64(x: np.ndarray) -> np.ndarray:
    a = f64(x)
    return 0.5 * (a + np.swapaxes(a, -1, -2))


def _values_infer(x: AVal) -> tuple:
    check_square(x, "eigh")
    return x.shape[:-1], x.dtype


def _vectors_infer(x: AVal) -> tuple:
    check_square(x, "eigh")
    return x.shape, x.dtype


def _sym(t):
    return mul(add(t, transpose(t)), 0.5)


def _gap_inverse(w, n: int):
    """``F_ij = 1/(w_j - w_i)`` off the diagonal, 0 on it."""
    eye = np.eye(n, dtype=bool)
    gaps = sub(expand_dims(w, -2), expand_dims(w, -1))
    return where(eye, 0.0, reciprocal(where(eye, 1.0, gaps)))


def _values_vjp(g, out, x):
    v = linalg_eigh_vectors(x)
    return (matmul(mul(v, expand_dims(g, -2)), transpose(v)),)


def _values_jvp(ts, out, x):
    v = linalg_eigh_vectors(x)
    return sum_(mul(v, matmul(_sym(ts[0]), v)), -2)  # diag(V^T dS V)


def _vectors_vjp(g, out, x):
    n = out.shape[-1]
    vg = matmul(transpose(out), g)
    skew = mul(sub(vg, transpose(vg)), 0.5)
    inner = mul(_gap_inverse(linalg_eigvalsh(x), n), skew)
    return (matmul(matmul(out, inner), transpose(out)),)


def _vectors_jvp(ts, out, x):
    n = out.shape[-1]
    m = matmul(matmul(transpose(out), _sym(ts[0])), out)
    return matmul(out, mul(_gap_inverse(linalg_eigvalsh(x), n), m))


LINALG_EIGVALSH = register(Op(
    name="linalg_eigvalsh", impl=lambda x: np.linalg.eigvalsh(_sym64(x)).astype(x.dtype),
    infer=_values_infer, vjp=_values_vjp, grad_name="LinalgEighBackward0", saves=(0,), nin=1,
    tf_name="SelfAdjointEigV2", fresh_output=True, jvp=_values_jvp))
LINALG_EIGH_VECTORS = register(Op(
    name="linalg_eigh_vectors", impl=lambda x: np.linalg.eigh(_sym64(x))[1].astype(x.dtype),
    infer=_vectors_infer, vjp=_vectors_vjp, grad_name="LinalgEighBackward0", saves=(0, "out"),
    nin=1, tf_name="SelfAdjointEigV2", fresh_output=True, jvp=_vectors_jvp))
