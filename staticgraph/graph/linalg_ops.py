"""TF1's dense linear algebra (``tf.matrix_solve``/``tf.linalg.solve``, ``tf.matrix_determinant``/
``tf.linalg.det``, ``tf.linalg.slogdet``, ``tf.cholesky``, ``tf.matrix_triangular_solve``,
``tf.self_adjoint_eig``/``tf.linalg.eigh``, ``tf.self_adjoint_eigvals``/``tf.linalg.eigvalsh``,
``tf.qr``/``tf.linalg.qr``, ``tf.svd``/``tf.linalg.svd``)
on the registry's LAPACK-backed records (``ops/linalg*.py``, shared with ``torch.linalg``:
TF's behaviour chosen by their parameters), and three index functions built from registry ops:
``tf.scatter_nd`` (a ``scatter_add`` into zeros, so its gradient is a gather), ``tf.meshgrid``
(reshape + broadcast) and ``tf.roll`` (two slices concatenated).

The linalg records have no scalar form: the compiler runs them as numpy ``fallback`` steps
(``staticgraph.compiler.log`` notes each one)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .array_ops import identity
from .core import Tensor
from .frontend import as_graph_tensor
from .math_ops import _final, _named, _require, _t, cast, composite
from .matrix_ops import reshaped


def _matrix(x: Any) -> Tensor:
    a = _t(x)
    _require("f", a, param="input")
    return a


def matrix_solve(matrix: Any, rhs: Any, adjoint: bool = False,
                 name: str | None = None) -> Tensor:
    """``x`` with ``matrix @ x = rhs`` (``adjoint(matrix)`` when ``adjoint``), per matrix of
    the batch; pivoted LU in float64. A singular matrix raises ``InvalidArgumentError: Input
    matrix is not invertible.`` at run time."""
    a, b = _matrix(matrix), _t(rhs)
    if a.aval.shape is not None and b.aval.shape is not None and b.ndim >= 2:
        if a.ndim != b.ndim:  # TF's MatrixSolve does not broadcast batch dims
            raise ValueError(f"Shapes must be equal rank, but are {a.ndim} and {b.ndim}")
        for m, n in zip(a.aval.shape[:-2], b.aval.shape[:-2], strict=True):
            if m is not None and n is not None and m != n:
                raise ValueError(f"Dimensions must be equal, but are {m} and {n}")
    return _named(name, "MatrixSolve", ops.matrix_solve, a, b, adjoint=adjoint)


def matrix_determinant(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """The determinant of each square matrix in the last two dims."""
    return _named(name, "MatrixDeterminant", ops.matrix_determinant, _matrix(input))


def slogdet(input: Any, name: str | None = None) -> tuple[Tensor, Tensor]:  # noqa: A002
    """``(sign, log_abs_determinant)`` of each matrix: no overflow where ``det`` would.
    Gradients flow through ``log_abs_determinant`` only (TF's rule)."""
    a = _matrix(input)
    with composite(name, "LogMatrixDeterminant", a) as stem:
        sign = ops.determinant_sign(a, zero_grad=True)  # tf.gradients(sign, a): zeros
        return sign, _final(stem, ops.log_abs_determinant, a)


def cholesky(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """The lower Cholesky factor of each matrix; only the lower triangle is read (TF's kernel).
    A matrix that is not positive definite gives a NaN lower triangle (TF 2's kernel)."""
    return _named(name, "Cholesky", ops.cholesky, _matrix(input))


def self_adjoint_eig(tensor: Any, name: str | None = None) -> tuple[Tensor, Tensor]:
    """``(e, v)``: the eigenvalues (ascending) and orthonormal eigenvectors (columns) of each
    self-adjoint matrix; only the lower triangle is read (TF's kernel), gradients flow through
    both (TF's rule, on the triangle read; distinct eigenvalues assumed)."""
    a = _matrix(tensor)
    with composite(name, "SelfAdjointEigV2", a) as stem:
        v = ops.linalg_eigh_vectors(a)
        return _final(stem, ops.linalg_eigvalsh, a), v


def qr(input: Any, full_matrices: bool = False,  # noqa: A002
       name: str | None = None) -> tuple[Tensor, Tensor]:
    """``(q, r)`` of each matrix (Householder QR, LAPACK), both differentiable (PyTorch's rule,
    the same derivative as TF's ``_QrGrad``); ``full_matrices=True`` of a tall matrix has no
    gradient (TF: NotImplementedError when ``tf.gradients`` reaches it)."""
    a = _matrix(input)
    full = bool(full_matrices)
    with composite(name, "Qr", a) as stem:
        r = ops.linalg_qr_r(a, full)
        return _final(stem, ops.linalg_qr_q, a, full), r


def svd(tensor: Any, full_matrices: bool = False, compute_uv: bool = True,
        name: str | None = None) -> Any:
    """``(s, u, v)`` of each matrix, ``a = u diag(s) v^T`` (``s`` alone without
    ``compute_uv``); LAPACK's ``gesdd``, all three differentiable (distinct singular values;
    a full factorization of a non-square matrix: TF's gradient, defined when ``|m - n| == 1``)."""
    a = _matrix(tensor)
    full = bool(full_matrices)
    with composite(name, "Svd", a) as stem:
        if not compute_uv:
            return _final(stem, ops.linalg_svd_s, a)
        u = ops.linalg_svd_u(a, full, full_grad=False)
        v = ops.transpose(ops.linalg_svd_vh(a, full, full_grad=False))
        return _final(stem, ops.linalg_svd_s, a), u, v


def self_adjoint_eigvals(tensor: Any, name: str | None = None) -> Tensor:
    """The eigenvalues (ascending) of each self-adjoint matrix (its lower triangle read)."""
    return _named(name, "SelfAdjointEigV2", ops.linalg_eigvalsh, _matrix(tensor))


def matrix_triangular_solve(matrix: Any, rhs: Any, lower: bool = True, adjoint: bool = False,
                            name: str | None = None) -> Tensor:
    """``x`` with ``T @ x = rhs``, ``T`` the lower (or upper) triangle of ``matrix`` (its
    adjoint when ``adjoint``); the other triangle is never read. Batch dims broadcast (TF 2)."""
    a, b = _matrix(matrix), _t(rhs)
    with composite(name, "triangular_solve", a, b) as stem:  # TF 2's wrapper scope
        return _final(stem + "MatrixTriangularSolve/", ops.matrix_triangular_solve, a, b,
                      lower=lower, adjoint=adjoint)


def _static_ints(value: Any, what: str) -> list[int]:
    t = as_graph_tensor(value)
    if t is not None:
        v = t.op.params.get("value") if t.op.type == "Const" else None
        if v is None:
            raise NotImplementedError(f"{what} given as a computed tensor is not supported; "
                                      f"pass Python ints or a constant")
        value = v
    return [int(d) for d in np.asarray(value).reshape(-1)]


def scatter_nd(indices: Any, updates: Any, shape: Any, name: str | None = None) -> Tensor:
    """A tensor of ``shape`` holding zeros, with ``updates`` summed at ``indices`` (index
    tuples in the last dim; repeated indices add up, as TF's ``ScatterNd``)."""
    ti = as_graph_tensor(indices)
    idx = ti if ti is not None else _t(np.asarray(indices))
    u = _t(updates)
    if not idx.dtype.is_integer:
        raise TypeError(f"Value passed to parameter 'indices' has DataType {idx.dtype.name} "
                        f"not in list of allowed values: int32, int64")
    dims = _static_ints(shape, "tf.scatter_nd's shape")
    if idx.aval.shape is None or u.aval.shape is None or idx.ndim == 0:
        raise NotImplementedError("tf.scatter_nd needs indices and updates of known rank")
    k = idx.aval.shape[-1]
    if k is None or k > len(dims):
        raise ValueError(f"The outer {k} dimensions of indices.shape={idx.shape.as_list()} "
                         f"must match the outer {k} dimensions of shape={dims}")
    want = list(idx.aval.shape[:-1]) + dims[k:]
    have = list(u.aval.shape)
    if len(have) != len(want) or any(h is not None and h != w
                                     for h, w in zip(have, want, strict=True)):
        raise ValueError(f"Dimensions [0,{len(want)}) of updates[shape={u.shape.as_list()}] "
                         f"= {have} must match dimensions [0,{len(want)}) of "
                         f"indices[shape={idx.shape.as_list()}] = {want[:idx.ndim - 1]} "
                         f"and shape={dims} ")
    m = 1
    for d in idx.aval.shape[:-1]:
        if d is None:
            raise NotImplementedError("tf.scatter_nd needs the number of index tuples when "
                                      "the graph is built")
        m *= int(d)
    rest = dims[k:]
    strides = [int(np.prod(dims[j + 1:k])) for j in range(k)]
    with composite(name, "ScatterNd", idx, u) as stem:
        rows = ops.sum(ops.mul(cast(idx, np.int64), np.asarray(strides, np.int64)), (-1,))
        rows = ops.broadcast_to(reshaped(rows, [m] + [1] * len(rest), "scatter_nd"),
                                tuple([m] + rest))
        src = reshaped(u, [m] + rest, "scatter_nd")
        zeros = np.zeros([int(np.prod(dims[:k]))] + rest, u.aval.dtype)
        flat = ops.scatter_add(zeros, src, rows, 0)
        return _final(stem, ops.reshape, flat, tuple(dims))


def meshgrid(*args: Any, **kwargs: Any) -> list[Tensor]:
    """N-D coordinate grids from 1-D tensors: ``indexing='xy'`` (default, the first two
    output dims swapped: Cartesian) or ``'ij'`` (matrix)."""
    indexing = kwargs.pop("indexing", "xy")
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"Invalid keyword arguments: {', '.join(kwargs)}")
    if indexing not in ("xy", "ij"):
        raise ValueError("indexing parameter must be either 'xy' or 'ij'")
    xs = [_t(a) for a in args]
    if not xs:
        return []
    sizes = []
    for x in xs:
        if x.aval.shape is None or None in x.aval.shape:
            raise NotImplementedError("tf.meshgrid needs inputs of known size")
        sizes.append(int(np.prod(x.aval.shape)))
    order = list(range(len(xs)))
    if indexing == "xy" and len(xs) > 1:
        order[0], order[1] = 1, 0  # output dim d holds input order[d]
    full = tuple(sizes[i] for i in order)
    outs = []
    with composite(name, "meshgrid", *xs):
        for i, x in enumerate(xs):
            pos = order.index(i)
            dims = [1] * len(xs)
            dims[pos] = sizes[i]
            outs.append(ops.broadcast_to(ops.reshape(x, tuple(dims)), full))
    return outs


def roll(input: Any, shift: Any, axis: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Elements shifted along ``axis`` by ``shift`` (wrapping around); several axes at once,
    shifts on one axis add up. Shifts and axes are Python ints (or constants)."""
    x = _t(input)
    shifts = _static_ints(shift, "tf.roll's shift")
    axes = _static_ints(axis, "tf.roll's axis")
    if len(shifts) != len(axes):
        raise ValueError(f"shift and axis must have the same size: {len(shifts)} vs "
                         f"{len(axes)}")
    if x.aval.shape is None:
        raise NotImplementedError("tf.roll needs an input of known rank")
    total: dict[int, int] = {}
    for s, a in zip(shifts, axes, strict=True):
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"axis {a} is out of range for a tensor of rank {x.ndim}")
        total[a % x.ndim] = total.get(a % x.ndim, 0) + s
    todo = []
    for a, s in sorted(total.items()):
        n = x.aval.shape[a]
        if n is None:
            raise NotImplementedError(f"tf.roll needs dim {a} of {x.name} when the graph "
                                      f"is built (shape {x.shape})")
        if s % max(n, 1):
            todo.append((a, n, s % n))
    if not todo:
        return identity(x, name=name or "Roll")
    with composite(name, "Roll", x) as stem:
        out = x
        for k, (a, n, s) in enumerate(todo):
            head = tuple([slice(None)] * a + [slice(n - s, None)])
            tail = tuple([slice(None)] * a + [slice(0, n - s)])
            parts = [ops.getitem(out, head), ops.getitem(out, tail)]
            out = _final(stem, ops.cat, parts, a) if k == len(todo) - 1 else ops.cat(parts, a)
        return out


__all__ = ["matrix_solve", "matrix_determinant", "slogdet", "cholesky", "self_adjoint_eig", "qr",
           "svd", "self_adjoint_eigvals", "matrix_triangular_solve", "scatter_nd", "meshgrid",
           "roll"]
