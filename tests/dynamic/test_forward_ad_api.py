"""Forward AD's API beyond the op table: levels and their errors (PyTorch's texts), tangents
of non-differentiable ops, in-place writes, custom Functions, ``torch.func.jvp``/``jacfwd``/
``hessian`` and ``autograd.functional.jacobian(strategy="forward-mode")`` against PyTorch,
nesting, reverse over forward, and the eager fast paths restored when the last level closes."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
import dynamic.autograd.forward_ad as fwAD
from dynamic import _fast_path
from dynamic._frontend import Frontend
from dynamic.func import hessian, jacfwd, jacrev, jvp
from staticgraph import ops

R = np.random.default_rng(11)


def t64(*shape):
    return dynamic.tensor(R.standard_normal(shape))


def test_levels_and_their_errors_are_pytorchs():
    x, t = t64(3), t64(3)
    with pytest.raises(RuntimeError, match="no level exists, make sure to enter_dual_level"):
        fwAD.make_dual(x, t)
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported"):
            fwAD.enter_dual_level()
        with pytest.raises(RuntimeError, match=r"Tensor is of size \[3\] while the given forward "
                                               r"gradient is of size \[4\]"):
            fwAD.make_dual(x, t64(4))
        with pytest.raises(ValueError, match="Expected primal to be floating point"):
            fwAD.make_dual(dynamic.tensor([1, 2, 3]), t)
        d = fwAD.make_dual(x, t)
        with pytest.raises(RuntimeError, match="already has a forward gradient at the same "
                                               "level 0"):
            fwAD.make_dual(d, t)
        assert fwAD.unpack_dual(x).tangent is None and fwAD.unpack_dual(x).primal is x
        p, tan = fwAD.unpack_dual(d)
        assert tan is t and fwAD.unpack_dual(p).tangent is None
        np.testing.assert_array_equal(p.numpy(), x.numpy())
        assert type(fwAD.unpack_dual(d)).__name__ == "UnpackedDualTensor"
    assert fwAD.unpack_dual(d).tangent is None  # the level's tangents are gone
    with pytest.raises(RuntimeError, match="not the last one that was created"):
        fwAD.exit_dual_level()


def test_fast_paths_are_back_once_the_last_level_closes():
    assert isinstance(dynamic.Tensor.__sg_frontend__, Frontend) and _fast_path.ENABLED[0]
    with pytest.raises(ZeroDivisionError), fwAD.dual_level():
        assert not _fast_path.ENABLED[0]
        assert not isinstance(dynamic.Tensor.__sg_frontend__, Frontend)
        1 / 0  # noqa: B018 - an error inside the level closes it too
    assert isinstance(dynamic.Tensor.__sg_frontend__, Frontend) and _fast_path.ENABLED[0]


def test_non_differentiable_ops_give_no_tangent():
    with fwAD.dual_level():
        d = fwAD.make_dual(t64(2, 3), t64(2, 3))
        for y in (d.argmax(), d > 0, d.argmin(1)):
            assert fwAD.unpack_dual(y).tangent is None


def test_an_op_without_a_jvp_raises_pytorchs_error():
    probe = ops.Op(name="fwd_probe_op", impl=np.negative, infer=lambda x: (x.shape, x.dtype),
                   vjp=lambda g, out, x: (ops.neg(g),))
    with fwAD.dual_level():
        d = fwAD.make_dual(t64(3), t64(3))
        with pytest.raises(NotImplementedError, match="Trying to use forward AD with fwd_probe_op "
                                                      "that does not support it because it has "
                                                      "not been implemented yet"):
            ops.bind(probe, d)
        assert fwAD.unpack_dual(ops.bind(probe, t64(3))).tangent is None  # no tangent in: fine


def test_in_place_ops_update_the_tangent():
    x, t = t64(3), t64(3)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, t).clone()
        d.mul_(2.0)
        d.add_(d)
        np.testing.assert_allclose(fwAD.unpack_dual(d).tangent.numpy(), 4 * t.numpy())
        d[1] = 5.0
        np.testing.assert_allclose(fwAD.unpack_dual(d).tangent.numpy(), [4 * t[0].item(), 0.0,
                                                                           4 * t[2].item()])


class Cube(dynamic.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        return 3 * ctx.x ** 2 * g

    @staticmethod
    def jvp(ctx, t):
        return 3 * ctx.x ** 2 * t


class NoJvp(dynamic.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_custom_function_uses_its_jvp_or_says_it_needs_one():
    x, t = t64(3), t64(3)
    with fwAD.dual_level():
        y = Cube.apply(fwAD.make_dual(x, t))
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.numpy(),
                                   3 * x.numpy() ** 2 * t.numpy())
        with pytest.raises(NotImplementedError, match="You must implement the jvp function for "
                                                      "custom autograd.Function"):
            NoJvp.apply(fwAD.make_dual(x, t))


def _f(x, w):
    return ((x @ w).tanh() * x.sum()).exp().sum(0)


def test_func_transforms_match_torch():
    torch = pytest.importorskip("torch")
    xa, wa, ta = R.standard_normal((3, 2)), R.standard_normal((2, 4)), R.standard_normal((3, 2))
    D, T = dynamic, torch
    mine = jvp(_f, (D.tensor(xa), D.tensor(wa)), (D.tensor(ta), D.zeros(2, 4, dtype=D.float64)))
    ref = T.func.jvp(_f, (T.tensor(xa), T.tensor(wa)), (T.tensor(ta), T.zeros(2, 4,
                                                                                dtype=T.float64)))
    for m, r in zip(mine, ref, strict=True):
        np.testing.assert_allclose(m.detach().numpy(), r.detach().numpy(), rtol=1e-10)
    for argnums in (0, 1, (0, 1)):
        m = jacfwd(_f, argnums)(D.tensor(xa), D.tensor(wa))
        r = T.func.jacfwd(_f, argnums)(T.tensor(xa), T.tensor(wa))
        for a, b in zip(m if isinstance(m, tuple) else (m,), r if isinstance(r, tuple) else (r,),
                        strict=True):
            assert not a.requires_grad
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)

    def scalar(x):
        return (x.sin() * x.cumprod(0)).sum() ** 2

    v = R.standard_normal(4)
    for mode in (hessian(scalar), jacfwd(jacfwd(scalar)), jacrev(jacfwd(scalar))):
        np.testing.assert_allclose(mode(D.tensor(v)).detach().numpy(),
                                   T.func.hessian(scalar)(T.tensor(v)).numpy(), rtol=1e-9)
    out, tan, aux = jvp(lambda x: (x.exp(), x.sum()), (D.tensor(v),), (D.ones(4).double(),),
                        has_aux=True)
    np.testing.assert_allclose(tan.numpy(), np.exp(v))
    assert aux.item() == pytest.approx(v.sum())


def test_jvp_of_jvp_is_a_second_derivative():
    x = dynamic.tensor(0.7, dtype=dynamic.float64)
    one = dynamic.tensor(1.0, dtype=dynamic.float64)

    def d1(x):
        return jvp(lambda y: y.sin() * y, (x,), (one,))[1]

    d2 = jvp(d1, (x,), (one,))[1]
    assert d2.item() == pytest.approx(2 * np.cos(0.7) - 0.7 * np.sin(0.7), rel=1e-12)


def test_reverse_over_forward_matches_torch():
    torch = pytest.importorskip("torch")
    xa, ta = R.standard_normal(4), R.standard_normal(4)

    def run(T, fw):
        x = T.tensor(xa, requires_grad=True)
        with fw.dual_level():
            y = (fw.make_dual(x, T.tensor(ta)).tanh() ** 2).sum()
            tangent = fw.unpack_dual(y).tangent
        (g,) = T.autograd.grad(tangent, x)
        return tangent.detach().numpy(), g.numpy()

    import torch.autograd.forward_ad as tfw

    for m, r in zip(run(dynamic, fwAD), run(torch, tfw), strict=True):
        np.testing.assert_allclose(m, r, rtol=1e-10)


def test_functional_jacobian_forward_mode_matches_torch():
    torch = pytest.importorskip("torch")
    xa = R.standard_normal((2, 3))

    def f(x):
        return x.softmax(1) * x.logsumexp(1, keepdim=True)

    mine = dynamic.autograd.functional.jacobian(f, dynamic.tensor(xa), vectorize=True,
                                                strategy="forward-mode")
    ref = torch.autograd.functional.jacobian(f, torch.tensor(xa), vectorize=True,
                                             strategy="forward-mode")
    np.testing.assert_allclose(mine.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)

    def s(x):
        return (x.exp() * x).sum()

    mine = dynamic.autograd.functional.hessian(s, dynamic.tensor(xa), vectorize=True,
                                               outer_jacobian_strategy="forward-mode")
    ref = torch.autograd.functional.hessian(s, torch.tensor(xa), vectorize=True,
                                            outer_jacobian_strategy="forward-mode")
    np.testing.assert_allclose(mine.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
