"""``dynamic.autograd.forward_ad``: one table of programs (every op with a JVP, through its eager
spelling), each checked in float64 against central finite differences of the eager forward,
and, in float32 and float64, against PyTorch's forward AD for values and tangents."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic

R = np.random.default_rng(7)
ANY, POS, ZEROS = "any", "pos", "zeros"
LABELS = [0, 2, 1, 2]
MASK = [[True, False, True], [False, True, True]]
ZROWS = [[1.5, -0.5, 2.0, 0.7], [0.0, 2.0, -1.5, 0.5], [1.5, 2.0, 0.0, -0.5], [1.1, 0.0, 2.0, 0.0]]


def _fn(name):
    return lambda T, F, a: getattr(T, name)(a)


def _set(T, F, a, b):
    out = a.clone()
    out[0, 1:] = b
    return out


# (id, fn(T, F, *inputs) with T the torch module (dynamic or torch), [(shape, domain)...])
TABLE = [
    ("add", lambda T, F, a, b: a + b, [((2, 3), ANY), ((3,), ANY)]),
    ("add-scalar", lambda T, F, a: 2.5 + a, [((2, 3), ANY)]),
    ("sub-bcast", lambda T, F, a, b: a - b, [((2, 1), ANY), ((1, 3), ANY)]),
    ("rsub", lambda T, F, a: 1 - a, [((4,), ANY)]),
    ("mul", lambda T, F, a, b: a * b, [((2, 3), ANY), ((3,), ANY)]),
    ("div", lambda T, F, a, b: a / b, [((3, 2), ANY), ((2,), POS)]),
    ("rdiv", lambda T, F, a: 2 / a, [((3,), POS)]),
    ("pow-tensor", lambda T, F, a, b: a ** b, [((2, 3), POS), ((3,), ANY)]),
    ("pow-scalar", lambda T, F, a: a ** 3, [((2, 2), ANY)]),
    ("rpow", lambda T, F, a: 2 ** a, [((3,), ANY)]),
    ("neg", lambda T, F, a: -a, [((2, 3), ANY)]),
    *[(n, _fn(n), [((2, 3), ANY)])
      for n in ("exp", "sin", "cos", "tanh", "sigmoid", "expm1", "erf", "abs", "sign", "square",
                "relu", "floor", "ceil", "round", "trunc")],
    *[(n, _fn(n), [((4,), POS)])
      for n in ("log", "log1p", "sqrt", "reciprocal")],
    ("softplus", lambda T, F, a: F.softplus(a), [((5,), ANY)]),
    ("maximum", lambda T, F, a, b: T.maximum(a, b), [((2, 3), ANY), ((3,), ANY)]),
    ("minimum", lambda T, F, a, b: T.minimum(a, b), [((2, 1), ANY), ((2, 3), ANY)]),
    ("clamp", lambda T, F, a: a.clamp(-0.5, 0.5), [((6,), ANY)]),
    ("where", lambda T, F, a, b: T.where(a > 0, a, b), [((2, 3), ANY), ((3,), ANY)]),
    ("remainder", lambda T, F, a, b: (a * 5) % b, [((2, 3), ANY), ((3,), POS)]),
    ("cast", lambda T, F, a: a.to(T.float64) * 2, [((3,), ANY)]),
    ("clone", lambda T, F, a: a.clone(), [((3,), ANY)]),
    ("sum", lambda T, F, a: a.sum(), [((2, 3), ANY)]),
    ("sum-dims-keep", lambda T, F, a: a.sum((0, 2), keepdim=True), [((2, 3, 2), ANY)]),
    ("mean-dim", lambda T, F, a: a.mean(-1), [((2, 3), ANY)]),
    ("max", lambda T, F, a: a.max(), [((2, 3), ANY)]),
    ("amax", lambda T, F, a: a.amax(1), [((3, 4), ANY)]),
    ("min-dim", lambda T, F, a: a.min(0, keepdim=True)[0], [((3, 4), ANY)]),
    ("logsumexp", lambda T, F, a: a.logsumexp(1), [((3, 4), ANY)]),
    ("prod", lambda T, F, a: a.prod(1), [((3, 4), ANY)]),
    ("prod-zeros", lambda T, F, a: a.prod(1), [((4, 4), ZEROS)]),
    ("cumsum", lambda T, F, a: a.cumsum(1), [((3, 4), ANY)]),
    ("cumprod", lambda T, F, a: a.cumprod(0), [((4, 2), ANY)]),
    ("cumprod-zeros", lambda T, F, a: a.cumprod(1), [((4, 4), ZEROS)]),
    ("var", lambda T, F, a: a.var(1), [((3, 4), ANY)]),
    ("mm", lambda T, F, a, b: a @ b, [((2, 3), ANY), ((3, 4), ANY)]),
    ("bmm-bcast", lambda T, F, a, b: a @ b, [((2, 2, 3), ANY), ((3, 2), ANY)]),
    ("dot", lambda T, F, a, b: T.dot(a, b), [((3,), ANY), ((3,), ANY)]),
    ("t", lambda T, F, a: a.t(), [((2, 3), ANY)]),
    ("permute", lambda T, F, a: a.permute(2, 0, 1), [((2, 3, 4), ANY)]),
    ("reshape", lambda T, F, a: a.reshape(3, -1), [((2, 3), ANY)]),
    ("expand", lambda T, F, a: a.expand(2, 3, 4), [((3, 1), ANY)]),
    ("unsqueeze", lambda T, F, a: a.unsqueeze(1), [((2, 3), ANY)]),
    ("squeeze", lambda T, F, a: a.squeeze(), [((2, 1, 3), ANY)]),
    ("cat", lambda T, F, a, b: T.cat([a, b], 1), [((2, 3), ANY), ((2, 1), ANY)]),
    ("stack", lambda T, F, a, b: T.stack([a, b]), [((2, 3), ANY), ((2, 3), ANY)]),
    ("index-slice", lambda T, F, a: a[:, 1:3], [((2, 4), ANY)]),
    ("index-array", lambda T, F, a: a[T.tensor([0, 2, 0])], [((3, 2), ANY)]),
    ("index-mask", lambda T, F, a: a[T.tensor(MASK)], [((2, 3), ANY)]),
    ("setitem", _set, [((2, 3), ANY), ((2,), ANY)]),
    ("gather", lambda T, F, a: a.gather(1, T.tensor([[0, 3, 3], [1, 1, 0]])), [((2, 4), ANY)]),
    ("scatter_add", lambda T, F, a, b: a.scatter_add(0, T.tensor([[0, 2, 2], [1, 0, 2]]), b),
     [((3, 3), ANY), ((2, 3), ANY)]),
    ("softmax", lambda T, F, a: a.softmax(1), [((3, 4), ANY)]),
    ("log_softmax", lambda T, F, a: F.log_softmax(a, 0), [((3, 4), ANY)]),
    ("cross_entropy", lambda T, F, a: F.cross_entropy(a, T.tensor(LABELS)), [((4, 3), ANY)]),
    ("nll_loss-none", lambda T, F, a: F.nll_loss(a, T.tensor(LABELS), reduction="none"),
     [((4, 3), ANY)]),
    ("mse_loss", lambda T, F, a, b: F.mse_loss(a, b), [((2, 3), ANY), ((2, 3), ANY)]),
    ("mse_loss-sum", lambda T, F, a, b: F.mse_loss(a, b, reduction="sum"),
     [((2, 3), ANY), ((2, 3), ANY)]),
    ("linear", lambda T, F, x, w, b: F.linear(x, w, b),
     [((2, 3), ANY), ((4, 3), ANY), ((4,), ANY)]),
    ("mlp", lambda T, F, x, w: (x @ w).tanh().sum(1).exp(), [((2, 3), ANY), ((3, 2), ANY)]),
]


def _inputs(specs: list) -> list[np.ndarray]:
    out = []
    for shape, dom in specs:
        if dom == ZEROS:
            a = np.array(ZROWS)
        elif dom == POS:
            a = R.uniform(0.5, 2.0, shape)
        else:
            a = R.standard_normal(shape)
        out.append(np.asarray(a, np.float64))
    return out


def _forward_ad(T, fn, arrays, tangents, dt):
    """``(value, tangent)`` of ``fn`` under ``T``'s forward AD (``T``: dynamic or torch)."""
    import importlib

    fw = importlib.import_module(T.__name__ + ".autograd.forward_ad")
    F = importlib.import_module(T.__name__ + ".nn.functional")
    with fw.dual_level():
        duals = [fw.make_dual(T.tensor(a.astype(dt)), T.tensor(t.astype(dt)))
                 for a, t in zip(arrays, tangents, strict=True)]
        p, t = fw.unpack_dual(fn(T, F, *duals))
        return p.detach().numpy().copy(), (None if t is None else t.detach().numpy().copy())


