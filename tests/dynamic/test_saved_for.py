"""PyTorch saves an input of ``mul``/``div``/``matmul`` only when another input's gradient reads
it (``Op.saved_for``): writing such an input in place before ``backward()`` is an error only
when its value is needed. Each case states PyTorch's outcome; with torch installed it is also
checked against torch itself."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic

X = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
W = np.array([[0.5, -1.0], [2.0, 1.5]], np.float32)

# name: (program(lib, x, w) -> (loss, intermediate written in place), raises in PyTorch)
CASES = {
    "mul_python_number": (lambda lib, x, w: _mid(x, lambda a: a * 3.0), False),
    "number_mul": (lambda lib, x, w: _mid(x, lambda a: 3.0 * a), False),
    "div_python_number": (lambda lib, x, w: _mid(x, lambda a: a / 4.0), False),
    "mul_frozen_tensor": (lambda lib, x, w: _mid(x, lambda a: a * lib.tensor(W)), False),
    "mul_frozen_first": (lambda lib, x, w: _mid(x, lambda a: lib.tensor(W) * a), False),
    "mul_self": (lambda lib, x, w: _mid(x, lambda a: a * a), True),
    "mul_trainable": (lambda lib, x, w: _mid(x, lambda a: a * w), True),
    "div_by_written": (lambda lib, x, w: _mid(x, lambda a: lib.tensor(W) / a), True),
    "matmul_frozen_weight": (lambda lib, x, w: _mid(x, lambda a: a @ lib.tensor(W)), False),
    "matmul_trainable_weight": (lambda lib, x, w: _mid(x, lambda a: a @ w), True),
    "pow_number": (lambda lib, x, w: _mid(x, lambda a: a ** 2), True),
}


def _mid(x, f):
    a = x * 1.0  # a non-leaf the program writes in place
    return f(a).sum(), a


def _run(lib, name):
    x = lib.tensor(X, requires_grad=True)
    w = lib.tensor(W, requires_grad=True)
    loss, a = CASES[name][0](lib, x, w)
    a.add_(1.0)
    try:
        loss.backward()
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e)
        return True, None
    return False, x.grad.numpy().copy()


@pytest.mark.parametrize("name", list(CASES))
def test_in_place_write_raises_only_where_the_value_is_read(name):
    raised, grad = _run(dynamic, name)
    assert raised is CASES[name][1]
    if not raised:  # the gradient does not depend on the overwritten values
        x = dynamic.tensor(X, requires_grad=True)
        CASES[name][0](dynamic, x, dynamic.tensor(W, requires_grad=True))[0].backward()
        np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    raised, grad = _run(dynamic, name)
    t_raised, t_grad = _run(torch, name)
    assert raised is t_raised
    if not raised:
        np.testing.assert_allclose(grad, t_grad, rtol=1e-6)


def test_grad_fn_still_holds_both_inputs_for_create_graph():
    x = dynamic.tensor(X, requires_grad=True)
    y = x * 3.0
    (g,) = dynamic.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), np.full_like(X, 3.0))
