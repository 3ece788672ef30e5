"""Custom ``autograd.Function``, ``gradcheck``/``gradgradcheck`` and ``utils.checkpoint``."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic.autograd.function import BackwardCFunction
from dynamic.autograd.graph import OpNode


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x ** 3 * k

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False)
        return g * 3 * x ** 2 * ctx.k, None


def test_function_forward_backward_and_names():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert y.tolist() == [2.0, 16.0] and type(y.grad_fn).__name__ == "CubeBackward"
    assert y.grad_fn.next_functions[0][0].variable is x
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]


def test_function_is_differentiable_with_create_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (g,) = torch.autograd.grad(Cube.apply(x, 1.0).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    assert h.tolist() == [6.0, 12.0]


def test_function_saved_tensors_version_check_and_freeing():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    z = x * 1
    y = Cube.apply(z, 1.0)
    z.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    y = Cube.apply(x * 1, 1.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


class Split(torch.autograd.Function):
    """Two outputs, one non-differentiable; a wrong gradient count is reported."""

    @staticmethod
    def forward(ctx, x):
        idx = torch.tensor([0, 1])
        ctx.mark_non_differentiable(idx)
        return x * 2, x.exp(), idx

    @staticmethod
    def backward(ctx, g1, g2, g3):
        return g1 * 2 + g2  # pretend d exp = 1


def test_function_multiple_outputs_and_materialized_grads():
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    a, b, idx = Split.apply(x)
    assert not idx.requires_grad and a.grad_fn is b.grad_fn
    a.sum().backward()  # g2 is materialised as zeros
    assert x.grad.tolist() == [2.0, 2.0]


def test_function_wrong_number_of_grads():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return (g,)

    x = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"returned an incorrect number of gradients \(expected "
                                           r"2, got 1\)"):
        Bad.apply(x, x).sum().backward()


def test_gradcheck_and_gradgradcheck():
    x = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([[0.5, 1.0, -1.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: (a.tanh() * b).sum(1) ** 2, (x, w))
    assert torch.autograd.gradgradcheck(lambda a: (a.sin() * a).exp(), (x,))
    assert torch.autograd.gradcheck(lambda a: Cube.apply(a, 1.5), (x,))


def test_gradcheck_detects_wrong_backward():
    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(torch.autograd.GradcheckError, match="Jacobian mismatch for output 0 "
                                                            "with respect to input 0"):
        torch.autograd.gradcheck(Wrong.apply, (x,))
    assert torch.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False
    with pytest.warns(UserWarning, match="not a double precision"):
        torch.autograd.gradcheck(lambda a: a * 2, (torch.ones(2, requires_grad=True),),
                                 atol=1e-2, rtol=1e-2, eps=1e-2)


def _saved_arrays(t) -> int:
    """How many tensors the graph behind ``t`` keeps for backward."""
    seen, stack, count = set(), [t.grad_fn], 0
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        if isinstance(fn, OpNode):
            count += len(fn._saved_tensors())
        elif isinstance(fn, BackwardCFunction):
            count += len(getattr(fn, "_saved", ()) or ())
        stack.extend(n for n, _ in fn.next_functions)
    return count


def _block(x, w):
    for _ in range(4):
        x = (x @ w).tanh().exp()
    return x


def test_checkpoint_recomputes_and_saves_fewer_tensors():
    torch.manual_seed(0)
    w = (torch.randn(3, 3) * 0.3).requires_grad_()
    x = torch.randn(2, 3, requires_grad=True)
    plain = _block(x, w).sum()
    ck = torch.utils.checkpoint.checkpoint(_block, x, w, use_reentrant=True).sum()
    assert _saved_arrays(ck) < _saved_arrays(plain)
    assert _saved_arrays(ck) == 2  # only the inputs of the checkpointed segment
    plain.backward()
    gx, gw = x.grad.clone(), w.grad.clone()
    x.grad = w.grad = None
    assert abs(ck.item() - plain.item()) < 1e-6
    ck.backward()
    np.testing.assert_allclose(x.grad.numpy(), gx.numpy(), rtol=1e-5)
    np.testing.assert_allclose(w.grad.numpy(), gw.numpy(), rtol=1e-5)


def test_checkpoint_sequential_and_rng_replay():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    x = torch.randn(5, 3, requires_grad=True)
    out = torch.utils.checkpoint.checkpoint_sequential(model, 2, x)
    np.testing.assert_allclose(out.detach().numpy(), model(x).detach().numpy(), rtol=1e-6)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters()) and x.grad is not None

    def noisy(a):
        return a * torch.rand(3)

    y = torch.utils.checkpoint.checkpoint(noisy, torch.ones(3, requires_grad=True))
    leaf = y.grad_fn.next_functions[2][0].variable
    y.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), y.detach().numpy())  # same noise replayed
