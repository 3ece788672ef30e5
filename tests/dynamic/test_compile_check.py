"""The first run's chunked comparison (dynamic/_compile/check.py) answers as ``np.allclose``."""

from __future__ import annotations

import numpy as np
import pytest

from dynamic._compile.check import CHUNK, close


@pytest.mark.parametrize("n", [5, CHUNK, 3 * CHUNK + 7])
def test_close_agrees_with_allclose(n):
    rng = np.random.default_rng(0)
    want = rng.standard_normal(n).astype(np.float32)
    cases = [want.copy(), want * np.float32(1 + 5e-4), want + np.float32(2e-3)]
    bad = want.copy()
    bad[n - 1] += 1.0  # one element of the last chunk is off
    cases.append(bad)
    special = want.copy()
    special[:3] = [np.nan, np.inf, -np.inf]
    want_special = special.copy()
    for got, ref in [(c, want) for c in cases] + [(special, want_special)]:
        expect = np.allclose(got, ref, rtol=1e-3, atol=1e-3, equal_nan=True)
        assert close(got, ref, 1e-3) == expect
    nan_vs_value = want_special.copy()
    nan_vs_value[0] = 1.0
    assert not close(nan_vs_value, want_special, 1e-3)
    assert not close(want_special, nan_vs_value, 1e-3)


def test_close_other_shapes_and_dtypes():
    a = np.arange(2 * CHUNK, dtype=np.float64).reshape(2, CHUNK)
    assert close(a.copy(), a, 1e-8)
    assert not close(a.reshape(CHUNK, 2), a, 1e-8)
    assert close(a.astype(np.float32), a, 1e-3)  # mixed dtypes: np.allclose decides
    assert close(np.array([1, 2]), np.array([1, 2]), 1e-8)
    assert not close(np.array([1, 3]), np.array([1, 2]), 1e-8)
