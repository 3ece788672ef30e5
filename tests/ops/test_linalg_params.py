"""The linear-algebra records ``tf.linalg`` and ``torch.linalg`` share (``ops/linalg*.py``): each
frontend's behaviour is a parameter of one record. Values against numpy, JVPs against central
differences, failure modes, and both frontends reaching the same record."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
import staticgraph as sg
from staticgraph import ops
from staticgraph.ops import REGISTRY
from staticgraph.ops.linalg_cholesky import NotPositiveDefinite
from staticgraph.ops.linalg_solve import SingularMatrix

R = np.random.default_rng(31)
A = R.standard_normal((3, 3)) + 3 * np.eye(3)
SPD = A @ A.T + np.eye(3)
SKEWED = SPD + np.triu(R.standard_normal((3, 3)), 1)  # the upper triangle disagrees


def test_cholesky_reads_the_lower_triangle_or_the_symmetric_part():
    low = np.tril(SKEWED) + np.tril(SKEWED, -1).T
    np.testing.assert_allclose(ops.cholesky(SKEWED), np.linalg.cholesky(low), rtol=1e-12)
    np.testing.assert_allclose(ops.cholesky(SKEWED, symmetrize=True),
                               np.linalg.cholesky((SKEWED + SKEWED.T) / 2), rtol=1e-12)


def test_cholesky_failure_gives_nan_or_raises_naming_the_minor_and_batch_element():
    batch = np.stack([SPD, -np.eye(3), SPD])
    out = ops.cholesky(batch)
    np.testing.assert_allclose(out[[0, 2]], np.linalg.cholesky(SPD[None].repeat(2, 0)),
                               rtol=1e-12)
    assert np.isnan(out[1][np.tril_indices(3)]).all()
    with pytest.raises(NotPositiveDefinite, match="order 1 is not") as e:
        ops.cholesky(batch, on_failure="raise")
    assert e.value.batch == 1
    with pytest.raises(ValueError, match="on_failure must be 'nan' or 'raise'"):
        ops.cholesky(SPD, on_failure="zero")


@pytest.mark.parametrize("symmetrize", [False, True])
def test_cholesky_jvp_differentiates_the_matrix_each_mode_factors(symmetrize):
    t = R.standard_normal((3, 3))
    op = REGISTRY["cholesky"]
    params = {"symmetrize": symmetrize, "on_failure": "nan"}
    out = ops.cholesky(SKEWED, **params)
    tan = op.jvp([t], out, SKEWED, **params)
    eps = 1e-6
    fd = (ops.cholesky(SKEWED + eps * t, **params) - ops.cholesky(SKEWED - eps * t, **params))
    np.testing.assert_allclose(tan, fd / (2 * eps), rtol=1e-6, atol=1e-8)


def test_solve_vectors_adjoint_and_broadcast_batch_dims():
    a = R.standard_normal((2, 1, 3, 3)) + 3 * np.eye(3)
    b = R.standard_normal((4, 3))
    want = np.linalg.solve(np.swapaxes(a, -1, -2), np.broadcast_to(b, (2, 4, 3))[..., None])
    np.testing.assert_allclose(ops.matrix_solve(a, b, adjoint=True, vec=True), want[..., 0],
                               rtol=1e-12)
    with pytest.raises(SingularMatrix, match="Input matrix is not invertible."):
        ops.matrix_solve(np.ones((2, 2)), np.ones((2, 1)))


def test_triangular_solve_broadcasts_batch_dims():
    a = R.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = R.standard_normal((3, 2))
    np.testing.assert_allclose(ops.matrix_triangular_solve(a, b, lower=False),
                               np.linalg.solve(np.triu(a), b), rtol=1e-12)


def test_both_frontends_bind_the_same_records():
    """A graph built by ``tf.linalg`` holds the records ``torch.linalg`` runs eagerly."""
    seen: list[str] = []
    bind = ops.core.bind

    def spy(op, *args, **params):
        seen.append(op.name)
        return bind(op, *args, **params)

    names = ["matrix_determinant", "matrix_solve", "cholesky", "matrix_triangular_solve"]
    for mod in (ops.linalg, ops.linalg_solve, ops.linalg_cholesky):
        mod.bind = spy
    try:
        x = torch.tensor(SPD)
        torch.linalg.det(x), torch.linalg.solve(x, x), torch.linalg.cholesky(x)
        torch.linalg.solve_triangular(x, x, upper=True)
        eager = list(seen)
        seen.clear()
        with sg.Graph().as_default():
            c = sg.constant(SPD)
            sg.linalg.det(c), sg.linalg.solve(c, c), sg.linalg.cholesky(c)
            sg.linalg.triangular_solve(c, c, lower=False)
    finally:
        for mod in (ops.linalg, ops.linalg_solve, ops.linalg_cholesky):
            mod.bind = bind
    assert eager == seen == names


def test_torch_solve_triangular_substitutes_through_a_zero_diagonal():
    """As PyTorch's kernel (and TF's): inf/nan, no error."""
    a = np.array([[1.0, 0, 0], [2, 0, 0], [1, 1, 2]])
    got = torch.linalg.solve_triangular(torch.tensor(a), torch.ones(3, 1, dtype=torch.float64),
                                        upper=False)
    np.testing.assert_array_equal(got.numpy().ravel(), [1.0, -np.inf, np.inf])
    T = pytest.importorskip("torch")
    ref = T.linalg.solve_triangular(T.tensor(a), T.ones(3, 1, dtype=T.float64), upper=False)
    np.testing.assert_array_equal(got.numpy(), ref.numpy())


@pytest.mark.parametrize("build,text", [
    (lambda tf: tf.linalg.solve(tf.ones([2, 3, 3]), tf.ones([3, 2])),
     "Shapes must be equal rank, but are 3 and 2"),
    (lambda tf: tf.linalg.solve(tf.ones([2, 3, 3]), tf.ones([1, 3, 2])),
     "Dimensions must be equal, but are 2 and 1"),
])
def test_tf_solve_keeps_tfs_equal_batch_dims(build, text):
    with sg.Graph().as_default(), pytest.raises(ValueError, match=text):
        build(sg)


def test_tf_triangular_solve_broadcasts_batch_dims():
    a = R.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = R.standard_normal((3, 2))
    with sg.Graph().as_default():
        x = sg.linalg.triangular_solve(sg.constant(a), sg.constant(b))
        assert x.shape.as_list() == [2, 3, 2]
        with sg.Session() as sess:
            got = sess.run(x)
    np.testing.assert_allclose(got, np.linalg.solve(np.tril(a), b), rtol=1e-12)
