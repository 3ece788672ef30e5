"""Precision near 0 and far out (issue #9): ``log1p``, ``expm1``, ``softplus`` and the losses and
activations built on them, at tiny, denormal and large inputs, in the eager mode and on the
static reference and compiled executors, against numpy in higher precision (no torch needed).

``log(1 + x)`` and ``exp(x) - 1`` return 0 for ``|x|`` below the type's epsilon and
``log(1 + exp(x))`` returns 0 once ``exp(x)`` drops below it: every check here asserts a few
ulps *relative* error, which those forms miss by 100%.
"""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
import dynamic.nn.functional as F
import staticgraph as tf

MODES = ("eager", "reference", "numba")
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
ULPS = 4


def inputs(dt: np.dtype) -> np.ndarray:
    """Tiny (normal and denormal), moderate and large inputs of both signs."""
    tiny = np.finfo(dt).tiny
    big = (30.0, 80.0) if dt == np.float32 else (30.0, 700.0)
    v = [1e-10, -1e-10, 1e-30, -1e-30, tiny / 4, -tiny / 4, 1e-7, -1e-7, 0.5, -0.5, 3.0,
         -3.0, big[0], -big[0], big[1], -big[1]]
    if dt == np.float64:
        v += [1e-300, -1e-300, 1e-310, -1e-310]
    return np.array(v, dt)


def _hi(x: np.ndarray) -> np.ndarray:
    return x.astype(np.longdouble if x.dtype == np.float64 else np.float64)


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _labels(x):
    return (x > 0).astype(x.dtype)  # y in {0, 1}: the losses of confident logits are tiny


def _torch_softplus(x):
    """PyTorch's F.softplus: ``x`` itself above the threshold 20."""
    return np.where(x > 20, x, _softplus(x))


# name -> (static spelling, eager spelling, value oracle, gradient oracle), oracles on _hi(x).
# The losses' gradients sum several rules' contributions (1 - 1 - 9e-14 at x = 30, y = 1) in
# an order each executor picks: they are checked to a few ulps of 1 (absolute), not relative.
LOSSES = ("sigmoid_ce",)
EAGER = {"softplus": (_torch_softplus, lambda x: np.where(x > 20, 1, _sigmoid(x)))}
FUNCS = {
    "log1p": (tf.log1p, lambda t: t.log1p(), np.log1p, lambda x: 1 / (1 + x)),
    "expm1": (tf.expm1, dynamic.expm1, np.expm1, np.exp),
    "softplus": (tf.nn.softplus, F.softplus, _softplus, _sigmoid),
    "elu": (tf.nn.elu, None, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
            lambda x: np.where(x > 0, 1, np.exp(np.minimum(x, 0)))),
    "sigmoid_ce": (
        lambda p: tf.nn.sigmoid_cross_entropy_with_logits(
            labels=_labels(np.asarray(_X[p.dtype.as_numpy_dtype])), logits=p),
        lambda t: F.binary_cross_entropy_with_logits(t, _labels(t.detach().numpy()),
                                                     reduction="none"),
        lambda x: np.maximum(x, 0) - x * (x > 0) + np.log1p(np.exp(-np.abs(x))),
        lambda x: np.where(x > 0, -_sigmoid(-x), _sigmoid(x))),
}
_X = {dt.type: inputs(dt) for dt in DTYPES}


def assert_ulps(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """``got`` within ``ULPS`` ulps of ``want`` (relative, gradual underflow included)."""
    dt = got.dtype
    want_t = want.astype(dt)
    spacing = np.abs(np.spacing(want_t))
    err = np.abs(got.astype(want.dtype) - want)
    bad = ~((err <= ULPS * spacing) | (np.isnan(got) & np.isnan(want)) | (got == want_t))
    assert not bad.any(), f"{what}: at x={_X[dt.type][bad]} got {got[bad]}, want {want_t[bad]}"


def _static_all(dt: np.dtype, executor: str) -> dict:
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.as_dtype(dt), [None], name="x")
        fetches = {}
        for name, (static, _, _, _) in FUNCS.items():
            y = static(x)
            fetches[name] = (y, tf.gradients(y, [x])[0])
        with tf.Session(graph=g, executor=executor) as s:
            return s.run(fetches, {x: _X[dt.type]})


