"""``prod``, ``cumprod`` and ``cumsum`` gradients with zeros, infinities and NaN (issue #9), in
the eager mode and on the static reference and compiled executors, against brute-force numpy
oracles (no torch needed); second derivatives against finite differences.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import dynamic
import staticgraph as tf
from staticgraph import ops

MODES = ("eager", "reference", "numba")
INF, NAN = math.inf, math.nan


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))


def run(fns: dict, x: np.ndarray, mode: str, seed: np.ndarray | None = None) -> dict:
    """``{name: (fn(x), d sum(fn(x) * seed) / dx)}`` for each fn, in one mode (one graph)."""
    with np.errstate(all="ignore"):
        if mode == "eager":
            out = {}
            for name, fn in fns.items():
                t = dynamic.tensor(x, requires_grad=True)
                y = fn(t)
                w = np.ones(tuple(y.shape), x.dtype) if seed is None else seed
                y.backward(dynamic.tensor(w))
                out[name] = (y.detach().numpy(), t.grad.numpy())
            return out
        g = tf.Graph()
        with g.as_default():
            p = tf.placeholder(tf.as_dtype(x.dtype), [None] * x.ndim)
            fetch = {}
            for name, fn in fns.items():
                y = fn(p)
                fetch[name] = (y, tf.gradients(y, [p], grad_ys=seed)[0])
            with tf.Session(graph=g, executor=mode) as s:
                return s.run(fetch, {p: x})


def others(row: np.ndarray) -> np.ndarray:
    """The product of the other elements, one by one (NaN/inf follow any order)."""
    with np.errstate(all="ignore"):
        return np.array([np.prod(np.delete(row, i)) for i in range(row.size)], row.dtype)


def same(got: np.ndarray, want: np.ndarray, rtol: float = 1e-6) -> None:
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0, equal_nan=True)


ROWS = np.array([[2.0, 0.0, 3.0, 0.5], [INF, 2.0, 0.0, 1.0], [NAN, 0.0, 1.0, 2.0],
                 [3e38, 3e38, 0.5, 0.0], [0.0, INF, 2.0, -1.0], [1.5, -2.0, 4.0, 0.25],
                 [INF, 2.0, 3.0, 1.0], [0.0, 0.0, 2.0, 3.0]], np.float32)


@pytest.mark.parametrize("mode", MODES)
def test_prod_gradient_is_the_product_of_the_others(mode):
    """The tensor holds zeros, so every slice's gradient is the product of its other elements
    (PyTorch's ``prod_safe_zeros_backward``), finite where they are, even next to inf/NaN or
    an overflowing product: ``prod / x`` gave NaN or inf there."""
    fns = {"dim": lambda t: ops.prod(t, 1), "keep": lambda t: ops.prod(t, 1, keepdim=True),
           "dim0": lambda t: ops.prod(t[:3], 0), "all": lambda t: ops.prod(t[1]),
           "all2d": lambda t: ops.prod(t[4:6]), "zeros2": lambda t: ops.prod(t[3:5])}
    got = run(fns, ROWS, mode)
    with np.errstate(all="ignore"):
        want = np.stack([others(r) for r in ROWS])
        same(got["dim"][0], np.prod(ROWS, 1))
        same(got["dim"][1], want)
        same(got["keep"][1], want)
        cols = np.stack([others(c) for c in ROWS[:3].T]).T
        same(got["dim0"][1][:3], cols)
        assert not got["dim0"][1][3:].any()
        same(got["all"][1][1], others(ROWS[1]))
        same(got["all2d"][1][4:6], others(ROWS[4:6].reshape(-1)).reshape(2, 4))
        assert not got["zeros2"][1].any()  # a full product with two zeros: 0 (PyTorch)


@pytest.mark.parametrize("mode", MODES)
def test_prod_gradient_without_zeros_is_prod_over_x(mode):
    """No zero anywhere: PyTorch's ``g * prod / x`` (NaN at an inf element, inf elsewhere in
    its row), exact for finite rows."""
    x = ROWS[[5, 6]]
    (y, gx), = run({"p": lambda t: ops.prod(t, 1)}, x, mode).values()
    same(gx[0], others(x[0]))
    assert np.isnan(gx[1, 0]) and np.all(np.isinf(gx[1, 1:]))


def cumprod_grad(x: np.ndarray, g: np.ndarray, exclusive: bool, reverse: bool) -> np.ndarray:
    """Brute force: d/dx_i sum_j g_j out_j, out_j the product of x_m for m <= j (m < j when
    exclusive), scanning from the end when ``reverse``."""
    if reverse:
        return cumprod_grad(x[..., ::-1], g[..., ::-1], exclusive, False)[..., ::-1]
    out = np.zeros_like(x)
    n = x.shape[-1]
    for r, i, j in itertools.product(range(x.shape[0]), range(n), range(n)):
        stop = j if exclusive else j + 1  # out_j = prod(x[:stop])
        if i < stop:
            out[r, i] += g[r, j] * np.prod([x[r, m] for m in range(stop) if m != i])
    return out


ZROWS = np.array([[1.5, -0.5, 2.0, 0.75, 1.25], [0.0, 2.0, -1.5, 0.5, 3.0],
                  [1.5, 2.0, 0.0, -0.5, 1.25], [1.0, 0.0, 2.0, 0.0, 0.75],
                  [0.5, 1.5, -1.25, 2.0, 0.0], [0.0, 0.0, 0.0, 2.0, 1.0]])


@pytest.mark.parametrize("mode", MODES)
def test_cumprod_values_and_gradients_with_zeros(mode):
    """cumprod, TF's ``exclusive``/``reverse`` included, on rows holding no zero, one zero
    (first, inner, last) and several, with a non-uniform cotangent."""
    seed = np.arange(1, ZROWS.size + 1, dtype=np.float64).reshape(ZROWS.shape) / 7
    flags = list(itertools.product((False, True), (False, True)))
    if mode == "numba":  # ~0.8 s per kernel compile: the edge table has the forward ones
        flags = [(True, True)]
    fns = {(e, r): (lambda t, e=e, r=r: ops.cumprod(t, 1, reverse=r, exclusive=e))
           for e, r in flags}
    got = run(fns, ZROWS, mode, seed)
    for e, r in flags:
        want = ops.cumprod(ZROWS, 1, reverse=r, exclusive=e)
        ref = np.cumprod(ZROWS[:, ::-1] if r else ZROWS, 1)
        if e:
            ref = np.concatenate([np.ones((ZROWS.shape[0], 1)), ref[:, :-1]], 1)
        np.testing.assert_array_equal(want, ref[:, ::-1] if r else ref)
        same(got[e, r][0], want, 1e-15)
        same(got[e, r][1], cumprod_grad(ZROWS, seed, e, r), 1e-14)


@pytest.mark.parametrize("mode", ("reference", "numba"))
def test_tf_cumsum_cumprod_exclusive_with_inf(mode):
    """``tf.cumsum(exclusive=True)`` is a shifted running sum: ``[inf, 1]`` gives ``[0, inf]``
    (``cumsum - x`` gave NaN); ``tf.cumprod`` keeps TF's dtype for int32."""
    g = tf.Graph()
    with g.as_default():
        x = tf.constant([[INF, 1.0, 2.0], [1.0, -INF, 3.0]])
        i = tf.constant([[2, 3, 4]])
        outs = [tf.cumsum(x, 1, exclusive=True), tf.cumsum(x, 1, exclusive=True, reverse=True),
                tf.cumprod(i, 1), tf.cumprod(i, 1, exclusive=True, reverse=True)]
        with tf.Session(graph=g, executor=mode) as s:
            a, b, c, d = s.run(outs)
    np.testing.assert_array_equal(a, [[0, INF, INF], [0, 1, -INF]])
    np.testing.assert_array_equal(b, [[3, 2, 0], [-INF, 3, 0]])
    assert c.dtype == np.int32 and d.dtype == np.int32
    np.testing.assert_array_equal(c, [[2, 6, 24]])
    np.testing.assert_array_equal(d, [[12, 4, 1]])


