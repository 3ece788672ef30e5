"""Helpers of the tests that run one small training step compiled and eagerly side by side."""

from __future__ import annotations

import numpy as np

import dynamic as torch


def data(n: int = 4):
    """A small regression batch: inputs (n, 2) and targets (n, 1), float32."""
    rng = np.random.default_rng(0)
    return (torch.tensor(rng.normal(size=(n, 2)).astype(np.float32)),
            torch.tensor(rng.normal(size=(n, 1)).astype(np.float32)))


def assert_same(m1, m2) -> None:
    """The two models' parameters, ``.grad`` and version counters agree."""
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        # (float32 rounding: the first call's values come from the plan too, issue #14)
        np.testing.assert_allclose(p1.detach().numpy(), p2.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-5, atol=1e-6)
        assert p1._version == p2._version and p1.grad._version == p2.grad._version
