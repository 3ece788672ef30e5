"""A composite node (``F.pad``, layer norm...) reached by a large cotangent the engine owns:
the backward walkers ask the node's op for an in-place rule (``np_vjp_owned``), which the
composite op record lacked (AttributeError; found by the fuzzer, seed 7139: ``floor(F.pad(
relu(x)))`` at batch 868)."""

from __future__ import annotations

import numpy as np

import dynamic
import dynamic.nn.functional as F  # noqa: N812
from staticgraph import ops


def test_a_large_owned_cotangent_through_a_composite_node() -> None:
    a = np.random.default_rng(0).standard_normal((868, 4, 5))
    x = dynamic.tensor(a, requires_grad=True)
    y = ops.floor(F.pad(ops.relu(x), (1, 3, 2, 0)))  # floor: a fresh all-zero cotangent
    (g,) = dynamic.autograd.grad([y], [x], [dynamic.ones_like(y)])
    np.testing.assert_array_equal(g.detach().numpy(), np.zeros_like(a))
    x2 = dynamic.tensor(a, requires_grad=True)
    ops.mul(F.pad(ops.relu(x2), (1, 3, 2, 0)), 2.0).sum().backward()
    np.testing.assert_array_equal(x2.grad.numpy(), np.where(a > 0, 2.0, 0.0))