def _hvp(fn, x: np.ndarray, v: np.ndarray, mode: str) -> np.ndarray:
    """d/dx of sum(grad(sum(fn(x))) * v): a Hessian-vector product through the VJP rules."""
    if mode == "eager":
        t = dynamic.tensor(x, requires_grad=True)
        (g1,) = dynamic.autograd.grad(fn(t).sum(), t, create_graph=True)
        (g2,) = dynamic.autograd.grad((g1 * dynamic.tensor(v)).sum(), t)
        return g2.numpy()
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float64, x.shape)
        g1 = tf.gradients(ops.sum(fn(p)), p)[0]
        g2 = tf.gradients(ops.sum(ops.mul(g1, v)), p)[0]
        with tf.Session(graph=g, executor=mode) as s:
            return s.run(g2, {p: x})


def _fd_hvp(fn, x: np.ndarray, v: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the first gradient (the registry's numpy path) along ``v``."""
    def grad(z):
        t = dynamic.tensor(z, requires_grad=True)
        fn(t).sum().backward()
        return t.grad.numpy()

    return (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)


@pytest.mark.parametrize("mode", ("eager", "reference"))  # numba: ~10 s of compiles a case
def test_second_derivatives_of_prod_and_cumprod(mode):
    """prod with and without a zero (the product-of-others rule is division free, so its
    derivative is exact at zeros), a full prod, and cumprod of zero-free rows."""
    rng = np.random.default_rng(3)
    x = np.array([[1.5, -0.5, 2.0, 0.75], [0.0, 2.0, -1.5, 0.5], [1.25, 2.0, 0.5, -1.0]])
    v = rng.standard_normal(x.shape)
    cases = {"prod": lambda t: ops.prod(t, 1), "prod_all": lambda t: ops.prod(t[1:]),
             "cumprod": lambda t: ops.cumprod(t[[0, 2]], 1),
             "cumprod_rev_excl": lambda t: ops.cumprod(t[[0, 2]], 1, reverse=True,
                                                       exclusive=True)}
    for name, fn in cases.items():
        np.testing.assert_allclose(_hvp(fn, x, v, mode), _fd_hvp(fn, x, v), rtol=1e-6,
                                   atol=1e-8, err_msg=name)


@pytest.mark.parametrize("mode", ("eager", "reference"))
@pytest.mark.parametrize("exclusive", (False, True))
def test_second_derivative_of_a_cumprod_over_a_size_1_dim_at_tiny_x(mode, exclusive):
    """A scan over a dim of size 1 is the identity (1 when exclusive): its gradient is ``g``
    itself, not ``sum(g out) / x``, whose second derivative cancelled two ``1/x``-sized terms
    (0 instead of the true value at ``x = 1e-30``; found by the fuzzer, seed 154 of the wide
    families). ``y = tanh(1.5 cumprod(x) + 0.945)``: ``y'' = -2 (1.5)^2 tanh sech^2``."""
    x = np.array([[1e-30, -1.08], [1e-10, 0.5]])
    v = np.ones_like(x)

    def fn(t):
        return ops.tanh(ops.add(ops.mul(ops.cumprod(ops.reshape(t, (2, 1, 2)), 1,
                                                    exclusive=exclusive), 1.5), 0.945))

    u = np.tanh(1.5 * (np.ones_like(x) if exclusive else x) + 0.945)
    want = np.zeros_like(x) if exclusive else -2 * 1.5 ** 2 * u * (1 - u ** 2)
    np.testing.assert_allclose(_hvp(fn, x, v, mode), want, rtol=1e-12, atol=1e-300)
