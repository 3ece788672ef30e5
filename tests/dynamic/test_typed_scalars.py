"""``dynamic._typed_scalars.typed``: a Python number as a cached 0-d array gives the bits of
numpy's weak-scalar path, and the values it must not cache come back unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
from dynamic import _typed_scalars
from dynamic._typed_scalars import typed

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


@pytest.fixture(autouse=True)
def empty_cache() -> object:
    """Each test starts below the cache's size limit (earlier tests may have filled it)."""
    _typed_scalars._CACHE.clear()
    yield
    _typed_scalars._CACHE.clear()


def test_a_full_cache_returns_the_number() -> None:
    for i in range(_typed_scalars._LIMIT):
        typed(float(i + 1), F32)
    assert typed(0.375, F32) == 0.375 and type(typed(0.375, F32)) is float
    assert isinstance(typed(7.0, F32), np.ndarray)  # cached before the limit


@pytest.mark.parametrize("dt", [F32, F64])
def test_same_bits_as_the_weak_scalar(dt: np.dtype) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(4096).astype(dt)
    ints = np.dtype(f"i{dt.itemsize}")
    values = [float(v) for v in rng.standard_normal(200) * 10.0 ** rng.integers(-30, 30, 200)]
    values += [1, -3, 7, 0.1, 1e-45, 2.5e38, -1e-300, (1 << 24) - 1]
    for v in values:
        c = typed(v, dt)
        assert isinstance(c, np.ndarray) and c.dtype == dt and not c.flags.writeable, v
        for op in (np.add, np.subtract, np.multiply, np.true_divide):
            for a, b, ta, tb in ((x, v, x, c), (v, x, c, x)):
                r1, r2 = op(a, b), op(ta, tb)
                assert r1.dtype == r2.dtype == dt
                assert np.array_equal(r1.view(ints), r2.view(ints)), (v, op)


@pytest.mark.parametrize("v", [0.0, -0.0, 0, float("nan"), float("inf"), 1e39, -1e300,
                               (1 << 24) + 1, True, "1", None])
def test_values_left_alone(v: object) -> None:
    r = typed(v, F32)
    assert r is v


def test_other_dtypes_left_alone() -> None:
    assert typed(0.5, np.dtype(np.float16)) == 0.5
    assert type(typed(0.5, np.dtype(np.float16))) is float
    assert typed(2, np.dtype(np.int64)) == 2


def test_cached_per_value_and_dtype() -> None:
    assert typed(0.25, F32) is typed(0.25, F32)
    assert typed(0.25, F32) is not typed(0.25, F64)
    assert typed(0.1, F32)[()] == np.float32(0.1)
    assert typed(0.1, F64)[()] == 0.1


def test_tensor_scalar_ops_match_numpy_bits() -> None:
    """The lean ``tensor op number`` path: bits of numpy's own weak-scalar computation, and
    ``-0.0``/``0.0`` kept apart."""
    x = np.array([-0.0, 0.0, 1.5, -2.25, 3e38], np.float32)
    t = dynamic.tensor(x, requires_grad=True)
    for v in (0.1, -0.0, 0.0, 2, 1e30):
        for got, want in ((t + v, x + v), (t * v, x * v), (t - v, x - v), (t / v, x / v)):
            assert got.dtype == dynamic.float32
            assert np.array_equal(got.detach().numpy().view(np.int32), want.view(np.int32)), v
