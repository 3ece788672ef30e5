"""The lean forward path (``dynamic/_fast_path.py``) against the general frontend, exactly.

Float elementwise operators and methods skip ``bind``; with ``_fast_path.ENABLED`` off the same
calls go through ``_frontend.apply``. Both must give the same values (bits), dtypes, ``grad_fn``
classes, ``next_functions``, saved values, gradients and version-counter errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic import _fast_path
from staticgraph.ops.elementwise import _sigmoid_impl

BINARY = {"add": lambda a, b: a + b, "radd": lambda a, b: b + a, "sub": lambda a, b: a - b,
          "mul": lambda a, b: a * b, "rmul": lambda a, b: b * a, "div": lambda a, b: a / b,
          "mul_method": lambda a, b: a.mul(b), "div_method": lambda a, b: a.div(b)}
UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "neg", "square",
         "reciprocal", "log1p", "expm1"]


def _describe(y, leaves):
    """Everything observable about ``y`` and its gradients."""
    fn = y.grad_fn
    nxt = None if fn is None else [(None if f is None else type(f).__name__, nr)
                                   for f, nr in fn.next_functions]
    saved = []
    for attr in ("_saved_self", "_saved_other", "_saved_result"):
        try:
            v = getattr(fn, attr)
        except AttributeError:
            continue
        saved.append((attr, v.detach().numpy().tobytes() if isinstance(v, torch.Tensor) else v))
    grads = None
    if y.requires_grad:
        grads = torch.autograd.grad(y.sum(), leaves, allow_unused=True, retain_graph=True)
        grads = [None if g is None else (g.dtype, g.numpy().tobytes()) for g in grads]
    return (y.dtype, tuple(y.shape), y.detach().numpy().tobytes(), y.requires_grad,
            None if fn is None else fn.name(), nxt, saved, grads)


def _both(build):
    """``build()`` with the fast path on, then off."""
    out = []
    for on in (True, False):
        _fast_path.ENABLED[0] = on
        try:
            out.append(build())
        finally:
            _fast_path.ENABLED[0] = True
    return out


def _operands(kind, dtype):
    rng = np.random.default_rng(3)
    a = torch.tensor(rng.uniform(0.5, 2.0, (3, 4)).astype(dtype), requires_grad=True)
    if kind == "tensor":
        return a, torch.tensor(rng.uniform(0.5, 2.0, (3, 4)).astype(dtype), requires_grad=True)
    if kind == "broadcast":
        return a, torch.tensor(rng.uniform(0.5, 2.0, (4,)).astype(dtype), requires_grad=True)
    if kind == "no-grad":
        return a, torch.tensor(rng.uniform(0.5, 2.0, (3, 4)).astype(dtype))
    return a, {"float": 1.5, "int": 3}[kind]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("kind", ["tensor", "broadcast", "no-grad", "float", "int"])
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_operators_match_the_general_path(name, kind, dtype):
    def build():
        a, b = _operands(kind, dtype)
        leaves = [a] + ([b] if isinstance(b, torch.Tensor) and b.requires_grad else [])
        return _describe(BINARY[name](a, b), leaves)

    fast, general = _both(build)
    assert fast == general


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", UNARY)
def test_unary_methods_match_the_general_path(name, dtype):
    def build():
        x = torch.tensor(np.array([[-1.5, 0.25, 2.0], [0.75, -0.5, 1.0]], dtype),
                         requires_grad=True)
        return _describe(getattr(x, name)(), [x]), _describe(getattr(torch, name)(x), [x])

    fast, general = _both(build)
    assert fast == general


def _params(y):
    fn = y.grad_fn
    return None if fn is None else (fn._params, fn._saved_ver, fn._fdt)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("case", ["both-grad", "weight-grad", "input-grad", "no-grad", "vector",
                                  "batched", "int", "mixed-dtypes", "bad-shapes"])
def test_matmul_matches_the_general_path(case, dtype):
    """``a @ b`` of two float matrices skips the frontend; every other case takes it."""

    def build():
        rng = np.random.default_rng(2)
        sa, sb = {"vector": ((3,), (3, 2)), "batched": ((2, 4, 3), (3, 2)),
                  "bad-shapes": ((4, 3), (2, 2))}.get(case, ((4, 3), (3, 2)))
        da, db = (dtype, np.float64) if case == "mixed-dtypes" else (dtype, dtype)
        if case == "int":
            da = db = np.int64
        a = torch.tensor(rng.uniform(-2, 2, sa).astype(da),
                         requires_grad=case in ("both-grad", "input-grad") and da != np.int64)
        b = torch.tensor(rng.uniform(-2, 2, sb).astype(db),
                         requires_grad=case not in ("input-grad", "no-grad", "int"))
        try:
            y = a @ b
            z = torch.matmul(a, b)
        except RuntimeError as e:
            return f"RuntimeError: {e}"
        leaves = [t for t in (a, b) if t.requires_grad]
        return _describe(y, leaves), _describe(z, leaves), _params(y)

    fast, general = _both(build)
    assert fast == general


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64])
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_full_reductions_match_the_general_path(name, shape, dtype):
    """``x.sum()``/``x.mean()`` over every dim skip the frontend for float tensors."""

    def build():
        data = np.random.default_rng(4).uniform(-2, 2, shape).astype(dtype)
        x = torch.tensor(data, requires_grad=dtype != np.int64)
        try:
            y = getattr(x, name)()
        except RuntimeError as e:
            return f"RuntimeError: {e}"
        return _describe(y, [x] if x.requires_grad else []), _params(y)

    fast, general = _both(build)
    assert fast == general


@pytest.mark.parametrize("case", ["int-tensor", "mixed-dtypes", "bad-shapes", "bool-scalar",
                                  "no_grad", "0-d"])
def test_other_operands_and_modes_match_the_general_path(case):
    def build():
        x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        try:
            if case == "int-tensor":
                return _describe(torch.tensor([1, 2, 3]) * 2.5, [])
            if case == "mixed-dtypes":
                y = x * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
                return _describe(y, [x])
            if case == "bad-shapes":
                return x + torch.ones(2)
            if case == "bool-scalar":
                return _describe(x * True, [x])
            if case == "no_grad":
                with torch.no_grad():
                    return _describe(x.tanh() * 2.0, [])
            s = torch.tensor(2.0, requires_grad=True)
            return _describe((s * 1.5 + s).exp(), [s])
        except RuntimeError as e:
            return f"RuntimeError: {e}"

    fast, general = _both(build)
    assert fast == general
    if case == "bad-shapes":
        assert fast.startswith("RuntimeError: ")


def test_version_counter_error_is_the_general_paths():
    def build():
        a = torch.tensor([1.0, 2.0], requires_grad=True)
        b = a * 1.0
        y = b * b
        with torch.no_grad():
            b.add_(1.0)
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
        return str(e.value)

    fast, general = _both(build)
    assert fast == general and "modified by an inplace operation" in fast


def test_sigmoid_kernel_keeps_the_stable_formula_bits():
    rng = np.random.default_rng(0)
    for dt in (np.float16, np.float32, np.float64):
        x = (rng.standard_normal(4000) * 30).astype(dt)
        x[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-3]
        xc = x.astype(np.float32) if dt == np.float16 else x  # float16: in float32, rounded once
        e = np.exp(-np.abs(xc))
        ref = np.where(xc >= 0, 1 / (1 + e), e / (1 + e)).astype(dt)
        got = _sigmoid_impl(x)
        assert got.dtype == dt
        assert np.array_equal(got.view(np.uint8), ref.view(np.uint8))
