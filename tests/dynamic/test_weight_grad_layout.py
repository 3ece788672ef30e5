"""The layout of weight gradients: ``nn.Linear``'s weight reaches its product transposed
(``input @ weight.T``), and its ``.grad`` is C-contiguous with PyTorch's strides, computed by
the same GEMM transposed (no copy); before, it was the transpose of a C array (F-order), and
every optimizer update of the C-order weight ran as a strided loop."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic


def _linear_grads(lib, x: np.ndarray, w: np.ndarray, b: np.ndarray):
    layer = lib.nn.Linear(w.shape[1], w.shape[0])
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(w))
        layer.bias.copy_(lib.tensor(b))
    lib.relu(layer(lib.tensor(x))).square().sum().backward()
    return layer.weight.grad, layer.bias.grad


def _reference(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = x.astype(np.float64) @ w.T.astype(np.float64) + b
    g = 2 * np.maximum(z, 0) * (z > 0)
    return g.T @ x, g.sum(axis=0)


@pytest.mark.parametrize("shape", [(32, 20, 12), (1, 7, 3), (5, 1, 4)])
def test_linear_weight_grad_is_c_contiguous_and_right(shape):
    n, fin, fout = shape
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, fin)).astype(np.float32)
    w = rng.normal(size=(fout, fin)).astype(np.float32)
    b = rng.normal(size=fout).astype(np.float32)
    gw, gb = _linear_grads(dynamic, x, w, b)
    arr = gw.numpy()
    assert arr.flags.c_contiguous and gw.is_contiguous()
    assert fin == 1 or arr.strides == (4 * fin, 4)  # (a size-1 dim's stride is free)
    want_w, want_b = _reference(x, w, b)
    np.testing.assert_allclose(arr, want_w, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gb.numpy(), want_b, rtol=1e-5, atol=1e-5)


def test_linear_weight_grad_strides_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 48)).astype(np.float32)
    w = rng.normal(size=(24, 48)).astype(np.float32)
    b = rng.normal(size=24).astype(np.float32)
    ours, _ = _linear_grads(dynamic, x, w, b)
    theirs, _ = _linear_grads(torch, x, w, b)
    assert ours.numpy().strides == theirs.numpy().strides
    assert ours.is_contiguous() == theirs.is_contiguous() is True
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("left_t, right_t", [(True, False), (False, True), (True, True)])
def test_a_product_of_transposed_leaves_gives_each_the_layout_of_its_leaf(left_t, right_t):
    """``leaf.t()`` on either side of a product (or both): each leaf's gradient is C-contiguous
    like the leaf, with the values of the plain rule."""
    rng = np.random.default_rng(2)
    l0 = rng.normal(size=(5, 6)).astype(np.float32)
    r0 = rng.normal(size=(6, 4)).astype(np.float32)
    a = dynamic.tensor(l0.T.copy() if left_t else l0, requires_grad=True)
    b = dynamic.tensor(r0.T.copy() if right_t else r0, requires_grad=True)
    left, right = a.t() if left_t else a, b.t() if right_t else b
    (left @ right).square().sum().backward()
    lv, rv = l0.astype(np.float64), r0.astype(np.float64)
    g = 2 * (lv @ rv)
    for leaf, t, want in ((a, left_t, g @ rv.T), (b, right_t, lv.T @ g)):
        got = leaf.grad.numpy()
        assert got.flags.c_contiguous
        np.testing.assert_allclose(got, want.T if t else want, rtol=1e-5, atol=1e-5)
