"""``mean``'s forward and backward divide numpy scalars for a full reduction (issue #12): the
quotient must be the bits of numpy's ufunc division in the input's dtype, with the dtype kept
(no float64 detour), for ordinary, tiny, huge, infinite and NaN sums."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
from staticgraph.ops import REGISTRY


def _cases(dt: np.dtype) -> list:
    rng = np.random.default_rng(7)
    fi = np.finfo(dt)
    out = [rng.standard_normal(s).astype(dt) for s in ((), (1,), (4, 1), (3, 5), (2, 3, 7))]
    out += [np.array([fi.tiny / 4, fi.tiny], dt), np.array([fi.max, fi.max / 3], dt),
            np.array([np.inf, 1.0], dt), np.array([np.nan, 2.0], dt), np.array([-0.0], dt)]
    return out


@pytest.mark.parametrize("dt", [np.dtype(np.float32), np.dtype(np.float64)])
def test_full_mean_is_the_ufunc_quotient(dt):
    impl = REGISTRY["mean"].impl
    with np.errstate(all="ignore"):
        for x in _cases(dt):
            dims = tuple(range(x.ndim))
            got = np.asarray(impl(x, dim=dims, keepdim=False, full=True))
            want = np.true_divide(np.add.reduce(x, axis=dims), dt.type(max(x.size, 1)))
            assert got.dtype == dt and got.tobytes() == np.asarray(want).tobytes()


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_full_mean_backward_is_g_over_n(dt):
    for shape in ((), (3,), (4, 1), (2, 3, 5)):
        x = dynamic.tensor(np.ones(shape, dt), requires_grad=True)
        g = dynamic.tensor(np.asarray(0.7, dt))
        (gx,) = dynamic.autograd.grad(x.mean(), [x], grad_outputs=[g])
        n = max(int(np.prod(shape)), 1)
        want = np.full(shape, np.true_divide(np.asarray(0.7, dt), dt(n)), dt)
        assert gx.dtype == x.dtype and gx.numpy().tobytes() == want.tobytes()
        x.grad = None
        x.mean().backward()  # the lean walk's implicit ones
        assert x.grad.numpy().tobytes() == np.full(shape, dt(1) / dt(n), dt).tobytes()
