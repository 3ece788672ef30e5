"""The measurement loop, the per-workload runner and the report formatting, in process."""

from __future__ import annotations

import time
import types

import numpy as np
import pytest

from benchmarks import oracle, report, runner
from benchmarks.modes import Bench, Unsupported, numpy_mode
from benchmarks.workloads import WORKLOADS, get

CFG = {"repeat": 3, "min_repeat": 1, "warmup": 1, "min_sample_s": 0.0, "budget_s": 10.0}


class Counting:
    """A bench whose step only counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def step(self) -> None:
        self.calls += 1


def test_measure_counts_warmup_and_samples() -> None:
    b = Counting()
    res = runner.measure(b, repeat=4, warmup=2, min_sample_s=0.0, budget_s=10.0, min_repeat=4)
    assert res["number"] == 1 and len(res["samples_s"]) == 4
    assert b.calls == 2 + 4
    assert all(s >= 0 for s in res["samples_s"])


def test_measure_batches_fast_calls_into_long_enough_samples() -> None:
    b = Counting()
    res = runner.measure(b, repeat=2, warmup=0, min_sample_s=0.01, budget_s=10.0, min_repeat=2)
    assert res["number"] > 100  # an empty call is far below 10 ms
    assert b.calls == 1 + 2 * res["number"]  # one calibration call, then the samples


def test_measure_stops_at_the_budget_after_min_repeat() -> None:
    b = Counting()
    res = runner.measure(b, repeat=50, warmup=0, min_sample_s=0.0, budget_s=0.0, min_repeat=3)
    assert len(res["samples_s"]) == 3


def test_measure_gives_a_call_slower_than_the_budget_one_sample() -> None:
    b = Counting()
    b.step = lambda: (time.sleep(0.03), Counting.step(b))  # type: ignore[method-assign]
    res = runner.measure(b, repeat=5, warmup=1, min_sample_s=0.0, budget_s=0.02, min_repeat=3,
                         estimate_s=2.0)
    assert b.calls == 1 and len(res["samples_s"]) == 1 and res["samples_s"][0] >= 0.03
    b = Counting()  # without warm-up the first call's time calibrates: no extra call
    res = runner.measure(b, repeat=2, warmup=0, min_sample_s=0.0, budget_s=9.0, min_repeat=2,
                         estimate_s=1e-3)
    assert b.calls == 2 and res["number"] == 1


def test_a_slow_first_call_that_compiled_is_not_taken_for_the_cost_of_a_call() -> None:
    """A first call over the budget (it compiled) must not turn the cell into one cold sample:
    a fast second call is taken as the warm-up and the samples follow as usual."""
    b = Counting()
    res = runner.measure(b, repeat=4, warmup=1, min_sample_s=0.0, budget_s=5.0, min_repeat=4,
                         estimate_s=30.0)
    assert len(res["samples_s"]) == 4 and res["number"] == 1
    assert b.calls == 1 + 4  # the timed second call, then the samples


def test_run_workload_reports_stats_and_memory() -> None:
    res = runner.run_workload("numpy", numpy_mode, CFG, {"workload": "seed", "size": None})
    assert res["status"] == "ok" and res["check"] == "ok"
    assert res["repeats"] == 3 and res["min_s"] <= res["median_s"] <= res["max_s"]
    assert res["peak_mb"] >= res["rss_start_mb"] > 0 and res["extra_mb"] >= 0
    assert res["first_call_s"] > 0 and res["steps"] == 1


def _module(build) -> types.SimpleNamespace:
    return types.SimpleNamespace(build=build)


def test_run_workload_statuses_for_unsupported_error_and_mismatch() -> None:
    def unsupported(mode, wl, problem):
        raise Unsupported("no double backward here")

    res = runner.run_workload("m", _module(unsupported), CFG, {"workload": "grad2", "size": 8})
    assert res["status"] == "skipped" and res["reason"] == "no double backward here"

    def broken(mode, wl, problem):
        raise KeyError("W9")

    res = runner.run_workload("m", _module(broken), CFG, {"workload": "seed", "size": None})
    assert res["status"] == "error" and res["reason"].startswith("KeyError: 'W9' (at ")

    def off_by_sign(mode, wl, problem):
        good = numpy_mode.build("numpy", wl, problem)
        return Bench(good.step, lambda: {k: -np.asarray(v) for k, v in good.check().items()})

    res = runner.run_workload("m", _module(off_by_sign), CFG, {"workload": "chain", "size": 16})
    assert res["status"] == "mismatch" and "d_x: relative error 2 >" in res["reason"]
    assert "median_s" not in res


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_numpy_mode_steps_match_the_oracle(name: str) -> None:
    wl = get(name)
    problem = wl.make(wl.quick_size)
    bench = numpy_mode.build("numpy", wl, problem)
    bench.step()
    want = oracle.reference(wl, problem)
    assert oracle.compare(bench.check(), want, wl.rtol, oracle.scales(wl, problem)) == []


def test_loss_near_zero_is_compared_against_the_initial_loss() -> None:
    want = {"loss": np.float64(1e-13)}
    assert oracle.compare({"loss": 3e-13}, want, 1e-3)  # relative to itself: far off
    assert oracle.compare({"loss": 3e-13}, want, 1e-3, {"loss": 0.25}) == []
    assert oracle.compare({"loss": 0.01}, want, 1e-3, {"loss": 0.25})


def test_formatting() -> None:
    assert [report.fmt_time(s) for s in (2.5, 0.0123, 4.56e-6, 7e-10, None)] == [
        "2.5 s", "12.3 ms", "4.56 us", "0.7 ns", "-"]
    assert [report.fmt_ratio(r) for r in (1.0, 12.34, 1234.5, None)] == [
        "1.00x", "12.3x", "1234x", "-"]


def test_table_ratios_and_status_rows() -> None:
    ok = {"status": "ok", "median_s": 2e-3, "min_s": 1e-3, "max_s": 3e-3, "first_call_s": 0.5,
          "extra_mb": 1.0, "steps": 2}
    results = [{"workload": "seed", "mode": "numpy", **ok, "median_s": 1e-3},
               {"workload": "seed", "mode": "static", **ok},
               {"workload": "seed", "mode": "dynamic", "status": "mismatch", "reason": "y: bad"},
               {"workload": "seed", "mode": "tf1", "status": "skipped", "reason": "absent",
                "mode_skipped": True}]
    report.add_ratios(results, "numpy")
    assert results[1]["ratio"] == 2.0 and results[1]["per_step_median_s"] == 1e-3
    text = report.table(results, ["numpy", "static", "dynamic", "tf1"], [get("seed")], "numpy")
    lines = text.splitlines()
    assert lines[0].split() == ["workload", "mode", "median", "min", "max", "first", "call",
                                "peak", "MB", "vs", "numpy"]
    assert lines[3].split() == ["static", "1", "ms", "500", "us", "1.5", "ms", "500", "ms",
                                "1.0", "2.00x"]
    assert lines[4].split()[:3] == ["dynamic", "mismatch:", "y:"]
    assert "tf1" not in text  # a mode skipped as a whole is listed once, not per row
    grid = report.matrix(results, ["numpy", "static", "dynamic"], [get("seed")], "numpy")
    assert grid.splitlines()[2].split() == ["seed", "1.00x", "2.00x", "mismatch"]
