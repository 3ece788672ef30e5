"""``np_rules.matmul2d`` (the eager fast path's 2-D product and the matmul VJP's) gives
``np.matmul``'s bytes for every shape, layout and special value it accepts or passes on."""

from __future__ import annotations

import numpy as np
import pytest

from staticgraph.ops.np_rules import matmul2d

_SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-30, 3.5, -2.25])


def _operand(rng: np.random.Generator, shape: tuple, dt: type, layout: str,
             special: bool) -> np.ndarray:
    """A matrix of ``shape`` laid out as ``layout``: C, F, a transposed view, a column or
    row slice of a larger array, or a reversed (negative-stride) view."""
    def fill(sh: tuple) -> np.ndarray:
        if special:
            return rng.choice(_SPECIAL, size=sh).astype(dt)
        return rng.normal(size=sh).astype(dt)

    if layout == "C":
        return fill(shape)
    if layout == "F":
        return np.asfortranarray(fill(shape))
    if layout == "T":
        return fill(shape[::-1]).T
    if layout == "slice":
        return fill((shape[0], shape[1] + 3))[:, 1:shape[1] + 1]
    if layout == "step":
        return fill((shape[0], 2 * shape[1]))[:, ::2]
    return fill(shape)[::-1]


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("special", [False, True])
def test_same_bytes_as_matmul(dt: type, special: bool) -> None:
    rng = np.random.default_rng(12 + special)
    dims = [0, 1, 2, 3, 4, 7, 16, 33]
    layouts = ["C", "F", "T", "slice", "step", "rev"]
    checked = 0
    for _ in range(1500):
        m, k, p = (int(rng.choice(dims)) for _ in range(3))
        a = _operand(rng, (m, k), dt, str(rng.choice(layouts)), special)
        b = _operand(rng, (k, p), dt, str(rng.choice(layouts)), special)
        want = np.matmul(a, b)
        got = matmul2d(a, b)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes(), (a, b, want, got)
        checked += 1
    assert checked == 1500


def test_signed_zero_of_a_single_product() -> None:
    """A (1, 1) operand: ``dot`` gives ``-1 * 0 = -0.0`` (matmul ``0 + -0.0 = 0.0``) and
    ``0 * inf = 0`` (axpy skips a zero scale; matmul NaN)."""
    a, b = np.array([[-1.0]], np.float32), np.array([[0.0]], np.float32)
    got = matmul2d(a, b)
    assert got.tobytes() == np.matmul(a, b).tobytes()
    assert not np.signbit(got[0, 0])
    z, row = np.array([[0.0]], np.float32), np.array([[-np.inf, 3.5]], np.float32)
    got = matmul2d(z, row)
    assert got.tobytes() == np.matmul(z, row).tobytes()
    assert np.isnan(got[0, 0])
    col, row = np.array([[-1.0], [2.0]], np.float32), np.array([[0.0, 1.0]], np.float32)
    assert matmul2d(col, row).tobytes() == np.matmul(col, row).tobytes()


def test_other_dtypes_and_types_pass_through() -> None:
    a = np.arange(6, dtype=np.float16).reshape(2, 3)
    assert matmul2d(a, a.T).tobytes() == np.matmul(a, a.T).tobytes()
    i = np.arange(6).reshape(2, 3)
    assert matmul2d(i, i.T).tobytes() == np.matmul(i, i.T).tobytes()
    f = np.ones((2, 3), np.float32)
    d = np.ones((3, 2), np.float64)
    assert matmul2d(f, d).dtype == np.matmul(f, d).dtype
    m = np.ma.masked_array(np.ones((2, 2)))
    assert type(matmul2d(m, m)) is type(np.matmul(m, m))
