"""TF1's linear algebra and index functions of issue #15 (``tf.linalg.solve``/``matrix_solve``,
``det``/``matrix_determinant``, ``slogdet``, ``cholesky``, ``triangular_solve``, ``scatter_nd``,
``meshgrid``, ``roll``): values and gradients on every executor against numpy and central
differences, and against TensorFlow's ``compat.v1`` where it is installed; run-time errors."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pytest

import staticgraph as sg

from .conftest import check_case_against_numpy, check_case_against_tensorflow

RNG = np.random.default_rng(150)


def _m(*shape: int, shift: float = 3.0) -> np.ndarray:
    """Well-conditioned square matrices (the last two dims)."""
    return RNG.standard_normal(shape) + shift * np.eye(shape[-1])


def _a(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def _spd(tf, x):
    """A symmetric positive definite matrix from any square ``x`` (so the gradient w.r.t.
    ``x`` is well defined for cholesky, whose kernel reads one triangle)."""
    n = x.shape.as_list()[-1]
    return tf.matmul(x, x, transpose_b=True) + 2.0 * tf.eye(n, dtype=x.dtype)


def _np_spd(x: np.ndarray) -> np.ndarray:
    return x @ np.swapaxes(x, -1, -2) + 2.0 * np.eye(x.shape[-1])


def _roll2(x: np.ndarray) -> np.ndarray:
    return np.roll(x, (2 - 1, 3), (1, 2))


IDX = np.array([[1, 0], [2, 2], [1, 0]])  # a repeated index tuple: the updates add up

# name -> (build(tf, *inputs) -> tensor, numpy function, input arrays)
CASES: dict[str, tuple[Callable, Callable, list[np.ndarray]]] = {
    "solve": (lambda tf, a, b: tf.linalg.solve(a, b), np.linalg.solve, [_m(3, 3), _a(3, 2)]),
    "matrix_solve_batch": (lambda tf, a, b: tf.matrix_solve(a, b), np.linalg.solve,
                           [_m(2, 3, 3), _a(2, 3, 1)]),
    "solve_adjoint": (lambda tf, a, b: tf.linalg.solve(a, b, adjoint=True),
                      lambda a, b: np.linalg.solve(a.T, b), [_m(4, 4), _a(4, 3)]),
    "det": (lambda tf, a: tf.linalg.det(a), np.linalg.det, [_m(3, 3)]),
    "matrix_determinant_batch": (lambda tf, a: tf.matrix_determinant(a), np.linalg.det,
                                 [_m(2, 4, 4, shift=-2.0)]),
    "slogdet_log": (lambda tf, a: tf.linalg.slogdet(a)[1],
                    lambda a: np.linalg.slogdet(a)[1], [_m(2, 3, 3, shift=-3.0)]),
    "cholesky": (lambda tf, x: tf.cholesky(_spd(tf, x)),
                 lambda x: np.linalg.cholesky(_np_spd(x)), [_a(3, 3)]),
    "linalg_cholesky_batch": (lambda tf, x: tf.linalg.cholesky(_spd(tf, x)),
                              lambda x: np.linalg.cholesky(_np_spd(x)), [_a(2, 4, 4)]),
    "triangular_solve_lower": (lambda tf, a, b: tf.matrix_triangular_solve(a, b),
                               lambda a, b: np.linalg.solve(np.tril(a), b),
                               [_m(3, 3), _a(3, 2)]),
    "triangular_solve_upper_adjoint": (
        lambda tf, a, b: tf.linalg.triangular_solve(a, b, lower=False, adjoint=True),
        lambda a, b: np.linalg.solve(np.swapaxes(np.triu(a), -1, -2), b),
        [_m(2, 3, 3), _a(2, 3, 2)]),
    "scatter_nd": (lambda tf, u: tf.scatter_nd(IDX, u, [3, 3, 2]),
                   lambda u: _scatter(IDX, u, (3, 3, 2)), [_a(3, 2)]),
    "scatter_nd_scalars": (lambda tf, u: tf.scatter_nd([[4], [0], [4]], u, [6]),
                           lambda u: _scatter(np.array([[4], [0], [4]]), u, (6,)), [_a(3)]),
    "roll": (lambda tf, x: tf.roll(x, [2, -1, 3], [1, 1, -1]), _roll2, [_a(2, 3, 5)]),
    "manip_roll_scalar": (lambda tf, x: tf.manip.roll(x, -2, 0),
                          lambda x: np.roll(x, -2, 0), [_a(5, 2)]),
    "meshgrid_xy": (lambda tf, x, y: tf.stack(tf.meshgrid(x, y)),
                    lambda x, y: np.stack(np.meshgrid(x, y)), [_a(3), _a(4)]),
    "meshgrid_ij_3d": (lambda tf, x, y, z: tf.stack(tf.meshgrid(x, y, z, indexing="ij")),
                       lambda x, y, z: np.stack(np.meshgrid(x, y, z, indexing="ij")),
                       [_a(2), _a(3), _a(4)]),
    "meshgrid_xy_3d": (lambda tf, x, y, z: tf.stack(tf.meshgrid(x, y, z)),
                       lambda x, y, z: np.stack(np.meshgrid(x, y, z)), [_a(2), _a(3), _a(4)]),
}


def _scatter(idx: np.ndarray, u: np.ndarray, shape: tuple) -> np.ndarray:
    out = np.zeros(shape)
    for i, row in zip(idx, u, strict=True):
        out[tuple(i)] += row
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_numpy(name, executor):
    check_case_against_numpy(CASES[name], executor, rtol=1e-11)


@pytest.mark.parametrize("name", sorted(CASES))
def test_shapes_values_and_gradients_match_tensorflow(name):
    check_case_against_tensorflow(CASES[name], rtol=1e-4, atol=1e-5)


def test_slogdet_sign_and_float32_accuracy(executor):
    """The sign output, no overflow where ``det`` overflows, and float32 results computed in
    float64 (as accurate as float32 holds)."""
    a = sg.placeholder(sg.float32, [2, 3, 3])
    sign, logdet = sg.linalg.slogdet(a)
    big = sg.placeholder(sg.float64, [60, 60])
    big_sign, big_log = sg.linalg.slogdet(big)
    v = np.stack([_m(3, 3), _m(3, 3, shift=-3.0)]).astype(np.float32)
    v[1, 0] = -v[1, 0]
    bv = 1e6 * np.eye(60)
    bv[0, 0] = -1e6
    with sg.Session(executor=executor) as sess:
        s, ld, bs, bl = sess.run([sign, logdet, big_sign, big_log], {a: v, big: bv})
    ws, wl = np.linalg.slogdet(v.astype(np.float64))
    np.testing.assert_array_equal(s, ws)
    np.testing.assert_allclose(ld, wl, rtol=1e-6)
    assert (bs, bl) == (-1.0, pytest.approx(60 * np.log(1e6)))
    assert s.dtype == ld.dtype == np.float32 and sign.shape.as_list() == [2]


@pytest.mark.parametrize("build,feed,text", [
    (lambda tf, a: tf.linalg.solve(a, tf.ones([3, 1], tf.float64)), np.ones((3, 3)),
     "Input matrix is not invertible."),
])
def test_run_time_errors_name_the_problem(build, feed, text, executor):
    a = sg.placeholder(sg.float64, [3, 3])
    out = build(sg, a)
    with sg.Session(executor=executor) as sess:
        with pytest.raises(sg.errors.InvalidArgumentError, match=text):
            sess.run(out, {a: feed})
        assert sess.run(out, {a: 4 * np.eye(3)}).shape  # the session still runs


@pytest.mark.parametrize("build,exc,text", [
    (lambda tf: tf.linalg.solve(tf.zeros([3, 2]), tf.zeros([3, 1])), ValueError,
     "Dimensions must be equal, but are 3 and 2"),
    (lambda tf: tf.linalg.det(tf.zeros([3])), ValueError,
     "Shape must be at least rank 2 but is rank 1"),
    (lambda tf: tf.cholesky(tf.zeros([2, 2], tf.int32)), TypeError, "DataType int32"),
    (lambda tf: tf.roll(tf.zeros([2, 3]), [1, 2], [0]), ValueError, "shift and axis"),
    (lambda tf: tf.meshgrid(tf.zeros([2]), indexing="xx"), ValueError, "'xy' or 'ij'"),
    (lambda tf: tf.scatter_nd([[0], [1]], tf.zeros([3]), [4]), ValueError,
     r"updates\[shape=\[3\]\]"),
])
def test_build_errors(build, exc, text):
    with pytest.raises(exc, match=text):
        build(sg)


def test_linalg_records_run_as_logged_numpy_steps_in_compiled_plans(caplog, tmp_path,
                                                                     monkeypatch):
    """The compiler has no scalar form for LAPACK kernels: it runs them as numpy fallback steps
    inside the plan (no reference-executor detour), and its log says so when it builds it."""
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))  # a fresh plan, not a cached one
    a = sg.placeholder(sg.float64, [3, 3])
    b = sg.placeholder(sg.float64, [3, 2])
    x = sg.linalg.solve(a, b) * 2.0 + sg.linalg.det(a)
    with caplog.at_level(logging.INFO, logger="staticgraph.compiler"):
        with sg.Session(executor="numba") as sess:
            got = sess.run(x, {a: 2 * np.eye(3), b: np.ones((3, 2))})
    np.testing.assert_allclose(got, np.full((3, 2), 1.0 + 8.0))
    text = caplog.text
    assert "fallback[matrix_solve]" in text or "fallback[matrix_determinant]" in text
    assert "using the reference executor" not in text


def test_solve_of_an_ill_conditioned_normal_equation_is_float32_accurate():
    """The issue's 9x9 normal-equation case, through solve: the float32 system is solved in
    float64 and rounded once (an elimination in float32 would lose digits here)."""
    x = np.vander(np.linspace(0, 1, 20), 9).astype(np.float32)
    y = np.linspace(-1, 1, 20).astype(np.float32)[:, None]
    xt = sg.constant(x)
    gram = sg.matmul(xt, xt, transpose_a=True)
    rhs = sg.matmul(xt, sg.constant(y), transpose_a=True)
    w = sg.linalg.solve(gram, rhs)
    with sg.Session() as sess:
        got, g, r = sess.run([w, gram, rhs])
    assert np.linalg.cond(g.astype(np.float64)) > 1e6
    want = np.linalg.solve(g.astype(np.float64), r.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(got, want)


def test_cholesky_of_a_matrix_that_is_not_positive_definite_is_nan(executor):
    """TF 2's kernel (the oracle): NaN in the lower triangle of each failing matrix, the
    others factored (TF 1.x raised InvalidArgumentError)."""
    a = sg.placeholder(sg.float64, [2, 3, 3])
    c = sg.cholesky(a)
    good = _np_spd(_a(3, 3))
    with sg.Session(executor=executor) as sess:
        got = sess.run(c, {a: np.stack([good, -np.eye(3)])})
    np.testing.assert_allclose(got[0], np.linalg.cholesky(good), rtol=1e-12)
    assert np.isnan(got[1][np.tril_indices(3)]).all() and not got[1][np.triu_indices(3, 1)].any()


def test_triangular_solve_with_a_zero_on_the_diagonal_substitutes_on(executor):
    """As TF's kernel: no singularity check, the substitution gives inf/nan."""
    a = sg.placeholder(sg.float64, [3, 3])
    b = sg.ones([3, 1], sg.float64)
    lo = sg.linalg.triangular_solve(a, b)
    up = sg.linalg.triangular_solve(sg.transpose(a), b, lower=False, adjoint=True)
    with sg.Session(executor=executor) as sess:
        got = sess.run([lo, up], {a: np.array([[1.0, 0, 0], [2, 0, 0], [1, 1, 2]])})
    for g in got:
        np.testing.assert_array_equal(g.ravel(), [1.0, -np.inf, np.inf])


