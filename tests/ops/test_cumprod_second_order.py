"""cumprod's second derivative, zeros included, against a brute-force oracle, finite
differences and PyTorch's double backward.

Fuzz seed 26773 (`python -m tests.fuzz --seed 26700 --edge 0.1 --max-nodes 14`): the first-order
rule was exact (PyTorch's ``cumprod_backward``) but dropped the terms ``g_j * out_j`` of outputs
whose only zero factor is the input, which are 0 in value but not in derivative, so the second
derivative at a zero was 0 in both modes. The rule now adds them (``_vanishing_terms``); the
table below holds zeros at several positions, one to three per slice, every ``exclusive`` /
``reverse`` flag, float32 and float64, the static gradients and the eager ``create_graph``
path; first-order values stay the first-order rule's bit for bit.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import dynamic
import staticgraph as tf
from staticgraph import ops

FLAGS = list(itertools.product((False, True), (False, True)))  # (exclusive, reverse)
ROWS = np.array([
    [0.0, 0.5, 1.3, -0.7, 2.0],  # a zero first
    [0.5, 0.0, 1.3, -0.7, 2.0],  # inner
    [0.5, 1.3, -0.7, 2.0, 0.0],  # last
    [0.0, 0.0, 1.3, -0.7, 2.0],  # two, adjacent
    [0.5, 0.0, 1.3, -0.0, 2.0],  # two apart (a signed zero)
    [0.0, 0.5, 0.0, -0.7, 0.0],  # three
    [1.1, 0.0, 0.0, 0.0, 2.0],  # three adjacent
    [0.0, 0.0, 0.0, 0.0, 0.0],  # all
    [0.5, 1.3, -0.7, 2.0, 0.9],  # none
])
RNG = np.random.default_rng(7)
G, V = RNG.normal(size=ROWS.shape), RNG.normal(size=ROWS.shape)


def _factors(j: int, exclusive: bool) -> list[int]:
    return list(range(j)) if exclusive else list(range(j + 1))


def oracle(x, g, v, exclusive, reverse) -> tuple[np.ndarray, np.ndarray]:
    """(first derivative of ``<g, cumprod(x)>`` along the last axis, its Hessian times ``v``)
    from the products of the factors themselves, each left out by position: no division."""
    d1, hv = np.zeros_like(x), np.zeros_like(x)
    for r in np.ndindex(x.shape[:-1]):
        xr, gr, vr = (a[r][::-1] if reverse else a[r] for a in (x, g, v))
        a, b = np.zeros(x.shape[-1]), np.zeros(x.shape[-1])
        for j in range(x.shape[-1]):
            f = _factors(j, exclusive)
            for i in f:
                a[i] += gr[j] * np.prod([xr[m] for m in f if m != i])
                for k in f:
                    if k != i:
                        b[k] += vr[i] * gr[j] * np.prod([xr[m] for m in f if m not in (i, k)])
        d1[r], hv[r] = (a[::-1], b[::-1]) if reverse else (a, b)
    return d1, hv


def static_second(x, g, v, flags, executor="reference") -> dict:
    """``{flags: (d1, Hv)}`` from ``tf.gradients`` twice, one graph for every flag pair."""
    dt = tf.as_dtype(x.dtype)
    with tf.Graph().as_default():
        p, pg, pv = (tf.placeholder(dt, [None, None]) for _ in range(3))
        fetch = {}
        for e, r in flags:
            d1 = tf.gradients(ops.cumprod(p, 1, reverse=r, exclusive=e), [p], grad_ys=pg)[0]
            fetch[(e, r)] = (d1, tf.gradients(d1, [p], grad_ys=pv)[0])
        with tf.Session(executor=executor) as sess:
            return sess.run(fetch, {p: x, pg: g, pv: v})


def eager_second(x, g, v, exclusive, reverse, dim=1) -> tuple[np.ndarray, np.ndarray]:
    t = dynamic.tensor(x, requires_grad=True)
    y = ops.cumprod(t, dim, reverse=reverse, exclusive=exclusive)
    d1, = dynamic.autograd.grad(y, [t], dynamic.tensor(g), create_graph=True)
    hv, = dynamic.autograd.grad(d1, [t], dynamic.tensor(v))
    return d1.detach().numpy(), hv.numpy()


def _tol(dtype) -> dict:
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-13}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_static_second_order_matches_the_oracle(dtype):
    x, g, v = (a.astype(dtype) for a in (ROWS, G, V))
    got = static_second(x, g, v, FLAGS)
    for flags in FLAGS:
        d1, hv = oracle(ROWS, G, V, *flags)
        np.testing.assert_allclose(got[flags][0], d1, **_tol(dtype), err_msg=str(flags))
        np.testing.assert_allclose(got[flags][1], hv, **_tol(dtype), err_msg=str(flags))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exclusive,reverse", FLAGS)
def test_eager_create_graph_matches_the_oracle(exclusive, reverse, dtype):
    x, g, v = (a.astype(dtype) for a in (ROWS, G, V))
    d1, hv = eager_second(x, g, v, exclusive, reverse)
    want1, want2 = oracle(ROWS, G, V, exclusive, reverse)
    np.testing.assert_allclose(d1, want1, **_tol(dtype))
    np.testing.assert_allclose(hv, want2, **_tol(dtype))
    # along dim 0 (the rows as columns): the same numbers, transposed
    d1t, hvt = eager_second(x.T.copy(), g.T.copy(), v.T.copy(), exclusive, reverse, dim=0)
    np.testing.assert_allclose(hvt.T, want2, **_tol(dtype))


def test_compiled_second_order_matches_the_oracle(tmp_path, monkeypatch):
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    got = static_second(ROWS, G, V, FLAGS, executor="numba")
    for flags in FLAGS:
        np.testing.assert_allclose(got[flags][1], oracle(ROWS, G, V, *flags)[1], rtol=1e-12,
                                   atol=1e-13, err_msg=str(flags))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
def test_eager_double_backward_matches_torch(reverse, dtype):
    torch = pytest.importorskip("torch")
    x, g, v = (a.astype(dtype) for a in (ROWS, G, V))
    d1, hv = eager_second(x, g, v, False, reverse)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.cumprod(tx.flip(1), 1).flip(1) if reverse else torch.cumprod(tx, 1)
    td1, = torch.autograd.grad(ty, tx, torch.tensor(g), create_graph=True)
    thv, = torch.autograd.grad(td1, tx, torch.tensor(v))
    np.testing.assert_allclose(d1, td1.detach().numpy(), **_tol(dtype))
    np.testing.assert_allclose(hv, thv.numpy(), **_tol(dtype))


EDGE = np.array([[np.inf, 2.0, 0.0, 1.0, 0.5], [np.nan, 0.0, 1.0, 2.0, 0.0],
                 [3e38, 3e38, 0.5, 0.0, -0.0], [0.0, np.inf, 2.0, -1.0, 0.0],
                 [-np.inf, 0.0, 1e-30, 0.0, 1e30], [1e-30, 1e-30, 0.0, 1e-30, 3.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exclusive,reverse", FLAGS)
def test_first_order_values_are_the_first_order_rules_bit_for_bit(exclusive, reverse, dtype):
    """The added terms are ``-0.0`` in value: with inf, NaN, overflow and signed zeros the
    rule's first derivative (``create_graph``, the static graph) is the array rule's
    (``np_vjp``: no added terms) bit for bit, signed zeros included."""
    x = np.concatenate([EDGE, ROWS]).astype(dtype)
    g = np.random.default_rng(3).normal(size=x.shape).astype(dtype)
    with np.errstate(all="ignore"):
        want = ops.scans._cumprod_np_vjp(g, np.asarray(ops.cumprod(x, 1, reverse, exclusive)),
                                         (True,), x, 1, exclusive, reverse)[0]
        t = dynamic.tensor(x, requires_grad=True)
        y = ops.cumprod(t, 1, reverse=reverse, exclusive=exclusive)
        cg, = dynamic.autograd.grad(y, [t], dynamic.tensor(g), create_graph=True)
        plain, = dynamic.autograd.grad(ops.cumprod(t, 1, reverse=reverse, exclusive=exclusive),
                                       [t], dynamic.tensor(g))
        static = static_second(x, g, g, [(exclusive, reverse)])[(exclusive, reverse)][0]
    for got in (cg.detach().numpy(), plain.numpy(), static):
        assert got.tobytes() == want.tobytes()
    # the values: PyTorch's first derivative (NaN where its ``g * out / x`` is inf/inf, as
    # before a zero after an inf), and the products of the others on finite rows
    with np.errstate(all="ignore"):
        d1 = oracle(x.astype(np.float64), g.astype(np.float64), g, exclusive, reverse)[0]
    fin = np.all(np.isfinite(x) & (np.abs(x) < 1e20), axis=1)
    np.testing.assert_allclose(want[fin], d1[fin], **_tol(dtype))
    torch = pytest.importorskip("torch")
    if not exclusive:  # torch's cumprod is inclusive
        tx = torch.tensor(x, requires_grad=True)
        (torch.cumprod(tx.flip(1), 1).flip(1) if reverse else torch.cumprod(tx, 1)).backward(
            torch.tensor(g))
        np.testing.assert_allclose(want, tx.grad.numpy(), rtol=1e-6, equal_nan=True)


def _second_order(x: np.ndarray, gv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the rule's d/dx <g(x), gv>, central differences of it), g = d sum(cumprod_rev(x)) / dx."""
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float64, [None, 3, 2])
        q = tf.placeholder(tf.float64, [None, 3, 2])
        g = tf.gradients(ops.cumprod(p, 1, reverse=True), [p])[0]
        h = tf.gradients(g, [p], grad_ys=q)[0]
        with tf.Session(executor="reference") as sess:
            got = sess.run(h, {p: x, q: gv})
            fd = np.zeros_like(x)
            for i in np.ndindex(x.shape):
                a, b = x.copy(), x.copy()
                a[i] += 1e-6
                b[i] -= 1e-6
                fd[i] = ((sess.run(g, {p: a}) - sess.run(g, {p: b})) * gv).sum() / 2e-6
    return got, fd


GV = np.array([[[0.7, -0.4], [1.1, 0.3], [-0.9, 0.8]]])


def test_second_order_without_zeros_matches_finite_differences():
    x = np.array([[[0.6, 0.5], [0.32, -1.2], [1.87, 1.93]]])
    got, fd = _second_order(x, GV)
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6)


def test_second_order_at_a_zero_matches_finite_differences():
    """Fuzz seed 26773's case: it was 0 at the zeros."""
    x = np.array([[[-0.0, 0.5], [0.32, 0.0], [1.87, 1.93]]])
    got, fd = _second_order(x, GV)
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6)
