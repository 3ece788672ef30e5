"""``torch.linalg``: norms, inverse, determinant, solve, Cholesky, eigh, singular values (with
gradients); QR and the full SVD (values only).

Norms are composed of registry ops and renamed to PyTorch's node (``LinalgVectorNormBackward0``);
``inv``/``det``/``slogdet``/``solve``/``solve_triangular``/``cholesky``/``eigh`` are the registry
records ``tf.linalg`` uses too (``staticgraph/ops/linalg*.py``: LAPACK in float64, VJP and JVP
rules written with ops, so second derivatives work), with PyTorch's behaviour chosen by their
parameters (``vec``, ``symmetrize``, ``on_failure``). Inputs are checked here, with PyTorch's
texts; a singular or non-positive-definite input raises :class:`LinAlgError` (a
``RuntimeError``), as PyTorch's ``torch.linalg.LinAlgError``.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from staticgraph import ops
from staticgraph.ops.linalg_cholesky import NotPositiveDefinite
from staticgraph.ops.linalg_solve import SingularMatrix

from . import _unsupported
from ._linalg_products import check_power, cross, multi_dot, power, vecdot
from ._tensor import Tensor, make, to_tensor
from .autograd.forward_ad_engine import input_tangents
from .autograd.grad_mode import is_grad_enabled
from .autograd.graph import renamed

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "inv", "det", "slogdet", "solve",
           "cholesky", "qr", "eigh", "eigvalsh", "svd", "svdvals", "inverse", "logdet",
           "solve_triangular", "matrix_power", "multi_dot", "vecdot", "cross"]


class LinAlgError(RuntimeError):
    """``torch.linalg.LinAlgError``: the input is singular or not positive-definite."""


def _ret(name: str, fields: list[str]) -> type:
    cls = namedtuple(name, fields)
    cls.__repr__ = lambda self: f"torch.return_types.{name}(\n" + ",\n".join(
        f"{f}={getattr(self, f)!r}" for f in fields) + ")"
    return cls


_Slogdet = _ret("linalg_slogdet", ["sign", "logabsdet"])
_Qr = _ret("linalg_qr", ["Q", "R"])
_Eigh = _ret("linalg_eigh", ["eigenvalues", "eigenvectors"])
_Svd = _ret("linalg_svd", ["U", "S", "Vh"])


def _float_input(x: Any, what: str) -> Tensor:
    x = to_tensor(x)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{what}: Expected a floating point or complex tensor as input. "
                           f"Got {x.dtype._legacy[:-6]}")
    return x


def _matrices(x: Any, what: str) -> Tensor:
    """``x`` checked to be a float batch of square matrices, with PyTorch's errors."""
    x = _float_input(x, what)
    if x.dim() < 2:
        raise RuntimeError(f"{what}: The input tensor A must have at least 2 dimensions.")
    n, m = x.shape[-2:]
    if n != m:
        raise RuntimeError(f"{what}: A must be batches of square matrices, but they are "
                           f"{n} by {m} matrices")
    return x


def _differentiated(a: Tensor) -> bool:
    """Whether a derivative of ``a`` is being taken: recorded (reverse) or carried (forward)."""
    return (a.requires_grad and is_grad_enabled()) or input_tangents((a,)) is not None


def _batch_prefix(index: int | None) -> str:
    return "" if index is None else f"(Batch element {index}): "


# ------------------------------------------------------------------------------------ norms
def _dims(dim: Any) -> Any:
    return tuple(dim) if isinstance(dim, (list, tuple)) else dim


def _root(s: Tensor, p: float) -> Tensor:
    """``s ** (1/p)`` whose gradient is 0 where ``s`` is 0 (PyTorch's norm gradient at the
    origin, ``ops.root_zero_grad``), only when a gradient is taken."""
    if _differentiated(s):
        return ops.root_zero_grad(s, p)
    return ops.sqrt(s) if p == 2.0 else ops.pow(s, 1.0 / p)


def _abs_pow(x: Tensor, p: float) -> Tensor:
    """``|x| ** p``; for ``p < 1`` with gradient 0 at zero entries (PyTorch's ``norm_backward``
    masks them; ``inf * 0`` otherwise), only when a gradient is taken."""
    if p < 1.0 and _differentiated(x):
        return ops.abs_pow_zero_grad(x, p)
    return ops.pow(ops.abs(x), p)


