"""Eager ``var``/``std``/``var_mean``/``std_mean`` at infinite and NaN inputs: PyTorch's values.

The eager ``var`` was a composed graph (``sum((x - mean)^2) / (N - correction)``) whose mean
term, 0 in exact arithmetic, is ``inf - inf`` next to an infinite element: every gradient entry
was NaN where PyTorch's closed form (``var_backward``: ``2 / (N - correction) * g * (x -
mean)``) gives inf at the finite entries and NaN at the infinite one. ``ops.var`` is one
registry record with that rule (the static ``reduce_variance`` stays TF's composed graph).
Checked against the closed form itself (no torch needed) and, where installed, PyTorch.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import dynamic

INF, NAN = math.inf, math.nan
X = {
    "inf": [[1.0, INF, 2.0], [3.0, 4.0, 5.0]],
    "-inf": [[1.0, -INF, 2.0], [3.0, 4.0, 5.0]],
    "both": [[INF, -INF, 2.0], [3.0, 4.0, 5.0]],
    "two_inf": [[INF, INF, 2.0], [3.0, -1.0, 5.0]],
    "nan": [[1.0, NAN, 2.0], [3.0, 4.0, 5.0]],
    "inf_nan": [[INF, NAN, 2.0], [3.0, 4.0, 5.0]],
    "single": [[INF], [2.0]],
    "finite": [[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]],
}
ARGS = [{}, {"dim": 1}, {"dim": 0}, {"dim": 1, "keepdim": True}, {"unbiased": False},
        {"dim": 1, "correction": 0}, {"dim": 1, "correction": 2}, {"dim": (0, 1)},
        {"correction": 6}, {"dim": 0, "correction": 2}]
FNS = ("var", "std", "var_mean", "std_mean")
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")


def _run(lib, fn: str, x: np.ndarray, kw: dict, g: np.ndarray | None = None):
    """(value, gradient, grad_fn name) of ``lib.<fn>(x, **kw)`` (its first output)."""
    t = lib.tensor(x, requires_grad=True)
    with np.errstate(all="ignore"):
        y = getattr(lib, fn)(t, **kw)
        y = y[0] if isinstance(y, tuple) else y
        w = np.random.default_rng(0).normal(size=tuple(y.shape)) if g is None else g
        y.backward(lib.tensor(w))
    return y.detach().numpy(), t.grad.numpy(), type(y.grad_fn).__name__


def closed_form(x: np.ndarray, kw: dict) -> tuple[np.ndarray, np.ndarray]:
    """(var, its gradient for the seed ``_run`` draws) by PyTorch's formulas, in numpy."""
    dim = kw.get("dim")
    corr = kw.get("correction", 1 if kw.get("unbiased", True) else 0)
    dims = tuple(range(x.ndim)) if dim is None else np.atleast_1d(dim).tolist()
    n = int(np.prod([x.shape[d] for d in dims]))
    with np.errstate(all="ignore"):
        m = x.mean(axis=tuple(dims), keepdims=True)
        d = x - m
        v = (d * d).sum(axis=tuple(dims), keepdims=kw.get("keepdim", False)) / max(n - corr, 0)
        g = np.random.default_rng(0).normal(size=v.shape)
        gu = g if kw.get("keepdim") else np.expand_dims(g, tuple(dims))
        if dim is None and n - corr <= 0:
            grad = gu * np.where(x == m, NAN, INF)
        else:
            grad = (INF if n == corr else 2.0 / (n - corr)) * gu * d
    return v, grad


@pytest.mark.parametrize("kw", ARGS, ids=str)
@pytest.mark.parametrize("case", sorted(X))
def test_var_matches_the_closed_form(case, kw):
    x = np.array(X[case])
    val, grad, name = _run(dynamic, "var", x, kw)
    want_v, want_g = closed_form(x, kw)
    np.testing.assert_allclose(val, want_v, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(grad, want_g, rtol=1e-12, equal_nan=True)
    assert name == "VarBackward0"


def test_an_infinite_entry_no_longer_makes_every_gradient_nan():
    """The regression itself: inf at the finite entries, NaN only at the inf (was NaN)."""
    x = dynamic.tensor([1.0, INF, 2.0], requires_grad=True)
    with np.errstate(all="ignore"):
        x.var().backward()
    g = x.grad.numpy()
    assert np.isnan(g[1]) and g[0] == -INF and g[2] == -INF


@pytest.mark.parametrize("kw", ARGS, ids=str)
@pytest.mark.parametrize("fn", FNS)
@pytest.mark.parametrize("case", sorted(X))
def test_matches_pytorch(case, fn, kw):
    torch = pytest.importorskip("torch")
    x = np.array(X[case])
    got, want = _run(dynamic, fn, x, kw), _run(torch, fn, x, kw)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, equal_nan=True)
    assert got[2] == want[2]


@pytest.mark.parametrize("dim,correction", [(None, 1), (1, 0), (0, 1), ((0, 1), 2)])
def test_create_graph_second_derivative_matches_pytorch(dim, correction):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).normal(size=(3, 4))
    v = np.random.default_rng(5).normal(size=x.shape)
    out = []
    for lib in (dynamic, torch):
        t = lib.tensor(x, requires_grad=True)
        y = t.std(dim, correction=correction) if dim is not None else t.std(correction=correction)
        g, = lib.autograd.grad(y.sum(), [t], create_graph=True)
        h, = lib.autograd.grad(g, [t], lib.tensor(v))
        out.append((g.detach().numpy(), h.numpy()))
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_finite_values_and_gradients_are_unchanged_in_float32_and_float64(dtype):
    """Away from inf the closed form is the composed graph's gradient to rounding."""
    x = np.random.default_rng(6).normal(size=(5, 7)).astype(dtype)
    for kw in ARGS[:8]:
        val, grad, _ = _run(dynamic, "var", x, kw)
        want_v, want_g = closed_form(x.astype(np.float64), kw)
        assert val.dtype == grad.dtype == np.dtype(dtype)
        tol = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(val, want_v, rtol=tol, atol=tol)
        np.testing.assert_allclose(grad, want_g, rtol=tol, atol=tol)


def test_int_input_is_refused():
    with pytest.raises(Exception, match="floating point"):
        dynamic.tensor([1, 2, 3]).var()


@pytest.mark.parametrize("step", itertools.product(["var", "std"], [None, 1]))
def test_compiled_matches_eager(step, tmp_path, monkeypatch):
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    fn, dim = step
    x = np.random.default_rng(8).normal(size=(4, 6))
    x[1, 2] = INF

    def f(t):
        return getattr(t, fn)(dim).sum() if dim is not None else getattr(t, fn)()

    res = []
    for run in (f, dynamic.compile(f)):
        t = dynamic.tensor(x, requires_grad=True)
        with np.errstate(all="ignore"):
            y = run(t)
            y.backward()
        res.append((y.detach().numpy(), t.grad.numpy()))
    np.testing.assert_allclose(res[1][0], res[0][0], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(res[1][1], res[0][1], rtol=1e-12, equal_nan=True)
