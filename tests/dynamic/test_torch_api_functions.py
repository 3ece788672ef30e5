"""The torch functions and Tensor methods added for "real programs running unchanged"
(``dynamic/_torch_functions.py``, ``_torch_methods.py``, ``_torch_index_methods.py``,
``_einsum.py``; records in ``staticgraph/ops/special.py`` and ``diagonal.py``).

Each row: how to compute it (``f(T, *tensors)``, ``T`` being ``dynamic`` or ``torch``), the input
shapes, a numpy reference of the first output (runs without torch), and PyTorch's ``grad_fn``
name. Gradients are checked against central finite differences in float64 (``gradcheck``), and,
where torch is installed, values and gradients against torch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import dynamic as dt

R = np.random.default_rng(7)
_erfinv = np.vectorize(lambda v: _bisect(math.erf, v, -6.0, 6.0))


def _bisect(f, v, lo, hi):
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < v else (lo, mid)
    return (lo + hi) / 2


def _np_lerp(a, b, w):
    return a + w * (b - a)


# name, f(T, *xs), input shapes, numpy reference (of the first output) or None, grad_fn
ROWS = [
    ("einsum_mm", lambda T, a, b: T.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)],
     lambda a, b: a @ b, "ViewBackward0"),
    ("einsum_batch", lambda T, a, b: T.einsum("bhqd,bhkd->bhqk", a, b),
     [(2, 2, 3, 4), (2, 2, 5, 4)], lambda a, b: np.einsum("bhqd,bhkd->bhqk", a, b), None),
    ("einsum_trace", lambda T, a: T.einsum("ii", a), [(3, 3)], np.trace, "SumBackward1"),
    ("einsum_diag", lambda T, a: T.einsum("ii->i", a), [(3, 3)], np.diag, None),
    ("einsum_ellipsis", lambda T, a, b: T.einsum("...ij,...jk", a, b), [(2, 1, 2, 3), (5, 3, 2)],
     lambda a, b: np.einsum("...ij,...jk", a, b), None),
    ("einsum_three", lambda T, a, b, c: T.einsum("ij,jk,kl->il", a, b, c),
     [(2, 3), (3, 4), (4, 2)], lambda a, b, c: a @ b @ c, None),
    ("einsum_outer", lambda T, a, b: T.einsum("i,j->ij", a, b), [(3,), (2,)], np.outer, None),
    ("einsum_sum_one", lambda T, a, b: T.einsum("ijk,ik->j", a, b), [(2, 3, 4), (2, 4)],
     lambda a, b: np.einsum("ijk,ik->j", a, b), None),
    ("lerp", lambda T, a, b: T.lerp(a, b, 0.3), [(2, 3), (2, 3)],
     lambda a, b: _np_lerp(a, b, 0.3), "LerpBackward0"),
    ("lerp_high", lambda T, a, b: T.lerp(a, b, 0.7), [(2, 3), (3,)],
     lambda a, b: _np_lerp(a, b, 0.7), "LerpBackward0"),
    ("lerp_tensor", lambda T, a, b, w: T.lerp(a, b, w), [(2, 3), (2, 3), (3,)], _np_lerp,
     "LerpBackward1"),
    ("addmm", lambda T, s, a, b: T.addmm(s, a, b, beta=0.5, alpha=2), [(4,), (3, 5), (5, 4)],
     lambda s, a, b: 0.5 * s + 2 * a @ b, "AddmmBackward0"),
    ("baddbmm", lambda T, s, a, b: T.baddbmm(s, a, b), [(2, 3, 4), (2, 3, 5), (2, 5, 4)],
     lambda s, a, b: s + a @ b, "BaddbmmBackward0"),
    ("addcmul", lambda T, s, a, b: T.addcmul(s, a, b, value=0.5), [(3,), (2, 3), (2, 3)],
     lambda s, a, b: s + 0.5 * a * b, "AddcmulBackward0"),
    ("addcdiv", lambda T, s, a, b: T.addcdiv(s, a, b.exp(), value=0.5), [(3,), (2, 3), (2, 3)],
     lambda s, a, b: s + 0.5 * a / np.exp(b), "AddcdivBackward0"),
    ("atan2", lambda T, a, b: T.atan2(a, b), [(2, 3), (3,)], np.arctan2, "Atan2Backward0"),
    ("hypot", lambda T, a, b: T.hypot(a, b), [(2, 3), (3,)], np.hypot, "HypotBackward0"),
    ("fmod", lambda T, a, b: T.fmod(a * 3, b), [(2, 3), (3,)],
     lambda a, b: np.fmod(a * 3, b), "FmodBackward1"),
    ("fmod_scalar", lambda T, a: T.fmod(a * 3, 0.7), [(2, 3)], lambda a: np.fmod(a * 3, 0.7),
     "FmodBackward0"),
    ("remainder", lambda T, a, b: T.remainder(a * 3, b), [(2, 3), (3,)],
     lambda a, b: np.remainder(a * 3, b), "RemainderBackward1"),
    ("sinh", lambda T, a: a.sinh(), [(4,)], np.sinh, "SinhBackward0"),
    ("cosh", lambda T, a: a.cosh(), [(4,)], np.cosh, "CoshBackward0"),
    ("asinh", lambda T, a: a.asinh(), [(4,)], np.arcsinh, "AsinhBackward0"),
    ("exp2", lambda T, a: a.exp2(), [(4,)], np.exp2, "Exp2Backward0"),
    ("lgamma", lambda T, a: (a * 3).lgamma(), [(5,)],
     np.vectorize(lambda v: math.lgamma(3 * v)), "LgammaBackward0"),
    ("digamma", lambda T, a: a.exp().digamma(), [(5,)], None, "DigammaBackward0"),
    ("erfinv", lambda T, a: (a.tanh() * 0.9).erfinv(), [(5,)],
     lambda a: _erfinv(np.tanh(a) * 0.9), "ErfinvBackward0"),
    ("frac", lambda T, a: (a * 3).frac(), [(2, 3)], lambda a: np.modf(a * 3)[0], "FracBackward0"),
    ("logit", lambda T, a: a.sigmoid().logit(), [(2, 3)], lambda a: a, "LogitBackward0"),
    ("logit_eps", lambda T, a: a.sigmoid().logit(eps=0.3), [(2, 3)],
     lambda a: np.log(np.clip(1 / (1 + np.exp(-a)), 0.3, 0.7) /
                      (1 - np.clip(1 / (1 + np.exp(-a)), 0.3, 0.7))), "LogitBackward0"),
    ("xlogy", lambda T, a, b: T.xlogy(a, b.exp()), [(2, 3), (2, 3)], lambda a, b: a * b,
     "XlogyBackward0"),
    ("nan_to_num", lambda T, a: T.nan_to_num(T.log(a), posinf=5.0), [(2, 3)],
     None, "NanToNumBackward0"),
    ("masked_select", lambda T, a: T.masked_select(a, a > 0), [(2, 3)], lambda a: a[a > 0],
     "MaskedSelectBackward0"),
    ("unbind", lambda T, a: a.unbind(1), [(2, 3)], lambda a: a[:, 0], "UnbindBackward0"),
    ("movedim", lambda T, a: a.movedim((0, 1), (2, 0)), [(2, 3, 4)],
     lambda a: np.moveaxis(a, (0, 1), (2, 0)), "PermuteBackward0"),
    ("unflatten", lambda T, a: a.unflatten(1, (2, -1)), [(2, 6)], lambda a: a.reshape(2, 2, 3),
     "ViewBackward0"),
    ("repeat_interleave", lambda T, a: a.repeat_interleave(2, dim=0), [(2, 3)],
     lambda a: np.repeat(a, 2, 0), "ViewBackward0"),
    ("repeat_interleave_tensor", lambda T, a: a.repeat_interleave(T.tensor([1, 0, 2]), dim=1),
     [(2, 3)], lambda a: np.repeat(a, [1, 0, 2], 1), "IndexSelectBackward0"),
    ("take", lambda T, a: a.take(T.tensor([0, 5, -1])), [(2, 3)],
     lambda a: a.reshape(-1)[[0, 5, -1]], "TakeBackward0"),
    ("diff", lambda T, a: a.diff(n=2, dim=1), [(2, 5)], lambda a: np.diff(a, 2, 1), None),
    ("diagonal", lambda T, a: a.diagonal(1, 0, 2), [(3, 2, 4)],
     lambda a: np.diagonal(a, 1, 0, 2), "DiagonalBackward0"),
    ("diag_embed", lambda T, a: T.diag_embed(a, 1), [(2, 3)], None, "DiagEmbedBackward0"),
    ("meshgrid_xy", lambda T, a, b: T.meshgrid(a, b, indexing="xy"), [(3,), (2,)],
     lambda a, b: np.meshgrid(a, b, indexing="xy")[0], None),
    ("meshgrid_ij", lambda T, a, b, c: T.meshgrid(a, b, c, indexing="ij"), [(3,), (2,), (4,)],
     lambda a, b, c: np.meshgrid(a, b, c, indexing="ij")[0], "ExpandBackward0"),
    ("broadcast_tensors", lambda T, a, b: T.broadcast_tensors(a, b), [(3, 1), (4,)],
     lambda a, b: np.broadcast_arrays(a, b)[0], "ExpandBackward0"),
    ("tensordot", lambda T, a, b: T.tensordot(a, b, dims=([1, 0], [0, 2])),
     [(3, 2, 4), (2, 5, 3)], lambda a, b: np.tensordot(a, b, ([1, 0], [0, 2])), None),
    ("kron", lambda T, a, b: T.kron(a, b), [(2, 3), (3, 2)], np.kron, None),
    ("cross", lambda T, a, b: T.cross(a, b, dim=1), [(4, 3), (4, 3)],
     lambda a, b: np.cross(a, b, axis=1), "LinalgCrossBackward0"),
    ("cdist", lambda T, a, b: T.cdist(a, b), [(4, 3), (5, 3)],
     lambda a, b: np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)), "CdistBackward0"),
    ("dist", lambda T, a, b: T.dist(a, b), [(4, 3), (4, 3)],
     lambda a, b: np.sqrt(((a - b) ** 2).sum()), "DistBackward0"),
    ("take_along_dim", lambda T, a: T.take_along_dim(a, T.tensor([[0, 2], [1, 1]]), 1), [(2, 3)],
     lambda a: np.take_along_axis(a, np.array([[0, 2], [1, 1]]), 1), "GatherBackward0"),
    ("block_diag", lambda T, a, b: T.block_diag(a, b), [(2, 3), (1, 2)], None,
     "BlockDiagBackward0"),
    ("nansum", lambda T, a: T.nansum(a, 1), [(2, 3)], lambda a: np.nansum(a, 1),
     "NansumBackward0"),
    ("std_mean", lambda T, a: T.std_mean(a, 1), [(2, 3)], lambda a: a.std(1, ddof=1), None),
    ("aminmax", lambda T, a: tuple(T.aminmax(a, dim=0)), [(2, 3)], lambda a: a.min(0), None),
    ("cartesian_prod", lambda T, a, b: T.cartesian_prod(a, b), [(3,), (2,)], None,
     "StackBackward0"),
    ("combinations", lambda T, a: T.combinations(a, 2), [(4,)], None, "StackBackward0"),
    ("polygamma", lambda T, a: T.polygamma(2, a.exp()), [(4,)], None, "PolygammaBackward0"),
    ("cummax", lambda T, a: tuple(T.cummax(a, 1)), [(3, 5)],
     lambda a: np.maximum.accumulate(a, 1), "CummaxBackward0"),
    ("cummin", lambda T, a: tuple(T.cummin(a, 0)), [(4, 3)],
     lambda a: np.minimum.accumulate(a, 0), "CumminBackward0"),
    ("logcumsumexp", lambda T, a: T.logcumsumexp(a * 5, 1), [(3, 5)],
     lambda a: np.logaddexp.accumulate(a * 5, 1), "LogcumsumexpBackward0"),
    ("kthvalue", lambda T, a: tuple(T.kthvalue(a, 2, 1)), [(3, 5)],
     lambda a: np.sort(a, 1)[:, 1], "KthvalueBackward0"),
    ("median", lambda T, a: T.median(a), [(4, 3)],
     lambda a: np.sort(a.reshape(-1))[5], "MedianBackward0"),
    ("median_dim", lambda T, a: tuple(T.median(a, 1, keepdim=True)), [(3, 4)],
     lambda a: np.sort(a, 1)[:, 1:2], "MedianBackward1"),
    ("unfold", lambda T, a: a.unfold(1, 2, 1), [(3, 5)],
     lambda a: np.stack([a[:, i:i + 2] for i in range(4)], 1), "UnfoldBackward0"),
]


def _run(T, row, dtype):
    _, f, shapes, _, _ = row
    rng = np.random.default_rng(abs(hash(row[0])) % 2**32)
    arrs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ts = [T.tensor(a, requires_grad=True) for a in arrs]
    out = f(T, *ts)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    weights = [np.linspace(-1, 1, o.numel()).reshape(tuple(o.shape)).astype(dtype) for o in outs]
    total = sum((o * T.tensor(w)).sum() for o, w in zip(outs, weights, strict=True))
    total.backward()
    grads = [t.grad.numpy() if t.grad is not None else None for t in ts]
    return arrs, [o.detach().numpy() for o in outs], grads, outs


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_values_against_numpy_and_grad_fn(row):
    name, _, _, ref, grad_fn = row
    arrs, outs, grads, touts = _run(dt, row, np.float64)
    if ref is not None:
        np.testing.assert_allclose(outs[0], ref(*arrs), rtol=1e-6, atol=1e-9, err_msg=name)
    if grad_fn is not None:
        assert type(touts[0].grad_fn).__name__ == grad_fn
    assert all(g is not None for g in grads), name


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_gradients_by_finite_differences(row):
    name, f, shapes, _, _ = row
    if name in ("frac", "fmod", "fmod_scalar", "remainder", "masked_select", "nan_to_num"):
        pytest.skip("piecewise: checked against torch")
    rng = np.random.default_rng(3)
    ts = [dt.tensor(rng.standard_normal(s) * 0.5 + (0.2 if name == "digamma" else 0),
                    requires_grad=True) for s in shapes]

    def fn(*xs):
        out = f(dt, *xs)
        return tuple(out) if isinstance(out, (tuple, list)) else out
    assert dt.autograd.gradcheck(fn, tuple(ts), eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_values_gradients_and_names_against_torch(row):
    torch = pytest.importorskip("torch")
    a_in, a_out, a_grads, a_t = _run(dt, row, np.float32)
    b_in, b_out, b_grads, b_t = _run(torch, row, np.float32)
    for x, y in zip(a_out, b_out, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5, err_msg=row[0])
    for x, y in zip(a_grads, b_grads, strict=True):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5, err_msg=row[0])
    if row[4] is not None:
        assert type(a_t[0].grad_fn).__name__ == type(b_t[0].grad_fn).__name__
