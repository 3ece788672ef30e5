"""The numpy oracle itself: hand-written backward passes against finite differences, and the
op-vocabulary forward (what every other mode runs) against the hand-written forward."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import oracle
from benchmarks.workloads import WORKLOADS, NumpyOps, Workload, get


def _f64(v: dict) -> dict:
    return {k: (a.astype(np.float64) if a.dtype == np.float32 else a.copy()) for k, a in v.items()}


def _values(wl: Workload) -> tuple[dict, tuple]:
    """Small float64 values for ``wl`` and the extra forward args (the length for dyn)."""
    problem = wl.make(8 if wl.size_help and wl.kind != "dyn" else wl.quick_size)
    if wl.kind == "dyn":
        v, length = oracle.example_values(problem, 1)
        return _f64(v), (length,)
    return _f64(problem.values), ()


def _wrt(wl: Workload) -> tuple[str, ...]:
    problem = wl.make(wl.quick_size)
    return problem.wrt or problem.params


@pytest.mark.parametrize("name", [n for n, w in WORKLOADS.items() if w.kind != "grad2"])
def test_numpy_backward_matches_finite_differences(name: str) -> None:
    wl = get(name)
    v, extra = _values(wl)
    grads = wl.numpy_grads(v, *extra)
    rng = np.random.default_rng(1)
    eps = 1e-6
    for p in _wrt(wl):
        g = np.asarray(grads["d_" + p])
        assert g.shape == np.shape(v[p]), p
        flat = v[p].reshape(-1)  # a view: perturbing it perturbs v[p]
        for i in rng.choice(flat.size, size=min(6, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + eps
            up = float(wl.forward(NumpyOps, v, *extra))
            flat[i] = old - eps
            down = float(wl.forward(NumpyOps, v, *extra))
            flat[i] = old
            fd = (up - down) / (2 * eps)
            assert g.reshape(-1)[i] == pytest.approx(fd, rel=1e-5, abs=1e-7), (name, p, i)


def test_grad_of_grad_is_the_hessian_diagonal() -> None:
    wl = get("grad2")
    v, _ = _values(wl)
    dd = wl.numpy_grads(v)["dd_x"]
    eps = 1e-4
    x = v["x"]
    for i in range(x.size):
        old = x[i]
        vals = []
        for d in (eps, 0.0, -eps):
            x[i] = old + d
            vals.append(float(wl.forward(NumpyOps, v)))
        x[i] = old
        assert dd[i] == pytest.approx((vals[0] - 2 * vals[1] + vals[2]) / eps**2, rel=1e-4)


@pytest.mark.parametrize("name", [n for n, w in WORKLOADS.items() if w.kind != "grad2"])
def test_vocabulary_forward_matches_hand_written_forward(name: str) -> None:
    wl = get(name)
    v, extra = _values(wl)
    key = "y" if wl.kind == "grad" else "loss"
    assert float(wl.forward(NumpyOps, v, *extra)) == pytest.approx(
        float(wl.numpy_grads(v, *extra)[key]), rel=1e-10)


@pytest.mark.parametrize("name", [n for n, w in WORKLOADS.items() if w.kind == "train"])
def test_training_reference_learns(name: str) -> None:
    wl = get(name)
    problem = wl.make(200 if name.startswith("xor") else wl.quick_size)
    ref = oracle.reference(wl, problem)
    start = float(wl.numpy_grads(problem.values)["loss"])
    assert float(ref["loss"]) < start
    for p in problem.params:
        assert ref["delta_" + p].shape == problem.values[p].shape
        assert ref["delta_" + p].dtype == np.float32
    assert any(np.abs(ref["delta_" + p]).max() > 0 for p in problem.params)


def test_xor_mlp_solves_xor_in_1000_steps() -> None:
    wl = get("xor-mlp")
    problem = wl.make(1000)
    assert float(oracle.reference(wl, problem)["loss"]) < 0.05


def test_data_is_deterministic_float32() -> None:
    for wl in WORKLOADS.values():
        a, b = wl.make(wl.quick_size), wl.make(wl.quick_size)
        for k, arr in a.values.items():
            assert arr.dtype in (np.float32, np.int64), (wl.name, k)
            np.testing.assert_array_equal(arr, b.values[k])


def test_dyn_stream_lengths_come_from_the_data_and_balance() -> None:
    problem = get("dyn-loop").make(10)
    lengths = [n for _, n in problem.examples]
    assert len(set(lengths)) == len(lengths)  # no length repeats within one pass of the stream
    assert all(xs.shape == (n, 16) for xs, n in problem.examples)
    for k in range(1, len(lengths) // 2):  # every odd-length prefix averages the mean size
        assert np.mean(lengths[: 2 * k + 1]) == 10


def test_unknown_workload_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown workload 'nope'; choose from: seed"):
        get("nope")


def test_compare_accepts_agreement_and_reports_each_problem() -> None:
    want = {"y": np.float32(2.0), "d_x": np.array([1.0, -2.0], np.float32)}
    assert oracle.compare({"y": 2.0, "d_x": [1.0, -2.0 + 1e-7]}, want, 1e-5) == []
    probs = oracle.compare({"d_x": [1.0, -2.1]}, want, 1e-3)
    assert any(p.startswith("y: missing") for p in probs)
    assert any(p.startswith("d_x: relative error 0.05") for p in probs)
    assert oracle.compare({"y": 2.0, "d_x": [1.0]}, want, 1e-3) == [
        "d_x: shape (1,), expected (2,)"]
    assert oracle.compare({"y": np.nan, "d_x": [1.0, -2.0]}, want, 1e-3) == [
        "y: contains NaN or Inf"]
