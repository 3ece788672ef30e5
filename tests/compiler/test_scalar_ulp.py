"""Accuracy of the CPU scalar library in ulps over the whole float32/float64 range.

Inputs: special values (NaN, +-inf, +-0, denormals, overflow/underflow edges), random bit patterns
(every exponent, denormals included) and dense sweeps of each function's interesting range. The
reference is numpy in long double (float64 for float32), rounded to the tested dtype. Both NaN
counts as exact; NaN on one side only, or an infinity mismatch, is an infinite error.
Bounds: exp, log, sigmoid, tanh, float32 log1p/expm1 <= 2 ulp; float32 softplus <= 3 ulp;
libm-backed functions (sqrt, sin, cos, float64 log, log1p, expm1) <= 1 ulp, float64 softplus
<= 2 ulp. -0.0 and +0.0 count as 1 ulp apart.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from staticgraph.compiler.cpu import scalar as S
from staticgraph.ops import REGISTRY

R = np.random.default_rng(1)
LD = np.longdouble


def _specials(dt) -> np.ndarray:
    fi = np.finfo(dt)
    tiny, sub = fi.tiny, fi.smallest_subnormal
    vals = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, tiny, -tiny, sub, -sub, tiny / 3,
            fi.max, -fi.max, fi.eps, 0.5, 2.0, 88.72, 88.73, 89.0, -87.3, -103.0, -103.97, -104.0,
            -745.2, -745.1, 709.78, 709.79, 710.0, -708.4, 0.625, -0.625, 0.6249, 9.0, 20.0, 45.0]
    with np.errstate(over="ignore"):
        return np.array(vals, dtype=dt)


def _inputs(dt, lo: float, hi: float) -> np.ndarray:
    itype = np.int32 if dt == np.float32 else np.int64
    bits = R.integers(np.iinfo(itype).min, np.iinfo(itype).max, 1 << 17, dtype=itype)
    rnd = bits.view(dt)
    sweep = np.linspace(lo, hi, 1 << 16).astype(dt)
    return np.concatenate([_specials(dt), rnd, sweep, -sweep])


def ulp_error(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Distance in representable values (sign-magnitude bits mapped to a monotonic integer)."""
    ut = np.uint32 if got.dtype == np.float32 else np.uint64
    sign = ut(1) << ut(8 * got.dtype.itemsize - 1)

    def ordered(a):
        u = a.view(ut)
        return np.where(u & sign, ~u, u | sign).astype(np.uint64)

    ug, ur = ordered(got), ordered(ref)
    err = np.where(ug > ur, ug - ur, ur - ug).astype(np.float64)
    gn, rn = np.isnan(got), np.isnan(ref)
    err[gn & rn] = 0
    err[gn ^ rn] = np.inf
    return err