def vector_norm(x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements by default): 2, 1, inf, -inf, 0, p.
    float16 is computed in float32 and rounded once, as PyTorch's opmath (five 300s: 671, not
    the inf of float16 squares; the gradient is float32 inside, rounded once at ``x``)."""
    x = _float_input(x, "linalg.vector_norm")
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype == np.float16:
        r = _vector_norm(ops.cast(x, np.float32), ord, _dims(dim), keepdim)
        return renamed(ops.cast(r, np.float16), "LinalgVectorNormBackward0")
    return renamed(_vector_norm(x, ord, _dims(dim), keepdim), "LinalgVectorNormBackward0")


def _vector_norm(x: Tensor, ord: Any, dim: Any, keepdim: bool) -> Tensor:
    """:func:`vector_norm` of registry ops in ``x``'s dtype."""
    if ord in (2, 2.0):
        r = _root(ops.sum(ops.mul(x, x), dim, keepdim), 2.0)
    elif ord in (1, 1.0):
        r = ops.sum(ops.abs(x), dim, keepdim)
    elif ord == math.inf:
        r = ops.amax(ops.abs(x), dim, keepdim)
    elif ord == -math.inf:
        r = ops.amin(ops.abs(x), dim, keepdim)
    elif ord == 0:
        r = ops.sum(ops.cast(ops.ne(x, 0), x._data.dtype), dim, keepdim)
    elif isinstance(ord, (int, float)):
        r = _root(ops.sum(_abs_pow(x, float(ord)), dim, keepdim), float(ord))
    else:
        raise RuntimeError(f"linalg.vector_norm: Expected a number as ord, got {ord!r}")
    return r


