"""``x.mean()`` on the lean path (``_fast_path.reduce_all``) computes ``_mean_impl``'s float
case directly: numpy's ``mean`` bits, dtype and 0-d result, and the same gradient."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch


@pytest.mark.parametrize("dt", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (4, 1), (7, 3), (5, 4, 3), (1000,), (300, 257)])
def test_full_mean_is_numpys(dt, shape):
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 50).astype(dt)
    t = torch.tensor(x, requires_grad=True)
    m = t.mean()
    want = np.asarray(x.mean())
    assert m._data.shape == () and m._data.dtype == dt and m._data.tobytes() == want.tobytes()
    assert type(m.grad_fn).__name__ == "MeanBackward0"
    m.backward()
    if x.size <= 2048:  # (a float16 count past 65504 is inf there: not this path's concern)
        np.testing.assert_array_equal(t.grad.numpy(), np.full(shape, 1 / x.size, dt))


def test_empty_mean_is_nan_as_numpy():
    t = torch.tensor(np.zeros((0, 3), np.float32))
    with pytest.warns(RuntimeWarning):
        assert np.isnan(t.mean().item())
