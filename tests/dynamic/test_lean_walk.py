"""The lean backward walk (``dynamic/autograd/lean_walk.py``) against the general one, exactly.

With ``lean_walk.ENABLED`` off every backward takes the engine's general loop
(``array_backward.run_arrays``). Both must give the same gradient bits, the same ``.grad``
objects' behaviour (accumulation, adoption), the same errors, and must leave the same state
after a failure; graphs the lean walk declines (hooks, ``retain_grad``, custom functions,
captures at intermediate tensors) must still work.
"""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic.autograd import lean_walk
from tests.dynamic.test_op_table import TABLE, _inputs


def _both(run):
    """``run()`` with the lean walk on, then off."""
    out = []
    for on in (True, False):
        lean_walk.ENABLED[0] = on
        try:
            out.append(run())
        finally:
            lean_walk.ENABLED[0] = True
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,fn,ref,specs,smooth", TABLE, ids=[c[0] for c in TABLE])
def test_op_table_gradients_are_the_general_walks(name, fn, ref, specs, smooth, dtype):
    arrays = _inputs(specs)

    def run():
        xs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        y = fn(*xs)
        w = torch.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(dtype))
        gs = torch.autograd.grad((y * w).sum(), xs, allow_unused=True, retain_graph=True)
        (y * w).mean().backward()
        return ([None if g is None else (g.dtype, g.numpy().tobytes()) for g in gs],
                [None if x.grad is None else x.grad.numpy().tobytes() for x in xs])

    lean, general = _both(run)
    assert lean == general


def _mlp(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    shapes = {"W1": (2, 16), "b1": (16,), "W2": (16, 1), "b2": (1,)}
    return {k: torch.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
            for k, s in shapes.items()}


X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
Y = np.array([[0], [1], [1], [0]], np.float32)


def _loss(p, x, y):
    h = torch.tanh(torch.matmul(x, p["W1"]) + p["b1"])
    r = torch.matmul(h, p["W2"]) + p["b2"] - y
    return torch.mean(r * r)


def test_training_steps_are_the_general_walks():
    """SGD on an MLP: ``.grad`` set, accumulated (no ``zero_grad`` every other step), adopted."""

    def run():
        p = _mlp()
        opt = torch.optim.SGD(list(p.values()), lr=0.1)
        x, y = torch.tensor(X), torch.tensor(Y)
        seen = []
        for step in range(6):
            if step % 2 == 0:
                opt.zero_grad()
            loss = _loss(p, x, y)
            loss.backward()
            seen.append((loss.item(), [q.grad.numpy().tobytes() for q in p.values()]))
            opt.step()
        return seen, [q.detach().numpy().tobytes() for q in p.values()]

    lean, general = _both(run)
    assert lean == general


def test_grad_with_unused_input_and_uncaptured_leaves():
    """``autograd.grad`` of some leaves only: the others are not targets (the needed pass)."""

    def run():
        p = _mlp(1)
        x, y = torch.tensor(X), torch.tensor(Y)
        unused = torch.ones(3, requires_grad=True)
        loss = _loss(p, x, y)
        g = torch.autograd.grad(loss, [p["b1"], unused, p["W2"], p["b1"]], allow_unused=True,
                                retain_graph=True)
        loss.backward(inputs=[p["W1"]])
        return ([None if t is None else t.numpy().tobytes() for t in g],
                [None if q.grad is None else q.grad.numpy().tobytes() for q in p.values()])

    lean, general = _both(run)
    assert lean == general
    assert lean[0][1] is None and lean[0][0] == lean[0][3]
    assert lean[1][0] is not None and lean[1][1:] == [None, None, None]


def _error(fn):
    try:
        fn()
    except RuntimeError as e:
        return str(e)
    return None


def test_errors_and_state_after_them_are_the_general_walks():
    def run():
        out = []
        a = torch.tensor([1.0, 2.0], requires_grad=True)
        b = a * 2
        c = b.sigmoid()
        loss = (c * c).sum()
        loss.backward(retain_graph=True)
        g1 = a.grad.numpy().copy()
        c.mul_(2)  # c was saved by ``c * c``: backward must fail, .grad left as it was
        out.append(_error(loss.backward))
        out.append((a.grad.numpy().tobytes(), g1.tobytes(), a.grad._version))
        e = (a.exp()).sum()
        e.backward()
        out.append(_error(e.backward))  # freed graph
        out.append(_error(lambda: torch.autograd.grad(e, a)))
        out.append(a.grad.numpy().tobytes())
        return out

    lean, general = _both(run)
    assert lean == general
    assert "modified by an inplace operation" in lean[0]
    assert "backward through the graph a second time" in lean[2]


def test_graphs_the_lean_walk_declines_still_run():
    """Hooks, ``retain_grad``, a custom Function and an intermediate input take the general
    walk; their results are the general walk's."""

    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    def run():
        out = []
        a = torch.tensor([0.5, -1.5, 2.0], requires_grad=True)
        h = a * 3
        h.retain_grad()
        (h.tanh().sum()).backward()
        out.append((h.grad.numpy().tobytes(), a.grad.numpy().tobytes()))
        a.grad = None
        hk = a.register_hook(lambda g: g * 10)
        (a * a).sum().backward()
        hk.remove()
        out.append(a.grad.numpy().tobytes())
        a.grad = None
        Square.apply(a).sum().backward()
        out.append(a.grad.numpy().tobytes())
        h = a.exp()
        (gh,) = torch.autograd.grad((h * h).sum(), h)
        out.append(gh.numpy().tobytes())
        return out

    lean, general = _both(run)
    assert lean == general


def test_lean_plan_declines_what_it_cannot_run():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2
    y = (h * h).sum()
    assert lean_walk.plan((y.grad_fn,), None) is not None
    h.register_hook(lambda g: g)
    assert lean_walk.plan((y.grad_fn,), None) is None
    z = (a.exp()).sum()
    assert lean_walk.plan((z.grad_fn,), None) is not None
    a.register_hook(lambda g: g)  # a leaf hook
    assert lean_walk.plan((z.grad_fn,), None) is None
    b = torch.tensor([1.0, 2.0], requires_grad=True)
    u = (b * 3).sum()
    u.grad_fn.register_prehook(lambda g: None)
    assert lean_walk.plan((u.grad_fn,), None) is None