@pytest.fixture(scope="module")
def static_results():
    memo: dict = {}

    def get(dt: np.dtype, executor: str) -> dict:
        if (dt, executor) not in memo:
            with np.errstate(all="ignore"):
                memo[dt, executor] = _static_all(dt, executor)
        return memo[dt, executor]

    return get


def _eager(name: str, dt: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    t = dynamic.tensor(_X[dt.type], requires_grad=True)
    y = FUNCS[name][1](t)
    y.sum().backward()
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("name", list(FUNCS))
def test_value_and_gradient_to_a_few_ulps(name: str, dt: np.dtype, mode: str, static_results):
    static, eager, f, df = FUNCS[name]
    if mode == "eager" and eager is None:
        pytest.skip(f"{name} is a static-mode (TF) function")
    with np.errstate(all="ignore"):
        y, gx = _eager(name, dt) if mode == "eager" else static_results(dt, mode)[name]
        xh = _hi(_X[dt.type])
        assert y.dtype == dt and gx.dtype == dt
        f, df = EAGER.get(name, (f, df)) if mode == "eager" else (f, df)
        assert_ulps(y, f(xh), f"{name} value ({mode}, {dt})")
        if name in LOSSES:
            np.testing.assert_allclose(gx, df(xh).astype(dt), rtol=0,
                                       atol=ULPS * np.finfo(dt).eps, err_msg=name)
        else:
            assert_ulps(gx, df(xh), f"{name} gradient ({mode}, {dt})")


def test_eager_softplus_threshold_and_beta_follow_pytorch():
    """``F.softplus(x, beta, threshold)``: ``x`` above ``threshold / beta``, else
    ``log1p(exp(beta x)) / beta``; gradient ``sigmoid(beta x)`` below, 1 above."""
    x = np.array([-40.0, -1e-12, 0.0, 2.0, 2.6, 10.0, 30.0])
    t = dynamic.tensor(x, requires_grad=True)
    y = F.softplus(t, beta=2.0, threshold=5.0)
    y.sum().backward()
    soft = np.log1p(np.exp(2 * x)) / 2
    np.testing.assert_allclose(y.detach().numpy(), np.where(2 * x > 5, x, soft), rtol=1e-15)
    np.testing.assert_allclose(t.grad.numpy(), np.where(2 * x > 5, 1, _sigmoid(2 * x)),
                               rtol=1e-15)
    assert y.grad_fn.name() == "SoftplusBackward0"
    assert repr(dynamic.nn.Softplus(2.0, 5.0)) == "Softplus(beta=2.0, threshold=5.0)"


def test_eager_bce_with_logits_gradient_at_zero_logit():
    """d/dx BCE(sigmoid(x), y) = sigmoid(x) - y, also at x = 0 (a zero-initialised output
    layer): the ``relu(x)`` form gave ``-y`` there."""
    t = dynamic.tensor(np.zeros(3), requires_grad=True)
    y = np.array([0.0, 0.25, 1.0])
    F.binary_cross_entropy_with_logits(t, y, reduction="sum").backward()
    np.testing.assert_allclose(t.grad.numpy(), 0.5 - y, rtol=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_second_derivatives(mode, tmp_path, monkeypatch):
    """d2/dx2 of log1p, expm1 and softplus through their VJP rules (graphs of graphs)."""
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    x = np.array([1e-8, -0.5, 2.0, 7.0])
    want = {"log1p": -1 / (1 + x) ** 2, "expm1": np.exp(x),
            "softplus": _sigmoid(x) * (1 - _sigmoid(x))}
    fns = {"log1p": lambda v: v.log1p() if mode == "eager" else tf.log1p(v),
           "expm1": lambda v: v.expm1() if mode == "eager" else tf.expm1(v),
           "softplus": lambda v: F.softplus(v) if mode == "eager" else tf.nn.softplus(v)}
    got = {}
    if mode == "eager":
        for name, fn in fns.items():
            t = dynamic.tensor(x, requires_grad=True)
            (g1,) = dynamic.autograd.grad(fn(t).sum(), t, create_graph=True)
            (g2,) = dynamic.autograd.grad(g1.sum(), t)
            got[name] = g2.numpy()
    else:
        g = tf.Graph()
        with g.as_default():
            p = tf.placeholder(tf.float64, [4])
            fetch = {n: tf.gradients(tf.gradients(fn(p), p)[0], p)[0] for n, fn in fns.items()}
            with tf.Session(graph=g, executor=mode) as s:
                got = s.run(fetch, {p: x})
    for name in fns:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, err_msg=name)
