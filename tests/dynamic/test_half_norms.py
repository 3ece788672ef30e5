"""float16 normalization layers compute in float32 and round once (PyTorch's opmath), forward
and backward: ``layer_norm``, ``group_norm``, ``batch_norm`` (train and eval) and
``instance_norm`` (fuzz case ``f16-eager-layer-norm-steps``: float16 steps were 2 ulp off).
The vector norms (``vector_norm`` and its callers) likewise: float16 squares of 300 overflowed.
The truth is the same call run in float64; a value rounded once is within half an ulp of it
(0.6 allows float32's own error at a tie)."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
import dynamic.nn.functional as F

ULP_BOUND = 0.6


def _ulps(got: np.ndarray, truth: np.ndarray) -> float:
    """The largest error of ``got`` in float16 ulps of the rounded truth."""
    spacing = np.spacing(np.abs(truth.astype(np.float16))).astype(np.float64)
    return float((np.abs(got.astype(np.float64) - truth) / spacing).max())


def _data(shape, wshape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.5, 1 + 3 * rng.random(), shape).astype(np.float16)
    w = rng.normal(1, 0.5, wshape).astype(np.float16)
    b = rng.normal(0, 0.5, wshape).astype(np.float16)
    g = rng.normal(0, 1, shape).astype(np.float16)
    return x, w, b, g


def _run(fn, arrays, dt):
    """The layer's output and the gradients of ``x``, ``w``, ``b`` under cotangent ``g``."""
    x, w, b, g = arrays
    ts = [dynamic.tensor(a.astype(dt), requires_grad=True) for a in (x, w, b)]
    y = fn(*ts)
    y.backward(dynamic.tensor(g.astype(dt)))
    return [y.detach().numpy()] + [t.grad.numpy() for t in ts]


LAYERS = {
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (16,), w, b), (4, 16), (16,), 4),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), (3, 4, 5), (4,), 4),
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                   (6, 4, 5), (4,), 4),
    # weight and bias are repeated N times before the layer (PyTorch's composition too): their
    # gradients sum N float16 values outside it; checked: the output and x's gradient
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (3, 4, 5), (4,), 2),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_float16_norm_is_float32_rounded_once(name):
    fn, shape, wshape, checked = LAYERS[name]
    for seed in range(8):
        arrays = _data(shape, wshape, seed)
        got, truth = _run(fn, arrays, np.float16), _run(fn, arrays, np.float64)
        for k in range(checked):
            assert got[k].dtype == np.float16
            assert _ulps(got[k], truth[k]) <= ULP_BOUND, (seed, k, _ulps(got[k], truth[k]))


def test_float16_batch_norm_eval_uses_float32_running_stats():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 2, (5, 3, 4)).astype(np.float16)
    rm = rng.normal(0, 1, 3).astype(np.float16)
    rv = rng.uniform(0.01, 0.1, 3).astype(np.float16)  # a small variance: 1/std scales errors
    got = F.batch_norm(dynamic.tensor(x), dynamic.tensor(rm), dynamic.tensor(rv)).numpy()
    truth = (x.astype(np.float64) - rm[:, None].astype(np.float64)) / np.sqrt(
        rv[:, None].astype(np.float64) + 1e-5)
    assert got.dtype == np.float16 and _ulps(got, truth) <= ULP_BOUND


def test_float16_layer_norm_forward_matches_torch_bit_for_bit():
    """PyTorch's float16 layer_norm/group_norm forward: float32 inside, rounded once (its
    float16 backward rounds inside and is further from the truth than ours: not compared)."""
    torch = pytest.importorskip("torch")
    for seed in range(6):
        x, w, b, _ = _data((4, 16), (16,), seed)
        got = F.layer_norm(dynamic.tensor(x), (16,), dynamic.tensor(w), dynamic.tensor(b))
        want = torch.nn.functional.layer_norm(torch.from_numpy(x), (16,), torch.from_numpy(w),
                                              torch.from_numpy(b))
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        x, w, b, _ = _data((3, 4, 5), (4,), seed)
        got = F.group_norm(dynamic.tensor(x), 2, dynamic.tensor(w), dynamic.tensor(b))
        want = torch.nn.functional.group_norm(torch.from_numpy(x), 2, torch.from_numpy(w),
                                              torch.from_numpy(b))
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_mixed_float16_input_float32_weight_keeps_its_dtype():
    """Only the float16 tensors are widened; the result has the dtype it had before (the
    promotion of the inputs'), so a float32 weight still gives float32."""
    x = dynamic.tensor(np.linspace(-2, 2, 8, dtype=np.float16).reshape(2, 4))
    w = dynamic.tensor(np.ones(4, np.float32))
    assert F.layer_norm(x, (4,), w).dtype == dynamic.float32
    assert F.layer_norm(x, (4,)).dtype == dynamic.float16


NORMS = {  # name -> the call, on the module ``m`` (dynamic or torch)
    "vector_norm": lambda m, x: m.linalg.vector_norm(x, dim=1),
    "vector_norm_all": lambda m, x: m.linalg.vector_norm(x),
    "vector_norm_p3": lambda m, x: m.linalg.vector_norm(x, 3, dim=1),
    "vector_norm_p0.5": lambda m, x: m.linalg.vector_norm(x, 0.5, dim=0),
    "linalg_norm": lambda m, x: m.linalg.norm(x),
    "matrix_norm_fro": lambda m, x: m.linalg.matrix_norm(x),
    "tensor_norm": lambda m, x: x.norm(dim=0),
    "dist": lambda m, x: m.dist(x[:2], x[2:]),
}


def _norm_data(seed: int) -> np.ndarray:
    scale = 300.0 if seed % 2 else 3.0  # 300 ** 2 overflows float16 (65504)
    return (np.random.default_rng(seed).normal(0, 1, (4, 6)) * scale).astype(np.float16)


@pytest.mark.parametrize("name", sorted(NORMS))
def test_float16_norms_are_float32_rounded_once(name):
    """The eager norms of float16 (``vector_norm`` and what calls it: ``linalg.norm``,
    ``matrix_norm('fro')``, ``Tensor.norm``, ``dist``) compute in float32 and round once: the
    value and ``x``'s gradient within half an ulp of the float64 run (``dist`` rounds its
    difference to float16 first, as PyTorch's ``norm(x - y)``: its gradient within 1.1 ulp)."""
    fn = NORMS[name]
    for seed in range(6):
        a = _norm_data(seed)
        runs = []
        for dt in (np.float16, np.float64):
            x = dynamic.tensor(a.astype(dt), requires_grad=True)
            y = fn(dynamic, x)
            y.sum().backward()
            runs.append((y.detach().numpy(), x.grad.numpy()))
        (y16, g16), (y64, g64) = runs
        assert y16.dtype == g16.dtype == np.float16
        assert np.isfinite(y16).all()
        assert _ulps(y16, y64) <= ULP_BOUND
        assert _ulps(g16, g64) <= (1.1 if name == "dist" else ULP_BOUND), (seed, _ulps(g16, g64))


@pytest.mark.parametrize("name", sorted(NORMS))
def test_float16_norms_match_torch_bit_for_bit(name):
    torch = pytest.importorskip("torch")
    fn = NORMS[name]
    for seed in range(6):
        a = _norm_data(seed)
        got = fn(dynamic, dynamic.tensor(a)).numpy()
        np.testing.assert_array_equal(got, fn(torch, torch.from_numpy(a)).numpy())