def _eager(fn, arrays):
    return fn(dynamic, dynamic.nn.functional, *[dynamic.tensor(a) for a in arrays]).numpy()


@pytest.mark.parametrize("name,fn,specs", TABLE, ids=[c[0] for c in TABLE])
def test_tangent_matches_finite_differences(name, fn, specs):
    arrays = _inputs(specs)
    tangents = [R.standard_normal(a.shape) for a in arrays]
    value, tangent = _forward_ad(dynamic, fn, arrays, tangents, np.float64)
    np.testing.assert_array_equal(value, _eager(fn, arrays))  # the primal is the plain result
    eps = 1e-6
    plus = _eager(fn, [a + eps * t for a, t in zip(arrays, tangents, strict=True)])
    minus = _eager(fn, [a - eps * t for a, t in zip(arrays, tangents, strict=True)])
    expected = (plus - minus) / (2 * eps)
    if name in ("floor", "ceil", "round", "trunc", "sign"):
        expected = np.zeros_like(value)  # piecewise constant: PyTorch's zero
    assert tangent is not None and tangent.shape == value.shape and tangent.dtype == value.dtype
    np.testing.assert_allclose(tangent, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name,fn,specs", TABLE, ids=[c[0] for c in TABLE])
def test_values_and_tangents_match_torch(name, fn, specs, dt):
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch.autograd.forward_ad")  # the modules _forward_ad looks up

    arrays = _inputs(specs)
    tangents = [R.standard_normal(a.shape) for a in arrays]
    got = _forward_ad(dynamic, fn, arrays, tangents, dt)
    want = _forward_ad(torch, fn, arrays, tangents, dt)
    tol = {"rtol": 2e-5, "atol": 1e-5} if dt == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    for g, w, what in zip(got, want, ("value", "tangent"), strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape, f"{name}: {what}"
        np.testing.assert_allclose(g, w, err_msg=f"{name}: {what}", **tol)
