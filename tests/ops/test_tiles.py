"""The tiled kernels (``staticgraph/ops/tiles.py``) and the single-pass numpy VJPs of issue #12:
tile by tile gives the bits of one whole-array call, for every dtype, layout and size around the
tile boundaries; float32 stays float32; the optimizers' tiled update is ``p + g * -lr`` exactly
and makes no full-size temporary."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import dynamic
from staticgraph.ops import tiles
from staticgraph.ops.elementwise import _np_relu, _np_sigmoid_vjp, _np_tanh_vjp, _relu_impl

DTYPES = (np.float16, np.float32, np.float64)
EDGES = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-3, -1e-30, 90.0, -90.0, 800.0, -800.0]


def _sizes(dt) -> list[int]:
    step = tiles.TILE_BYTES // np.dtype(dt).itemsize
    return [0, 1, 7, 2 * step, 2 * step + 1, 3 * step + 5]


def _data(n: int, dt, seed: int = 0) -> np.ndarray:
    x = (np.random.default_rng(seed).standard_normal(n) * 30).astype(dt)
    k = min(n, len(EDGES))
    with np.errstate(over="ignore"):
        x[:k] = np.asarray(EDGES[:k]).astype(dt)
    return x


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(
        np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


@pytest.mark.parametrize("dt", DTYPES)
def test_sigmoid_tiles_give_the_stable_formula_bits(dt):
    for n in _sizes(dt):
        x = _data(n, dt)
        assert _same_bits(tiles.sigmoid(x), _stable_sigmoid(x)), n
    x = _data(3 * _sizes(dt)[3] + 10, dt).reshape(-1, 2)
    for view in (x, x.T, x[::2], np.asfortranarray(x)):  # 2-D, transposed, strided, F-order
        assert _same_bits(tiles.sigmoid(view), _stable_sigmoid(view))
    assert _same_bits(tiles.sigmoid(np.asarray(dt(-3.0))), _stable_sigmoid(np.asarray(dt(-3.0))))


@pytest.mark.parametrize("dt", DTYPES)
def test_tanh_and_sigmoid_vjps_tiled_give_the_whole_array_bits(dt):
    for n in _sizes(dt):
        g, y = _data(n, dt, 1), np.tanh(_data(n, dt, 2))
        with np.errstate(invalid="ignore", over="ignore"):
            assert _same_bits(_np_tanh_vjp(g, y), g * (1 - y * y)), n
            s = _stable_sigmoid(_data(n, dt, 3))
            assert _same_bits(_np_sigmoid_vjp(g, s), g * (s * (1 - s))), n
            # ``sum``'s backward hands on a broadcast scalar (every stride 0)
            gb = np.broadcast_to(np.asarray(dt(2.5)), y.shape)
            assert _same_bits(_np_tanh_vjp(gb, y), gb * (1 - y * y)), n
            gt = _data(2 * n, dt, 4)[::2]  # a strided cotangent: one whole-array call
            assert _same_bits(_np_sigmoid_vjp(gt, s), gt * (s * (1 - s))), n


@pytest.mark.parametrize("dt", (np.float32, np.float64))
def test_relu_vjp_is_pytorchs_threshold_backward_bit_for_bit(dt):
    x = _data(5000, dt).reshape(50, 100)
    out = _relu_impl(x)
    g = _data(5000, dt, 7).reshape(50, 100)
    (got,) = _np_relu(g, out, (True,), x)
    assert _same_bits(got, np.where(out <= 0, dt(0), g))
    assert got.dtype == dt


@pytest.mark.parametrize("dt", (np.float16, np.float32, np.float64))
def test_add_scaled_is_the_two_pass_update(dt):
    for n in _sizes(dt)[1:]:
        d, g = _data(n, dt, 5), _data(n, dt, 6)
        with np.errstate(over="ignore", invalid="ignore"):
            ref = np.add(d, np.multiply(g, -0.1))
            tiles.add_scaled(d, g, -0.1)
        assert _same_bits(d, ref), n


def test_sgd_step_in_place_exact_and_without_a_full_size_temporary():
    n = 1 << 20
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(n).astype(np.float32)
    p = dynamic.tensor(p0.copy(), requires_grad=True)
    opt = dynamic.optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    g = p.grad.numpy().copy()
    data, version = p.detach().numpy(), p._version
    tracemalloc.start()
    try:
        opt.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < n  # a tile-sized temporary, not n float32 (4n bytes)
    assert p.detach().numpy() is data or np.shares_memory(p.detach().numpy(), data)
    assert p.dtype == dynamic.float32 and p._version == version + 1
    assert _same_bits(p.detach().numpy(), p0 + g * np.float32(-0.1))
    assert _same_bits(p.grad.numpy(), g)  # the gradient is left alone


def test_large_chain_matches_torch_and_stays_float32():
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(0).uniform(-2, 2, 300_001).astype(np.float32)

    def chain(T, x):
        a = T.tanh(x)
        c = T.exp(T.sigmoid(a * 1.5) * -1.0)
        return T.tanh(c * x + a).sum()

    xd = dynamic.tensor(x0, requires_grad=True)
    (gd,) = dynamic.autograd.grad(chain(dynamic, xd), [xd])
    xt = torch.tensor(x0, requires_grad=True)
    (gt,) = torch.autograd.grad(chain(torch, xt), [xt])
    assert gd.dtype == dynamic.float32
    np.testing.assert_allclose(gd.numpy(), gt.numpy(), rtol=2e-6, atol=1e-6)
