"""One table of ops x shapes (broadcasting included), each checked three ways in float64:
forward against numpy, gradients against central finite differences of the numpy forward, and
(for smooth ops) second derivatives via ``create_graph`` against finite differences of the
first derivative."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
import dynamic.nn.functional as F

R = np.random.default_rng(0)
ANY, POS = "any", "pos"


def _np_softmax(x, d):
    e = np.exp(x - x.max(d, keepdims=True))
    return e / e.sum(d, keepdims=True)


def _np_lse(x, d):
    m = x.max(d, keepdims=True)
    return (np.log(np.exp(x - m).sum(d, keepdims=True)) + m).squeeze(d)


LABELS = np.array([0, 2, 1, 2])
MASK = np.array([[True, False, True], [False, True, True]])


def _set(x, v):
    out = x.clone() if isinstance(x, torch.Tensor) else x.copy()
    out[0, 1:] = v
    return out


# (id, dynamic fn, numpy fn, [(shape, domain)...], smooth)
TABLE = [
    ("add", lambda a, b: a + b, np.add, [((2, 3), ANY), ((3,), ANY)], True),
    ("add-scalar", lambda a: 2.5 + a, lambda a: 2.5 + a, [((2, 3), ANY)], True),
    ("sub-bcast", lambda a, b: a - b, np.subtract, [((2, 1), ANY), ((1, 3), ANY)], True),
    ("rsub", lambda a: 1 - a, lambda a: 1 - a, [((4,), ANY)], True),
    ("mul", lambda a, b: a * b, np.multiply, [((2, 3), ANY), ((2, 3), ANY)], True),
    ("mul-0d", lambda a, b: a * b, np.multiply, [((), ANY), ((2, 3), ANY)], True),
    ("div", lambda a, b: a / b, np.divide, [((3, 2), ANY), ((2,), POS)], True),
    ("rdiv", lambda a: 2 / a, lambda a: 2 / a, [((3,), POS)], True),
    ("pow-tensor", lambda a, b: a ** b, np.power, [((2, 3), POS), ((3,), ANY)], True),
    ("pow-scalar", lambda a: a ** 3, lambda a: a ** 3, [((2, 2), ANY)], True),
    ("pow-half", lambda a: a.pow(0.5), np.sqrt, [((3,), POS)], True),
    ("rpow", lambda a: 2 ** a, lambda a: 2.0 ** a, [((3,), ANY)], True),
    ("neg", lambda a: -a, np.negative, [((2, 3), ANY)], True),
    ("exp", torch.exp, np.exp, [((2, 3), ANY)], True),
    ("log", torch.log, np.log, [((2, 3), POS)], True),
    ("sqrt", torch.sqrt, np.sqrt, [((4,), POS)], True),
    ("sin", torch.sin, np.sin, [((2, 3), ANY)], True),
    ("cos", torch.cos, np.cos, [((2, 3), ANY)], True),
    ("tanh", torch.tanh, np.tanh, [((2, 3), ANY)], True),
    ("sigmoid", torch.sigmoid, lambda a: 1 / (1 + np.exp(-a)), [((2, 3), ANY)], True),
    ("relu", torch.relu, lambda a: np.maximum(a, 0), [((2, 3), ANY)], False),
    ("abs", torch.abs, np.abs, [((2, 3), ANY)], False),
    ("square", torch.square, np.square, [((3,), ANY)], True),
    ("reciprocal", torch.reciprocal, np.reciprocal, [((3,), POS)], True),
    ("maximum", torch.maximum, np.maximum, [((2, 3), ANY), ((3,), ANY)], False),
    ("minimum", torch.minimum, np.minimum, [((2, 1), ANY), ((2, 3), ANY)], False),
    ("clamp", lambda a: a.clamp(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), [((6,), ANY)], False),
    ("clamp-min", lambda a: torch.clamp(a, min=0.1), lambda a: np.maximum(a, 0.1),
     [((6,), ANY)], False),
    ("where", lambda a, b: torch.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b),
     [((2, 3), ANY), ((3,), ANY)], False),
    ("sum", lambda a: a.sum(), np.sum, [((2, 3), ANY)], True),
    ("sum-dim", lambda a: a.sum(1), lambda a: a.sum(1), [((2, 3, 2), ANY)], True),
    ("sum-dims-keep", lambda a: a.sum((0, 2), keepdim=True),
     lambda a: a.sum((0, 2), keepdims=True), [((2, 3, 2), ANY)], True),
    ("mean", lambda a: a.mean(), np.mean, [((2, 3), ANY)], True),
    ("mean-dim", lambda a: a.mean(-1, keepdim=True), lambda a: a.mean(-1, keepdims=True),
     [((2, 3), ANY)], True),
    ("max", lambda a: a.max(), np.max, [((2, 3), ANY)], False),
    ("max-dim", lambda a: a.max(1).values, lambda a: a.max(1), [((3, 4), ANY)], False),
    ("min-dim", lambda a: a.min(0, keepdim=True)[0], lambda a: a.min(0, keepdims=True),
     [((3, 4), ANY)], False),
    ("amax", lambda a: a.amax(1), lambda a: a.max(1), [((3, 4), ANY)], False),
    ("logsumexp", lambda a: a.logsumexp(1), lambda a: _np_lse(a, 1), [((3, 4), ANY)], True),
    ("var", lambda a: a.var(1), lambda a: a.var(1, ddof=1), [((3, 4), ANY)], True),
    ("std", lambda a: a.std(), lambda a: a.std(ddof=1), [((3, 4), ANY)], True),
    ("mm", lambda a, b: a @ b, np.matmul, [((2, 3), ANY), ((3, 4), ANY)], True),
    ("mv", lambda a, b: a @ b, np.matmul, [((2, 3), ANY), ((3,), ANY)], True),
    ("dot", torch.dot, np.dot, [((3,), ANY), ((3,), ANY)], True),
    ("vm", lambda a, b: a.matmul(b), np.matmul, [((3,), ANY), ((3, 2), ANY)], True),
    ("bmm-bcast", lambda a, b: a @ b, np.matmul, [((2, 2, 3), ANY), ((3, 2), ANY)], True),
    ("t", lambda a: a.t() * 1.5, lambda a: a.T * 1.5, [((2, 3), ANY)], True),
    ("transpose", lambda a: a.transpose(0, 2), lambda a: a.transpose(2, 1, 0),
     [((2, 3, 4), ANY)], True),
    ("permute", lambda a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1),
     [((2, 3, 4), ANY)], True),
    ("reshape", lambda a: a.reshape(3, -1) ** 2, lambda a: a.reshape(3, -1) ** 2,
     [((2, 3), ANY)], True),
    ("view", lambda a: a.view(6).exp(), lambda a: np.exp(a.reshape(6)), [((2, 3), ANY)], True),
    ("flatten", lambda a: a.flatten(1), lambda a: a.reshape(2, -1), [((2, 3, 2), ANY)], True),
    ("expand", lambda a: a.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)),
     [((3, 1), ANY)], True),
    ("unsqueeze", lambda a: a.unsqueeze(1), lambda a: a[:, None], [((2, 3), ANY)], True),
    ("squeeze", lambda a: a.squeeze(), np.squeeze, [((2, 1, 3), ANY)], True),
    ("cat", lambda a, b: torch.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1),
     [((2, 3), ANY), ((2, 1), ANY)], True),
    ("stack", lambda a, b: torch.stack([a, b]), lambda a, b: np.stack([a, b]),
     [((2, 3), ANY), ((2, 3), ANY)], True),
    ("index-int", lambda a: a[1], lambda a: a[1], [((3, 2), ANY)], True),
    ("index-slice", lambda a: a[:, 1:3], lambda a: a[:, 1:3], [((2, 4), ANY)], True),
    ("index-mask", lambda a: a[torch.tensor(MASK)], lambda a: a[MASK], [((2, 3), ANY)], True),
    ("index-array", lambda a: a[torch.tensor([0, 2, 0])], lambda a: a[[0, 2, 0]],
     [((3, 2), ANY)], True),
    ("setitem", _set, _set, [((2, 3), ANY), ((2,), ANY)], True),
    ("softmax", lambda a: a.softmax(1), lambda a: _np_softmax(a, 1), [((3, 4), ANY)], True),
    ("log_softmax", lambda a: F.log_softmax(a, 0),
     lambda a: np.log(_np_softmax(a, 0)), [((3, 4), ANY)], True),
    ("cross_entropy", lambda a: F.cross_entropy(a, torch.tensor(LABELS)),
     lambda a: -np.log(_np_softmax(a, 1))[np.arange(4), LABELS].mean(), [((4, 3), ANY)], True),
    ("nll_loss-sum", lambda a: F.nll_loss(a, torch.tensor(LABELS), reduction="sum"),
     lambda a: -a[np.arange(4), LABELS].sum(), [((4, 3), ANY)], True),
    ("mse_loss", F.mse_loss, lambda a, b: ((a - b) ** 2).mean(), [((2, 3), ANY), ((2, 3), ANY)],
     True),
    ("linear", F.linear, lambda x, w, b: x @ w.T + b, [((2, 3), ANY), ((4, 3), ANY), ((4,), ANY)],
     True),
]


def _inputs(specs):
    out = []
    for shape, dom in specs:
        a = R.uniform(0.5, 2.0, shape) if dom == POS else R.standard_normal(shape)
        out.append(np.asarray(a, dtype=np.float64))
    return out


def _numeric_grad(f, arrays, i, w, eps=1e-6):
    x = arrays[i]
    g = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        old = x[k]
        x[k] = old + eps
        fp = np.sum(w * f(*arrays))
        x[k] = old - eps
        fm = np.sum(w * f(*arrays))
        x[k] = old
        g[k] = (fp - fm) / (2 * eps)
    return g


@pytest.mark.parametrize("name,fn,ref,specs,smooth", TABLE, ids=[c[0] for c in TABLE])
def test_forward_and_gradient(name, fn, ref, specs, smooth):
    arrays = _inputs(specs)
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*xs)
    expected = np.asarray(ref(*[a.copy() for a in arrays]))
    assert y.dtype == torch.float64
    assert tuple(y.shape) == expected.shape
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    w = R.standard_normal(expected.shape)
    (y * torch.tensor(w)).sum().backward()
    for i, x in enumerate(xs):
        assert x.grad is not None and x.grad.shape == x.shape, f"{name}: input {i}"
        np.testing.assert_allclose(x.grad.numpy(), _numeric_grad(ref, arrays, i, w), rtol=1e-5,
                                   atol=1e-6, err_msg=f"{name}: d/d input {i}")


SMOOTH = [c for c in TABLE if c[4]]


@pytest.mark.parametrize("name,fn,ref,specs,smooth", SMOOTH, ids=[c[0] for c in SMOOTH])
def test_second_derivative(name, fn, ref, specs, smooth):
    """Hessian-vector products from create_graph vs finite differences of the gradient."""
    arrays = _inputs(specs)
    w = None

    def grads(arrs, create_graph):
        nonlocal w
        xs = [torch.tensor(a, requires_grad=True) for a in arrs]
        y = fn(*xs)
        if w is None:
            w = torch.tensor(R.standard_normal(tuple(y.shape)))
        gs = torch.autograd.grad((y * w).sum(), xs, create_graph=create_graph)
        return xs, gs

    xs, gs = grads(arrays, True)
    vs = [torch.tensor(R.standard_normal(a.shape)) for a in arrays]
    s = sum((g * v).sum() for g, v in zip(gs, vs, strict=False))
    if not s.requires_grad:  # linear in every input: the second derivative is zero
        return
    hv = torch.autograd.grad(s, xs, allow_unused=True, materialize_grads=True)

    def s_of(*arrs):
        _, g2 = grads(list(arrs), False)
        return np.asarray(sum(float((g * v).sum()) for g, v in zip(g2, vs, strict=False)))

    for i in range(len(arrays)):
        num = _numeric_grad(s_of, [a.copy() for a in arrays], i, 1.0, eps=1e-5)
        np.testing.assert_allclose(hv[i].numpy(), num, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name}: second derivative wrt input {i}")


def test_integer_and_bool_dtypes_follow_pytorch_promotion():
    i = torch.tensor([1, 2, 3])
    assert i.dtype == torch.int64
    assert (i + 1).dtype == torch.int64
    assert (i + 1.5).dtype == torch.float32
    assert (i / 2).dtype == torch.float32
    assert (i * torch.tensor(2.0, dtype=torch.float64)).dtype == torch.float64
    assert (torch.ones(2) * torch.tensor(2.0, dtype=torch.float64)).dtype == torch.float32
    assert (torch.ones(2, dtype=torch.float64) + torch.ones(2)).dtype == torch.float64
    assert (i > 1).dtype == torch.bool
    assert (torch.tensor([True, False]) + 1).dtype == torch.int64
    assert i.sum().dtype == torch.int64
    assert torch.tensor([True, True]).sum().item() == 2
    assert torch.tensor(1.5).dtype == torch.float32