def test_second_derivatives_through_the_gradient_rules():
    """The VJPs are built from differentiable ops: ``tf.hessians`` of ``log|det A|`` is
    ``-A^-1 (x) A^-1`` and that of ``|A^-1 1|^2`` matches central differences of its gradient."""
    a = sg.placeholder(sg.float64, [3, 3])
    h_logdet = sg.hessians(sg.linalg.slogdet(a)[1], a)[0]
    h_solve = sg.hessians(sg.reduce_sum(sg.linalg.solve(a, sg.ones([3, 1], sg.float64)) ** 2),
                          a)[0]
    av = _m(3, 3)
    with sg.Session() as sess:
        hl, hs = sess.run([h_logdet, h_solve], {a: av})
    inv = np.linalg.inv(av)
    np.testing.assert_allclose(hl, -np.einsum("jk,li->ijkl", inv, inv), rtol=1e-10, atol=1e-12)

    def grad(m: np.ndarray) -> np.ndarray:
        x = np.linalg.solve(m, np.ones((3, 1)))
        return -np.linalg.inv(m).T @ (2 * x) @ x.T

    for k in range(3):
        for j in range(3):
            e = np.zeros((3, 3))
            e[k, j] = 1e-6
            np.testing.assert_allclose(hs[:, :, k, j], (grad(av + e) - grad(av - e)) / 2e-6,
                                       rtol=1e-6, atol=1e-8)


