"""The gradient of a full max/min reduction whose result is NaN, per paradigm.

TF's ``_MaxGrad``/``_MinGrad`` (``tf.reduce_max``/``reduce_min``, axis or not) and PyTorch's
``amax``/``amin`` (``AmaxBackward0``: ``scale_grad_by_count``) split ``g`` over the inputs
equal to the result: none equal NaN, so ``0 / 0`` is NaN everywhere. PyTorch's ``max()``/
``min()`` (``evenly_distribute_backward``) send it to the NaN inputs instead; the registry's
``amax(x)`` with no dims is that one. The static frontend's full reduction used to take it too
(found beside fuzz seed 30009). Pinned values are TF 2.21's and torch 2.13's."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dynamic
import staticgraph as tf

NAN = math.nan
X = np.array([[1.0], [NAN], [2.0], [NAN]])
TIES = np.array([[1.0], [3.0], [2.0], [1.0]])
ALL_NAN = [NAN] * 4
TO_NANS = [0.0, 0.5, 0.0, 0.5]  # torch.min(x): the NaN inputs share it


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))


@pytest.mark.parametrize("executor", ["reference", None])
@pytest.mark.parametrize("fn", ["reduce_min", "reduce_max"])
@pytest.mark.parametrize("axis", [None, 0])
def test_static_full_reduction_follows_tf(executor, fn, axis):
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float64, [None, 1])
        y = getattr(tf, fn)(p) if axis is None else getattr(tf, fn)(p, axis)
        (gx,) = tf.gradients(y, [p])
        with np.errstate(all="ignore"), tf.Session(executor=executor) as s:
            nan_g = s.run(gx, {p: X})
            tie_g = s.run(gx, {p: TIES})
    np.testing.assert_array_equal(nan_g.ravel(), ALL_NAN)
    want = [0.5, 0, 0, 0.5] if fn == "reduce_min" else [0, 1.0, 0, 0]
    np.testing.assert_array_equal(tie_g.ravel(), want)


@pytest.mark.parametrize("name,want", [("amin", ALL_NAN), ("amax", ALL_NAN),
                                       ("min", TO_NANS), ("max", TO_NANS)])
def test_eager_amin_is_amin_and_min_is_min(name, want):
    x = dynamic.tensor(X, requires_grad=True)
    with np.errstate(all="ignore"):
        y = getattr(x, name)()
        (gx,) = dynamic.autograd.grad(y, [x])
    np.testing.assert_array_equal(gx.numpy().ravel(), want)
    assert type(y.grad_fn).__name__ == {"amin": "AminBackward0", "amax": "AmaxBackward0",
                                        "min": "MinBackward1", "max": "MaxBackward1"}[name]


def test_eager_matches_torch_live():
    torch = pytest.importorskip("torch")
    for name in ("amin", "amax", "min", "max"):
        xt = torch.tensor(X, requires_grad=True)
        (gt,) = torch.autograd.grad(getattr(xt, name)(), [xt])
        x = dynamic.tensor(X, requires_grad=True)
        with np.errstate(all="ignore"):
            (gx,) = dynamic.autograd.grad(getattr(x, name)(), [x])
        np.testing.assert_array_equal(gx.numpy(), gt.numpy(), err_msg=name)
