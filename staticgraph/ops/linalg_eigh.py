"""The symmetric eigendecomposition ``tf.linalg.eigh`` and ``torch.linalg.eigh`` share, as two
records: eigenvalues (``linalg_eigvalsh``) and eigenvectors (``linalg_eigh_vectors``), each
differentiable (gradients and second derivatives).

Both decompose a symmetric ``S`` (LAPACK ``syevd`` in float64): TF's kernel reads the lower
triangle of ``x`` (``symmetrize=False``), ``torch.linalg`` takes the symmetric part
(``symmetrize=True``), see :func:`.linalg.symmetric_input`. With ``w`` ascending, ``V``
orthonormal and ``F_ij = 1/(w_j - w_i)`` off the diagonal (0 on it), the gradient ``gS`` is

* ``V diag(gw) V^T`` for the values (``dw = diag(V^T dS V)``);
* ``V (F o skew(V^T gV)) V^T`` for the vectors (``dV = V (F o (V^T dS V))``; the gradient
  assumes distinct eigenvalues, as both libraries' do).

``torch.linalg`` gets ``gS`` itself (PyTorch's rule); TF gets it on the triangle read, ``gS`` on
the diagonal and ``2 gS`` below it (TF's ``_SelfAdjointEigV2Grad``).
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, aval_of, bind, register
from .elementwise import mul, reciprocal, sub, where
from .linalg import check_square, f64, matrix_size, symmetric_input, symmetric_tangent
from .nn import matmul
from .reductions import sum as sum_
from .shapes import expand_dims, transpose


def linalg_eigvalsh(x, symmetrize: bool = False):
    """The eigenvalues (ascending) of each symmetric matrix (lower triangle of ``x``, or with
    ``symmetrize`` its symmetric part)."""
    return bind(LINALG_EIGVALSH, x, symmetrize=bool(symmetrize))


def linalg_eigh_vectors(x, symmetrize: bool = False):
    """The orthonormal eigenvectors (columns, in ``linalg_eigvalsh``'s order)."""
    return bind(LINALG_EIGH_VECTORS, x, symmetrize=bool(symmetrize))


def _values_infer(x: AVal, symmetrize: bool = False) -> tuple:
    check_square(x, "self_adjoint_eig")
    return x.shape[:-1], x.dtype


def _vectors_infer(x: AVal, symmetrize: bool = False) -> tuple:
    check_square(x, "self_adjoint_eig")
    return x.shape, x.dtype


def _gap_inverse(w, n: int):
    """``F_ij = 1/(w_j - w_i)`` off the diagonal, 0 on it."""
    eye = np.eye(n, dtype=bool)
    gaps = sub(expand_dims(w, -2), expand_dims(w, -1))
    return where(eye, 0.0, reciprocal(where(eye, 1.0, gaps)))


def _on_input(gs, symmetrize: bool):
    """The gradient of ``x`` from that of the symmetric ``S`` it stands for."""
    if symmetrize:
        return gs
    n = matrix_size(gs)
    return mul(gs, (2.0 * np.tril(np.ones((n, n)), -1) + np.eye(n)).astype(aval_of(gs).dtype))


def _values_vjp(g, out, x, symmetrize=False):
    v = linalg_eigh_vectors(x, symmetrize)
    return (_on_input(matmul(mul(v, expand_dims(g, -2)), transpose(v)), symmetrize),)


def _values_jvp(ts, out, x, symmetrize=False):
    v = linalg_eigh_vectors(x, symmetrize)
    return sum_(mul(v, matmul(symmetric_tangent(ts[0], symmetrize), v)), -2)  # diag(V^T dS V)


def _vectors_vjp(g, out, x, symmetrize=False):
    vg = matmul(transpose(out), g)
    skew = mul(sub(vg, transpose(vg)), 0.5)
    inner = mul(_gap_inverse(linalg_eigvalsh(x, symmetrize), matrix_size(out)), skew)
    return (_on_input(matmul(matmul(out, inner), transpose(out)), symmetrize),)


def _vectors_jvp(ts, out, x, symmetrize=False):
    m = matmul(matmul(transpose(out), symmetric_tangent(ts[0], symmetrize)), out)
    return matmul(out, mul(_gap_inverse(linalg_eigvalsh(x, symmetrize), matrix_size(out)), m))


def _values_kernel(x: np.ndarray, symmetrize: bool = False) -> np.ndarray:
    return np.linalg.eigvalsh(symmetric_input(f64(x), symmetrize)).astype(x.dtype)


def _vectors_kernel(x: np.ndarray, symmetrize: bool = False) -> np.ndarray:
    return np.linalg.eigh(symmetric_input(f64(x), symmetrize))[1].astype(x.dtype)


_EIGH = dict(nin=1, grad_name="LinalgEighBackward0", tf_name="SelfAdjointEigV2",
             input_names=("input",), fresh_output=True)

LINALG_EIGVALSH = register(Op(name="linalg_eigvalsh", impl=_values_kernel, infer=_values_infer,
                              vjp=_values_vjp, saves=(0,), jvp=_values_jvp, **_EIGH))
LINALG_EIGH_VECTORS = register(Op(
    name="linalg_eigh_vectors", impl=_vectors_kernel, infer=_vectors_infer, vjp=_vectors_vjp,
    saves=(0, "out"), jvp=_vectors_jvp, **_EIGH))
