"""The LLVM renderer's scalar library (``cpu/llvm/library.py``) against numpy and against numba's
(``cpu/scalar.py``): the same ulp bounds over the whole range (special values, random bit
patterns, dense sweeps), the same bits as numba's functions (a kernel gives the same values on
both tiers), and loops over the polynomial functions vectorize (no libm call left in them).

Each function is compiled into a small loop ``o[i] = f(x[i])`` with the renderer's own
optimisation pipeline (``build.compile_object``'s passes) and run through llvmlite's MCJIT.
"""

from __future__ import annotations

import ctypes
import re

import numpy as np
import pytest
from numba import njit

from staticgraph.compiler.cpu import scalar as S

from .test_scalar_ulp import CASES, LD, _inputs, ulp_error

pytest.importorskip("llvmlite")

LT = {np.float32: "float", np.float64: "double"}
VECTORIZED = ("exp", "log", "tanh", "sigmoid", "log1p", "expm1", "softplus")
"""Functions whose float32 form is branch-free polynomial code (float64: exp, sigmoid, tanh)."""
VECTORIZED64 = ("exp", "sigmoid", "tanh")

_ENGINES: dict = {}


def _loop_module(name: str, dt) -> str:
    from staticgraph.compiler.cpu.llvm.library import definitions

    t, lt = np.dtype(dt).name, LT[dt]
    defs, decls = definitions({(name, t)})
    loop = f"""define void @run(ptr %x, ptr %o, i64 %n) {{
entry:
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %done, label %body
body:
  %i = phi i64 [0, %entry], [%i1, %body]
  %px = getelementptr {lt}, ptr %x, i64 %i
  %v = load {lt}, ptr %px
  %r = call {lt} @sg.{name}.{t}({lt} %v)
  %po = getelementptr {lt}, ptr %o, i64 %i
  store {lt} %r, ptr %po
  %i1 = add i64 %i, 1
  %more = icmp slt i64 %i1, %n
  br i1 %more, label %body, label %done
done:
  ret void
}}"""
    return "\n".join(sorted(decls) + [loop, *defs]) + "\n"


def _optimized(name: str, dt) -> tuple:
    """(optimised IR text, ctypes function) of the loop over ``sg.<name>.<dtype>``."""
    import llvmlite.binding as ll

    from staticgraph.compiler.cpu.llvm.build import target_machine
    from staticgraph.compiler.cpu.llvm.key import OPT_LEVEL

    key = (name, dt)
    if key not in _ENGINES:
        tm = target_machine()
        mod = ll.parse_assembly(_loop_module(name, dt))
        mod.triple = tm.triple
        mod.data_layout = str(tm.target_data)
        mod.verify()
        pto = ll.create_pipeline_tuning_options(speed_level=OPT_LEVEL)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pb = ll.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
        text = str(mod)
        ee = ll.create_mcjit_compiler(mod, tm)
        ee.finalize_object()
        fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(
            ee.get_function_address("run"))
        _ENGINES[key] = (text, fn, ee)
    text, fn, _ = _ENGINES[key]
    return text, fn


def _run_llvm(name: str, x: np.ndarray) -> np.ndarray:
    _, fn = _optimized(name, x.dtype.type)
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    fn(x.ctypes.data, out.ctypes.data, x.size)
    return out


def _numba_loop(f):
    @njit(error_model="numpy")
    def k(x, out):
        for i in range(x.shape[0]):
            out[i] = f(x[i])

    return k


def _run_numba(name: str, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    _numba_loop(S.NAMESPACE[f"sg_{name}"])(x, out)
    return out


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "log1p", "expm1", "softplus"])
def test_llvm_library_ulp_and_numbas_bits(name: str, dt) -> None:
    ref_fn, (lo, hi), b32, b64 = CASES[f"sg_{name}"]
    x = _inputs(dt, lo, hi)
    got = _run_llvm(name, x)
    with np.errstate(all="ignore"):
        ref = ref_fn(x.astype(np.float64 if dt == np.float32 else LD)).astype(dt)
    err = ulp_error(got, ref)
    bound = b32 if dt == np.float32 else b64
    worst = int(np.argmax(err))
    assert err.max() <= bound, f"{name}[{np.dtype(dt).name}]({x[worst]!r}) = {got[worst]!r}, " \
        f"reference {ref[worst]!r}: {err[worst]} ulp > {bound}"
    nb = _run_numba(name, x)
    same = (got.view(np.uint8).reshape(x.size, -1) == nb.view(np.uint8).reshape(x.size, -1))
    differ = ~same.all(axis=1) & ~(np.isnan(got) & np.isnan(nb))
    assert not differ.any(), f"{name}: LLVM {got[differ][:3]} != numba {nb[differ][:3]} " \
        f"at {x[differ][:3]}"


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid"])
def test_edge_values_exactly(name: str, dt) -> None:
    """0, -0 (sign kept where the function is odd), +-inf, NaN, denormals, large |x|."""
    fi = np.finfo(dt)
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, fi.smallest_subnormal,
                  -fi.smallest_subnormal, fi.tiny, 1e4, -1e4, fi.max, -fi.max], dt)
    want = {"exp": [1, 1, np.inf, 0, np.nan, 1, 1, 1, np.inf, 0, np.inf, 0],
            "tanh": [0.0, -0.0, 1, -1, np.nan, x[5], x[6], fi.tiny, 1, -1, 1, -1],
            "sigmoid": [0.5, 0.5, 1, 0, np.nan, 0.5, 0.5, 0.5, 1, 0, 1, 0]}[name]
    want = np.array(want, dt)
    for got in (_run_llvm(name, x), _run_numba(name, x)):
        np.testing.assert_array_equal(got, want)
        num = ~np.isnan(want)  # a NaN's sign bit is not a value
        assert np.array_equal(np.signbit(got[num]), np.signbit(want[num])), got


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
def test_polynomial_functions_vectorize(dt) -> None:
    """The loop vectorizer turns each loop into vector code (``<N x float>``), with no call
    left: a libm call per element (``tanhf``, ``expf``) blocks it."""
    names = VECTORIZED if dt == np.float32 else VECTORIZED64
    lt = LT[dt]
    for name in names:
        text, _ = _optimized(name, dt)
        lanes = [int(n) for n in re.findall(rf"<(\d+) x {lt}>", text)]
        assert lanes and max(lanes) >= 4, f"{name}[{lt}] did not vectorize"
        calls = [ln for ln in text.splitlines() if " call " in ln and "@llvm." not in ln]
        assert not calls, f"{name}[{lt}] calls {calls[:2]}"


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
def test_numba_loops_vectorize(dt) -> None:
    """numba's library functions vectorize the same way inside a kernel loop (expm1 and
    softplus, an exp and a log inside, stayed calls until marked always-inline)."""
    names = VECTORIZED if dt == np.float32 else VECTORIZED64
    lt = LT[dt]
    for name in names:
        k = _numba_loop(S.NAMESPACE[f"sg_{name}"])
        x = np.linspace(-3, 3, 64).astype(dt)
        k(x, np.empty_like(x))
        text = k.inspect_llvm(k.signatures[0])
        assert re.search(rf"<(\d+) x {lt}>", text), f"{name}[{lt}] did not vectorize"
