"""``remainder``'s gradient w.r.t. the divisor, per paradigm (fuzz seed 25514).

TF's ``_FloorModGrad`` gives ``-floor(x / y) * g`` and registers no gradient for the quotient,
so a second derivative through it is None; PyTorch's ``RemainderBackward`` gives
``-div(x, y, rounding_mode="floor") * g`` (Python's floor division) whose own derivative is 0.
The two quotients differ at ``x = +-inf`` (TF ``+-inf``, PyTorch NaN), at ``y = inf`` with
``x < 0`` (TF ``floor(-0.0)``, PyTorch ``-1``) and where ``x / y`` rounds up to an integer
(``1.5 / 0.1``: TF 15, PyTorch 14). The static frontend follows TF, the eager one PyTorch; the
eager second order used to run through ``div`` (``0 * (1 / y)``: NaN at ``y = NaN`` or 0).
Pinned values are TF 2.21's and torch 2.13's on these points."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dynamic
import staticgraph as tf
from staticgraph import ops

NAN, INF = math.nan, math.inf
X = np.array([INF, -INF, 1.0, 1.0, 0.0, NAN, 1.0, -1.0, 5.0, 1.5])
Y = np.array([0.368, 0.368, 0.0, -0.0, 0.0, 1.0, INF, INF, 1e-300, 0.1])
TF_GY = [-INF, INF, -INF, INF, NAN, NAN, -0.0, 0.0, -5e300, -15.0]       # TF 2.21
TORCH_GY = [NAN, NAN, -INF, INF, NAN, NAN, -0.0, 1.0, -5e300, -14.0]     # torch 2.13


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))


def _same(got: np.ndarray, want: list) -> None:
    np.testing.assert_allclose(got, np.array(want), rtol=1e-15, atol=0)


@pytest.mark.parametrize("executor", ["reference", None])
def test_static_follows_tf_and_has_no_second_derivative(executor):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [len(X)])
        y = tf.placeholder(tf.float64, [len(X)])
        gx, gy = tf.gradients(tf.math.floormod(x, y), [x, y])
        assert tf.gradients(gy, [x, y]) == [None, None]  # TF: FloorDiv stops the graph
        with np.errstate(all="ignore"), tf.Session(executor=executor) as s:
            gx_v, gy_v = s.run([gx, gy], {x: X, y: Y})
    _same(gx_v, [1.0] * len(X))
    _same(gy_v, TF_GY)


def test_eager_follows_torch_and_its_second_derivative_is_never_nan():
    x = dynamic.tensor(X, requires_grad=True)
    y = dynamic.tensor(Y, requires_grad=True)
    with np.errstate(all="ignore"):
        gx, gy = dynamic.autograd.grad(ops.sum(ops.remainder(x, y)), [x, y], create_graph=True)
        _same(gx.detach().numpy(), [1.0] * len(X))
        _same(gy.detach().numpy(), TORCH_GY)
        # d gy / d(x, y) is 0 in PyTorch (the floor quotient's own derivative), None here
        # (no path); it was 0 * (1 / y) through div: NaN at y = NaN and at y = 0
        x2 = dynamic.tensor(np.array([2.0, 3.0]), requires_grad=True)
        y2 = dynamic.tensor(np.array([NAN, 0.0]), requires_grad=True)
        _, gy2 = dynamic.autograd.grad(ops.sum(ops.remainder(ops.mul(x2, x2), y2)), [x2, y2],
                                       create_graph=True)
        h = (dynamic.autograd.grad(ops.sum(gy2), [x2, y2], allow_unused=True)
             if gy2.requires_grad else (None, None))
    for hi in h:
        assert hi is None or not np.any(hi.numpy()), hi


def test_eager_matches_torch_live():
    torch = pytest.importorskip("torch")
    xt = torch.tensor(X, requires_grad=True)
    yt = torch.tensor(Y, requires_grad=True)
    _, gyt = torch.autograd.grad(torch.remainder(xt, yt).sum(), [xt, yt])
    np.testing.assert_allclose(gyt.numpy(), np.array(TORCH_GY), rtol=1e-15)


def test_eager_remainder_second_order_is_pytorch_zeros_through_div_backward2():
    """``x % y``'s ``d/dy`` is ``-g * x.div(y, rounding_mode="floor")``: a ``MulBackward0``
    whose quotient is a ``DivBackward2`` node, so differentiating it again gives zeros (it
    raised "does not require grad" when the quotient was a non-differentiable ``//``)."""
    import dynamic as torch
    x = torch.tensor([1.5, -2.0, 3.0, -7.0], requires_grad=True)
    y = torch.tensor([0.4, 0.7, -1.1, 2.0], requires_grad=True)
    _, gy = torch.autograd.grad((x % y).sum(), (x, y), create_graph=True)
    assert type(gy.grad_fn).__name__ == "MulBackward0"
    np.testing.assert_array_equal(gy.detach().numpy(), [-3.0, 3.0, 3.0, 4.0])
    hx, hy = torch.autograd.grad(gy.sum(), (x, y))
    np.testing.assert_array_equal(hx.numpy(), np.zeros(4))
    np.testing.assert_array_equal(hy.numpy(), np.zeros(4))
    assert not np.signbit(hy.numpy()).any()


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_eager_div_rounding_mode_values_and_zero_gradient(mode):
    import dynamic as torch
    a, b = np.array([-7, 7, -8, 9, 0]), np.array([2, -2, 3, 3, -4])
    want = np.floor_divide(a, b) if mode == "floor" else np.fix(a / b).astype(a.dtype)
    got = torch.tensor(a).div(torch.tensor(b), rounding_mode=mode)
    assert got.dtype == torch.int64
    np.testing.assert_array_equal(got.numpy(), want)
    x = torch.tensor(a / 1.5, requires_grad=True)
    q = torch.div(x, torch.tensor(b, dtype=torch.float64), rounding_mode=mode)
    assert type(q.grad_fn).__name__ == "DivBackward2"
    (g,) = torch.autograd.grad(q, x, grad_outputs=torch.tensor([np.nan, 1.0, -1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g.numpy(), np.zeros(5))  # PyTorch: zeros even for NaN
    with pytest.raises(RuntimeError, match="rounding_mode"):
        x.div(x, rounding_mode="round")
