"""On the numpy path (no frontend value among the arguments) a numpy scalar is data of its own
dtype, as numpy treats it: ``np.float64`` subclasses ``float`` and was taken for a Python
number (float32), so a chain of ops on a 0-d float64 (numpy hands 0-d results back as scalars)
lost half its digits. Python numbers keep their weak rule."""

from __future__ import annotations

import numpy as np

from staticgraph import ops


def test_float64_scalars_stay_float64():
    x = np.float64(0.29352554033312606)
    out = ops.tanh(ops.log1p(x))
    assert np.asarray(out).dtype == np.float64
    assert float(out) == np.tanh(np.log1p(x))
    h = 1e-6
    fd = (float(ops.tanh(ops.log1p(x + h))) - float(ops.tanh(ops.log1p(x - h)))) / (2 * h)
    np.testing.assert_allclose(fd, (1 - np.tanh(np.log1p(x)) ** 2) / (1 + x), rtol=1e-8)


def test_python_numbers_and_other_scalars_keep_their_rules():
    assert np.asarray(ops.add(np.float32(1.0), 2.0)).dtype == np.float32
    assert np.asarray(ops.mul(np.float64(2.0), 3)).dtype == np.float64
    assert np.asarray(ops.exp(1.0)).dtype == np.float32  # a Python float: PyTorch's default