def test_unknown_batch_dims(executor):
    """Placeholders with an unknown batch dim: shapes ``(?, ...)``; values and gradients."""
    a = sg.placeholder(sg.float64, [None, 3, 3])
    b = sg.placeholder(sg.float64, [None, 3, 2])
    x = sg.linalg.solve(a, b)
    d = sg.linalg.det(a)
    c = sg.cholesky(sg.matmul(a, a, transpose_b=True))
    ga, gb = sg.gradients(sg.reduce_sum(x) + sg.reduce_sum(d), [a, b])
    assert x.shape.as_list() == [None, 3, 2] and d.shape.as_list() == [None]
    av, bv = _m(4, 3, 3), _a(4, 3, 2)
    with sg.Session(executor=executor) as sess:
        xv, dv, cv, gav, gbv = sess.run([x, d, c, ga, gb], {a: av, b: bv})
    np.testing.assert_allclose(xv, np.linalg.solve(av, bv), rtol=1e-12)
    np.testing.assert_allclose(dv, np.linalg.det(av), rtol=1e-12)
    np.testing.assert_allclose(cv, np.linalg.cholesky(av @ np.swapaxes(av, -1, -2)), rtol=1e-12)
    at = np.swapaxes(av, -1, -2)
    want_gb = np.linalg.solve(at, np.ones_like(bv))
    np.testing.assert_allclose(gbv, want_gb, rtol=1e-10)
    want_ga = -want_gb @ np.swapaxes(xv, -1, -2) + dv[:, None, None] * np.linalg.inv(at)
    np.testing.assert_allclose(gav, want_ga, rtol=1e-10, atol=1e-12)
