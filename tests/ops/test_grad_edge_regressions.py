"""Issue #9's gradient defects, checked against numpy oracles (no torch needed) in the eager
mode, the static reference executor and the compiled executor."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dynamic
import staticgraph as tf
from staticgraph import ops

MODES = ("eager", "reference", "numba")
NAN, INF = math.nan, math.inf


def run(fn, *xs: np.ndarray, mode: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """``fn(*xs)`` and the gradient of ``sum(fn(*xs))`` w.r.t. each x, in one mode."""
    with np.errstate(all="ignore"):
        if mode == "eager":
            ts = [dynamic.tensor(x, requires_grad=True) for x in xs]
            y = fn(*ts)
            y.sum().backward()
            return y.detach().numpy(), [t.grad.numpy() for t in ts]
        g = tf.Graph()
        with g.as_default():
            ps = [tf.placeholder(tf.as_dtype(x.dtype), x.shape) for x in xs]
            y = fn(*ps)
            grads = tf.gradients(ops.sum(y), ps)
            with tf.Session(executor=mode) as s:
                out = s.run([y, grads], dict(zip(ps, xs, strict=True)))
    return out[0], out[1]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))


@pytest.mark.parametrize("mode", MODES)
def test_python_float_base_pow_gradient_is_exact_in_float64(mode):
    """d/dx 3.0 ** x: log(3) in double precision, a float64 graph that builds."""
    x = np.array([0.5, 1.5, -2.0])
    y, (gx,) = run(lambda t: ops.pow(3.0, t), x, mode=mode)
    want = 3.0 ** x * math.log(3.0)
    assert gx.dtype == np.float64
    np.testing.assert_allclose(gx, want, rtol=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_python_float_base_pow_gradient_keeps_float32(mode):
    x = np.array([0.5, 1.5], np.float32)
    _, (gx,) = run(lambda t: ops.pow(2.0, t), x, mode=mode)
    assert gx.dtype == np.float32
    np.testing.assert_allclose(gx, 2.0 ** x * math.log(2.0), rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn", [ops.maximum, ops.minimum], ids=["maximum", "minimum"])
def test_max_min_send_the_gradient_to_both_sides_at_nan_and_split_ties(mode, fn):
    a = np.array([NAN, 1.0, 2.0, NAN, 3.0])
    b = np.array([1.0, NAN, 2.0, NAN, 0.0])
    y, (ga, gb) = run(fn, a, b, mode=mode)
    big = fn is ops.maximum
    np.testing.assert_array_equal(ga, [1, 1, 0.5, 1, 1 if big else 0])
    np.testing.assert_array_equal(gb, [1, 1, 0.5, 1, 0 if big else 1])
    np.testing.assert_array_equal(y, [NAN, NAN, 2, NAN, 3 if big else 0])


ROWS = np.array([[INF, 1.0, 2.0], [-INF, -INF, -INF], [NAN, 0.0, 1.0], [1e300, 1e300, 1.0],
                 [1.0, 2.0, 3.0]])


@pytest.mark.parametrize("mode", MODES)
def test_softmax_family_rows_with_inf_are_nan(mode):
    p, (gp,) = run(lambda t: ops.softmax(t, 1), ROWS, mode=mode)
    lp, (glp,) = run(lambda t: ops.log_softmax(t, 1), ROWS, mode=mode)
    ce, (gce,) = run(lambda t: ops.cross_entropy(t, np.array([1, 0, 2, 1, 2]), "none"), ROWS,
                     mode=mode)
    for out in (p, lp, gp, glp, gce):
        assert np.isnan(out[:3]).all()
        assert np.isfinite(out[3:]).all()
    assert np.isnan(ce[:3]).all()
    e = np.exp(ROWS[4] - 3)
    np.testing.assert_allclose(p[4], e / e.sum(), rtol=1e-14)
    np.testing.assert_allclose(lp[3], [-math.log(2), -math.log(2), -1e300], rtol=1e-14)
    np.testing.assert_allclose(ce[3], math.log(2), rtol=1e-14)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
def test_relu_keeps_nan_and_passes_its_gradient(mode, dt):
    x = np.array([NAN, -1.0, 0.0, 2.0, -INF, INF], dt)
    y, (gx,) = run(ops.relu, x, mode=mode)
    np.testing.assert_array_equal(y, [NAN, 0, 0, 2, 0, INF])
    np.testing.assert_array_equal(gx, [1, 0, 0, 1, 0, 1])


@pytest.mark.parametrize("mode", MODES)
def test_sign_and_abs_at_nan(mode):
    x = np.array([NAN, -0.0, -3.0, 2.0])
    s, (gs,) = run(ops.sign, x, mode=mode)
    _, (ga,) = run(ops.abs, x, mode=mode)
    np.testing.assert_array_equal(s, [0, 0, -1, 1])
    np.testing.assert_array_equal(gs, [0, 0, 0, 0])
    np.testing.assert_array_equal(ga, [0, 0, -1, 1])


@pytest.mark.parametrize("mode", MODES)
def test_pow_gradients_at_zero_base_and_zero_exponent(mode):
    """d/dx x**y is 0 where y == 0 (even at x = 0); d/dy is 0 where x == 0 and y >= 0."""
    x = np.array([0.0, 0.0, 0.0, 2.0, 0.0])
    y = np.array([0.0, 2.0, 0.5, 0.0, -1.0])
    out, (gx, gy) = run(ops.pow, x, y, mode=mode)
    np.testing.assert_array_equal(out, [1, 0, 0, 1, INF])
    np.testing.assert_array_equal(gx, [0, 0, INF, 0, -INF])
    np.testing.assert_array_equal(gy, [0, 0, 0, math.log(2), -INF])  # inf * log(0) at the end


@pytest.mark.parametrize("mode", MODES)
def test_pow_with_exponent_minus_half_is_rsqrt(mode):
    x = np.array([-INF, -0.0, 0.0, 4.0, INF])
    out, (gx,) = run(lambda t: ops.pow(t, -0.5), x, mode=mode)
    np.testing.assert_array_equal(out, [NAN, -INF, INF, 0.5, 0.0])
    np.testing.assert_array_equal(gx[3:], [-0.0625, -0.0])


@pytest.mark.parametrize("mode", MODES)
def test_full_max_of_a_nan_tensor_gives_its_gradient_to_the_nans(mode):
    x = np.array([1.0, NAN, 3.0, NAN])
    y, (gx,) = run(ops.amax, x, mode=mode)
    assert np.isnan(y)
    np.testing.assert_array_equal(gx, [0, 0.5, 0, 0.5])


@pytest.mark.parametrize("mode", MODES)
def test_div_gradient_of_the_divisor_does_not_square_it(mode):
    """-g * (x / y) / y (PyTorch's order): right where y * y over- or underflows."""
    x, y = np.array([1e300, 1e-300]), np.array([1e300, 1e-200])
    _, (gx, gy) = run(ops.div, x, y, mode=mode)
    np.testing.assert_allclose(gy, [-1e-300, -1e100], rtol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_relu_gradient_of_a_0d_tensor(mode):
    """Fuzzer seed 1522: the eager array rule of ``relu`` failed on 0-d values (numpy hands
    back scalars there, which its in-place integer passes cannot write into)."""
    for v, want in ((1.4264431782351723, 1.0), (-0.5, 0.0), (0.0, 0.0)):
        out, (gx,) = run(ops.relu, np.array(v), mode=mode)
        np.testing.assert_array_equal(out, max(v, 0.0))
        np.testing.assert_array_equal(gx, want)
