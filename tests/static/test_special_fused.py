"""The special-function records with scalar templates (``atan2``, ``hypot``, ``fmod``, ``sinh``,
``cosh``, ``asinh``, ``exp2``, ``lgamma``) fuse into compiled kernels (``digamma`` stays a numpy
step) and give the reference executor's values on every executor: float32 bit for bit (libm in
double precision, rounded once, as the kernels), float64 within a few ulps (libm against numpy's
loops and CPython's ``lgamma``), special values (0, +-inf, NaN, lgamma's poles, fmod by zero)
and integer operands included."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import ops

UNARY = ["sinh", "cosh", "asinh", "exp2", "lgamma"]
BINARY = ["atan2", "hypot", "fmod"]
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -2.0, 1.0, 2.0, 0.5, -3.5, 1e-30,
                    100.0, -100.0, 3.0, -0.0])
OTHER = np.array([1.0, 0.0, 2.0, -np.inf, 1.5, 0.0, -0.5, np.nan, np.inf, -2.0, 0.25, 3.0,
                  -7.0, 0.0, -0.0, -1.0])


def _data(dtype) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = np.concatenate([SPECIAL, rng.standard_normal(500) * 4]).astype(dtype)
    y = np.concatenate([OTHER, rng.standard_normal(500) * 4]).astype(dtype)
    return x, y


def _program(dtype):
    x, y = sg.placeholder(dtype, [None]), sg.placeholder(dtype, [None])
    outs = [getattr(ops, n)(x) for n in UNARY] + [getattr(ops, n)(x, y) for n in BINARY]
    return x, y, outs


def _run(executor: str, dtype) -> list[np.ndarray]:
    sg.reset_default_graph()
    x, y, outs = _program(dtype)
    xv, yv = _data(dtype)
    with sg.Session(executor=executor) as s:
        return s.run(outs, {x: xv, y: yv})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_equal_the_reference_executor(executor, dtype):
    want, got = _run("reference", dtype), _run(executor, dtype)
    for name, g, w in zip(UNARY + BINARY, got, want, strict=True):
        assert g.dtype == w.dtype, name
        if dtype == np.float32:
            np.testing.assert_array_equal(g, w, err_msg=name)
        else:
            eps = float(np.finfo(np.float64).eps)  # lgamma near its zeros at 1 and 2: libm's
            # and CPython's (the kernel's) differ by ~1e-15 absolute
            np.testing.assert_allclose(g, w, rtol=4 * eps, atol=8 * eps, err_msg=name)
            np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg=name)


def test_integer_operands(executor):
    a = sg.placeholder(sg.int64, [None])
    b = sg.placeholder(sg.int64, [None])
    outs = [ops.fmod(a, b), ops.atan2(a, b), ops.lgamma(a), ops.exp2(a)]
    av = np.array([7, -7, 7, -7, 5, 0, -3, 12])
    bv = np.array([3, 3, -3, -3, 0, 4, 5, 5])
    with sg.Session(executor="reference") as s:
        want = s.run(outs, {a: av, b: bv})
    with sg.Session(executor=executor) as s:
        got = s.run(outs, {a: av, b: bv})
    np.testing.assert_array_equal(want[0], [1, -1, 1, -1, 0, 0, -3, 2])
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


def test_the_templated_records_fuse_and_digamma_does_not():
    pytest.importorskip("numba")
    from staticgraph.compiler.explain import explain

    x, y, outs = _program(np.float32)
    total = sg.add_n(outs) + ops.digamma(sg.abs(x) + 1.0)
    xv, yv = _data(np.float32)
    text = explain(total, {x: xv, y: yv}, passes=False)
    fused = [line for line in text.splitlines() if line.startswith("[") and "kernel[" in line]
    for name in UNARY + BINARY:
        assert any(name in line for line in fused), name
        assert f"fallback[{name}]" not in text
    assert "fallback[digamma]" in text
