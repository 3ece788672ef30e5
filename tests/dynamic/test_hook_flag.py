"""``graph.HOOKED``: until a hook or ``retain_grad`` is registered the one-pass walk skips the
per-node hook checks; each way of registering one turns the checks on, so the hook runs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import dynamic
from dynamic.autograd import graph


@pytest.fixture
def unhooked() -> object:
    """A process where nothing registered a hook yet (the flag restored afterwards)."""
    was = graph.HOOKED[0]
    graph.HOOKED[0] = False
    yield
    graph.HOOKED[0] = was or graph.HOOKED[0]


def _leaf() -> dynamic.Tensor:
    return dynamic.tensor(np.array([1.0, -2.0, 0.5], np.float32), requires_grad=True)


def _tensor_hook(x: dynamic.Tensor, z: dynamic.Tensor, seen: list) -> None:
    z.register_hook(lambda g: seen.append(1) or g * 2.0)


def _leaf_hook(x: dynamic.Tensor, z: dynamic.Tensor, seen: list) -> None:
    x.register_hook(lambda g: seen.append(1) or g * 2.0)


def _node_prehook(x: dynamic.Tensor, z: dynamic.Tensor, seen: list) -> None:
    z.grad_fn.register_prehook(lambda gs: seen.append(1) or (gs[0] * 2.0,))


def _node_hook(x: dynamic.Tensor, z: dynamic.Tensor, seen: list) -> None:
    z.grad_fn.register_hook(lambda gi, go: seen.append(1) or (gi[0] * 2.0, None))


@pytest.mark.parametrize("register", [_tensor_hook, _leaf_hook, _node_prehook, _node_hook])
def test_each_registration_turns_the_checks_on(unhooked: object, register: Callable) -> None:
    x = _leaf()
    (x * x).sum().backward()  # no hooks anywhere: the unchecked walk
    assert graph.HOOKED[0] is False
    np.testing.assert_array_equal(x.grad.numpy(), 2 * x.detach().numpy())
    x.grad = None
    z = x * 3.0
    seen: list = []
    register(x, z, seen)
    assert graph.HOOKED[0] is True
    z.sum().backward()
    assert seen == [1]
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 6.0, np.float32))


def test_retain_grad_turns_the_checks_on(unhooked: object) -> None:
    x = _leaf()
    z = x * 3.0
    z.retain_grad()
    assert graph.HOOKED[0] is True
    (z * z).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), 2 * z.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), 18 * x.detach().numpy())