def _sigmoid_ref(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


# name -> (numpy reference on long double, sweep range, float32 bound, float64 bound)
CASES = {
    "sg_exp": (np.exp, (-110.0, 100.0), 2, 2),
    "sg_log": (np.log, (0.0, 10.0), 2, 1),
    "sg_tanh": (np.tanh, (-25.0, 25.0), 2, 2),
    "sg_sigmoid": (_sigmoid_ref, (-110.0, 110.0), 2, 2),
    "sg_sqrt": (np.sqrt, (0.0, 100.0), 1, 1),
    "sg_sin": (np.sin, (-10.0, 10.0), 1, 1),
    "sg_cos": (np.cos, (-10.0, 10.0), 1, 1),
    "sg_log1p": (np.log1p, (-1.0, 10.0), 2, 1),
    "sg_expm1": (np.expm1, (-20.0, 20.0), 2, 1),
    "sg_softplus": (lambda x: np.logaddexp(np.zeros_like(x), x), (-800.0, 800.0), 3, 2),
}

_KERNELS: dict = {}


def _kernel(name: str):
    if name not in _KERNELS:
        fn = S.NAMESPACE[name]

        @njit(fastmath={"reassoc", "contract", "nsz", "arcp"})
        def k(x, out):
            for i in range(x.shape[0]):
                out[i] = fn(x[i])

        _KERNELS[name] = k
    return _KERNELS[name]


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(CASES))
def test_ulp(name: str, dt) -> None:
    ref_fn, (lo, hi), b32, b64 = CASES[name]
    x = _inputs(dt, lo, hi)
    if name in ("sg_sin", "sg_cos"):  # huge arguments: libm's own reduction, checked on a range
        x = x[~(np.abs(x) > 1e4)]
    got = np.empty_like(x)
    _kernel(name)(x, got)
    with np.errstate(all="ignore"):
        ref = ref_fn(x.astype(np.float64 if dt == np.float32 else LD)).astype(dt)
    err = ulp_error(got, ref)
    bound = b32 if dt == np.float32 else b64
    worst = int(np.argmax(err))
    assert err.max() <= bound, f"{name}[{np.dtype(dt).name}]({x[worst]!r}) = {got[worst]!r}, " \
        f"reference {ref[worst]!r}: {err[worst]} ulp > {bound}"


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
def test_selection_functions_match_numpy_exactly(dt) -> None:
    """relu/abs/sign/max/min/clamp: exact, including NaN propagation and signed zeros (relu and
    sign as the registry's kernels: ``relu(NaN) = NaN``, ``sign(NaN) = 0``, as in PyTorch)."""
    x = np.concatenate([_specials(dt), R.standard_normal(200).astype(dt)])
    y = R.permutation(x)

    @njit
    def k(x, y, o):
        for i in range(x.shape[0]):
            o[0, i] = S.sg_relu(x[i])
            o[1, i] = S.sg_abs(x[i])
            o[2, i] = S.sg_sign(x[i])
            o[3, i] = S.sg_max(x[i], y[i])
            o[4, i] = S.sg_min(x[i], y[i])
            o[5, i] = S.sg_clamp(x[i], dt(-0.5), dt(0.5))

    o = np.empty((6, x.size), dt)
    k(x, y, o)
    ref = [REGISTRY["relu"].impl(x), np.abs(x), REGISTRY["sign"].impl(x), np.maximum(x, y),
           np.minimum(x, y), np.clip(x, -0.5, 0.5)]
    for row, r in zip(o, ref, strict=True):
        np.testing.assert_array_equal(row, r.astype(dt))
        assert np.array_equal(np.signbit(row), np.signbit(r.astype(dt)))


def test_casts_and_pow() -> None:
    @njit
    def k(x, o, oi, ob):
        for i in range(x.shape[0]):
            o[i] = S.sg_pow(x[i], np.float32(3.0))
            oi[i] = S.sg_cast_int64(x[i])
            ob[i] = S.sg_cast_bool(x[i])

    x = np.array([0.0, -0.0, 1.5, -2.25, 3.0, np.inf, 7.9], np.float32)
    o, oi, ob = np.empty_like(x), np.empty(x.size, np.int64), np.empty(x.size, np.bool_)
    k(x[:5], o[:5], oi[:5], ob[:5])
    np.testing.assert_allclose(o[:5], np.power(x[:5], 3.0), rtol=1e-6)
    np.testing.assert_array_equal(oi[:5], x[:5].astype(np.int64))
    np.testing.assert_array_equal(ob[:5], x[:5].astype(bool))
    assert S.sg_cast_float64(np.float32(1.5)).dtype == np.float64  # the Python fallback


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
def test_pow_matches_the_registry_kernel_at_special_values(dt) -> None:
    """``sg_pow`` is the registry's ``pow``: exponents +-0.5 are sqrt and 1/sqrt (NaN at -inf,
    -inf at -0.0 for -0.5, as in PyTorch), exact at 0 and inf even inside a caller compiled
    with ``arcp`` (kernels have no flags now)."""
    b = _specials(dt)[:12]
    x, y = np.repeat(b, 6), np.tile(np.array([0.5, -0.5, 2.0, -1.0, 0.0, 3.0], dt), b.size)

    @njit(fastmath={"reassoc", "contract", "arcp", "nsz"})
    def k(x, y, o):
        for i in range(x.shape[0]):
            o[i] = S.sg_pow(x[i], y[i])

    o = np.empty_like(x)
    k(x, y, o)
    with np.errstate(all="ignore"):
        ref = REGISTRY["pow"].impl(x, y)
    np.testing.assert_allclose(o, ref, rtol=4 * np.finfo(dt).eps)
    assert np.array_equal(np.signbit(o), np.signbit(ref))


def test_ulp_error_helper() -> None:
    a = np.array([1.0, 0.0, np.nan, 1.0], np.float32)
    b = np.array([np.nextafter(np.float32(1), np.float32(2)), -0.0, np.nan, np.nan], np.float32)
    np.testing.assert_array_equal(ulp_error(a, b), [1, 1, 0, np.inf])