def matrix_norm(a: Any, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """The matrix norm over the two dims ``dim``: ``"fro"``, ``"nuc"``, 1, -1, inf, -inf, 2, -2."""
    a = _float_input(a, "linalg.matrix_norm")
    if a.dim() < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if dtype is not None:
        a = a.to(dtype)
    d0, d1 = (int(d) % a.dim() for d in dim)
    if ord == "fro":
        return vector_norm(a, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        moved = ops.permute(a, [i for i in range(a.dim()) if i not in (d0, d1)] + [d0, d1])
        s = svdvals(moved)
        r = (ops.sum(s, -1) if ord == "nuc" else
             ops.amax(s, -1) if ord == 2 else ops.amin(s, -1))
        if keepdim:
            r = ops.expand_dims(r, tuple(sorted((d0, d1))))
        return r
    if ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)
    sums = ops.sum(ops.abs(a), inner, keepdim)
    outer -= 0 if keepdim or outer < inner else 1
    return ops.amax(sums, outer, keepdim) if ord > 0 else ops.amin(sums, outer, keepdim)


def norm(a: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    """``vector_norm`` or ``matrix_norm`` by ``dim`` (and by rank where ``ord`` is given alone)."""
    a = _float_input(a, "linalg.norm")
    dim = (dim,) if isinstance(dim, int) else _dims(dim)
    if dim is None:
        if ord is None:
            return vector_norm(a, 2, None, keepdim, dtype=dtype)
        if a.dim() not in (1, 2):
            raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must "
                               f"be 1D or 2D. Got {a.dim()}D.")
        dim = tuple(range(a.dim()))
    if len(dim) == 2:
        return matrix_norm(a, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Expected a number as ord, got {ord!r}")
    return vector_norm(a, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


# ----------------------------------------------------------------------- inverse, det, solve
def _zero_pivot(a: np.ndarray) -> int:
    """The 1-based index of the first zero diagonal element of ``a``'s pivoted LU (LAPACK's
    ``getrf`` info), 0 when there is none."""
    a = np.array(a, dtype=np.float64)
    n = a.shape[-1]
    first = 0
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if a[p, k] == 0:
            first = first or k + 1
            continue
        a[[k, p]] = a[[p, k]]
        a[k + 1:, k:] -= np.outer(a[k + 1:, k] / a[k, k], a[k, k:])
    return first


def inv(a: Any) -> Tensor:
    """The inverse of each square matrix (pivoted LU); ``LinAlgError`` when one is singular."""
    a = _matrices(a, "linalg.inv")
    try:
        return ops.matrix_inverse(a)
    except ValueError:
        flat = a._data.reshape((-1,) + a._data.shape[-2:])
        for i, m in enumerate(flat):
            k = _zero_pivot(m)
            if k:
                raise LinAlgError(
                    f"linalg.inv: {_batch_prefix(i if a.dim() > 2 else None)}The diagonal "
                    f"element {k} is zero, the inversion could not be completed because the "
                    "input matrix is singular.") from None
        raise LinAlgError("linalg.inv: the input matrix is singular.") from None


inverse = inv


def det(a: Any) -> Tensor:
    """The determinant of each square matrix (``LinalgDetBackward0``)."""
    return ops.matrix_determinant(_matrices(a, "linalg.det"))


def slogdet(a: Any) -> Any:
    """``(sign, logabsdet)`` of each square matrix; only ``logabsdet`` carries a gradient."""
    a = _matrices(a, "linalg.slogdet")
    return _Slogdet(ops.determinant_sign(a), ops.log_abs_determinant(a))


def logdet(a: Any) -> Tensor:
    """``log(det(a))``: nan where the determinant is negative, -inf where it is zero."""
    s, la = slogdet(_matrices(a, "logdet"))
    return ops.where(s._data < 0, math.nan, la)


def solve(a: Any, b: Any, *, left: bool = True) -> Tensor:
    """``X`` with ``a @ X = b`` (``X @ a = b`` with ``left=False``); ``b`` may be a vector
    (``(..., n)``) or matrices (``(..., n, k)``), PyTorch's rule deciding which."""
    a = _matrices(a, "linalg.solve")
    b = to_tensor(b)
    if b.dtype != a.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A "
                           f"of type {a.dtype._legacy[:-6]} and B of type "
                           f"{b.dtype._legacy[:-6]} instead")
    vec = b.dim() == 1 or (b.dim() == a.dim() - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    if not left:
        if vec:
            raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not "
                               "supported for left=False. In this case linalg.solve is "
                               "equivalent to B / A.squeeze(-1)")
        return ops.transpose(solve(ops.transpose(a), ops.transpose(b)))
    if b.dim() < (1 if vec else 2):
        raise RuntimeError("linalg.solve: The input tensor B must have at least 2 dimensions.")
    n, nb, k = a.shape[-1], b.shape[-1 if vec else -2], 1 if vec else b.shape[-1]
    if n != nb:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({n}x{n} and {nb}x{k})")
    try:
        return ops.matrix_solve(a, b, vec=vec)
    except SingularMatrix:
        raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is "
                          "singular.") from None


def solve_triangular(a: Any, b: Any, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """``X`` with ``a @ X = b`` (``X @ a = b`` with ``left=False``) reading only ``a``'s upper or
    lower triangle (its diagonal taken as ones with ``unitriangular``): the gradient reaches only
    that triangle, as PyTorch's does. A zero on the diagonal gives inf/nan, as PyTorch's."""
    a = _matrices(a, "linalg.solve_triangular")
    b = to_tensor(b)
    if not left:
        return ops.transpose(solve_triangular(ops.transpose(a), ops.transpose(b),
                                              upper=not upper, unitriangular=unitriangular))
    if unitriangular:  # the strict triangle, ones on the diagonal
        n = a.shape[-1]
        strict = np.triu(np.ones((n, n), bool), 1) if upper else np.tril(np.ones((n, n), bool), -1)
        a = ops.add(ops.where(strict, a, 0.0), make(np.eye(n, dtype=a._data.dtype)))
    return ops.matrix_triangular_solve(a, b, lower=not upper)


def matrix_power(a: Any, n: int) -> Tensor:
    """``a`` to the integer power ``n`` (``n < 0``: the inverse's power)."""
    a = _float_input(a, "linalg.matrix_power") if isinstance(n, int) and n < 0 else to_tensor(a)
    check_power(a, n)
    return power(inv(a), -n) if n < 0 else power(a, n)


def cholesky(a: Any, *, upper: bool = False) -> Tensor:
    """The lower Cholesky factor ``L`` (``a = L L^T``), ``L^T`` with ``upper=True``."""
    a = _matrices(a, "linalg.cholesky")
    try:
        L = ops.cholesky(a, symmetrize=True, on_failure="raise")
    except NotPositiveDefinite as e:
        raise LinAlgError(
            f"linalg.cholesky: {_batch_prefix(e.batch)}The factorization could not be completed "
            f"because the input is not positive-definite ({e}).") from None
    return ops.transpose(L) if upper else L


# -------------------------------------------------------- decompositions without a gradient
def _out(x: np.ndarray, like: Tensor) -> Tensor:
    return make(np.ascontiguousarray(x.astype(like._data.dtype)))


def qr(a: Any, mode: str = "reduced") -> Any:
    """``(Q, R)`` (LAPACK Householder, as PyTorch's); ``mode`` ``"reduced"`` or ``"complete"``.
    Differentiable through the registry's ``linalg_qr_q``/``linalg_qr_r`` (PyTorch's rule)."""
    a = _float_input(a, "linalg.qr")
    if mode not in ("reduced", "complete"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    _at_least_2d(a, "linalg.qr")
    if _differentiated(a):
        full = mode == "complete"
        return _Qr(ops.linalg_qr_q(a, full), ops.linalg_qr_r(a, full))
    q, r = np.linalg.qr(a._data.astype(np.float64), mode=mode)
    return _Qr(_out(q, a), _out(r, a))


def _at_least_2d(a: Tensor, what: str) -> None:
    if a.dim() < 2:
        raise RuntimeError(f"{what}: The input tensor A must have at least 2 dimensions.")


def _uplo(UPLO: str) -> None:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(a: Any, UPLO: str = "L") -> Any:
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices, both with
    gradients (``LinalgEighBackward0``). The symmetric part ``(a + a^T)/2`` is decomposed: for a
    symmetric ``a`` (what ``eigh`` is for) that is PyTorch's result whichever ``UPLO``."""
    a = _matrices(a, "linalg.eigh")
    _uplo(UPLO)
    return _Eigh(ops.linalg_eigvalsh(a, True), ops.linalg_eigh_vectors(a, True))


def eigvalsh(a: Any, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of symmetric matrices, with their gradient."""
    a = _matrices(a, "linalg.eigvalsh")
    _uplo(UPLO)
    return ops.linalg_eigvalsh(a, True)


def svd(a: Any, full_matrices: bool = True) -> Any:
    """``(U, S, Vh)`` with ``a = U diag(S) Vh``, singular values descending. Differentiable
    through the registry's ``linalg_svd_*`` records (PyTorch's ``svd_backward``; a full
    factorization's extra vectors get no gradient, as in PyTorch)."""
    a = _float_input(a, "linalg.svd")
    _at_least_2d(a, "linalg.svd")
    if _differentiated(a):
        return _Svd(ops.linalg_svd_u(a, full_matrices), ops.linalg_svd_s(a),
                    ops.linalg_svd_vh(a, full_matrices))
    u, s, vh = np.linalg.svd(a._data.astype(np.float64), full_matrices=full_matrices)
    return _Svd(_out(u, a), _out(s, a), _out(vh, a))


def svdvals(a: Any) -> Tensor:
    """The singular values, descending, with their gradient (``U diag(gS) Vh``)."""
    a = _float_input(a, "linalg.svdvals")
    _at_least_2d(a, "linalg.svd")
    if not _differentiated(a):
        return _out(np.linalg.svd(a._data.astype(np.float64), compute_uv=False), a)
    return ops.linalg_svd_s(a)


__getattr__ = _unsupported.missing_names("torch.linalg", {
    "eig": "use torch.linalg.eigh for symmetric matrices",
    "eigvals": "use torch.linalg.eigvalsh for symmetric matrices",
    "lstsq": "use torch.linalg.solve on the normal equations (A^T A) x = A^T b",
    "pinv": "use torch.linalg.inv or torch.linalg.solve for square matrices",
    "matrix_exp": "use a truncated series with torch.linalg.matrix_power",
})
