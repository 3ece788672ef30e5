"""``sgbench --busy N`` (a busy machine on demand) and ``--rounds N`` (modes alternated, rounds
merged): the spinners run and are always reaped; merged records pool samples, keep per-round
ratios and never hide a failed round."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import pytest

from benchmarks import busy, rounds
from tests.benchmarks.test_cli import sgbench


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_spinners_burn_cpu_and_are_reaped_also_on_error() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with busy.spinners(2, settle_s=0.3) as pids:
            assert len(pids) == 2 and len(set(pids)) == 2
            before = [_cpu_ticks(p) for p in pids]
            time.sleep(0.5)
            assert all(_cpu_ticks(p) > b for p, b in zip(pids, before, strict=True))
            raise RuntimeError("boom")
    assert all(_gone(p) for p in pids)
    with busy.spinners(0) as none:
        assert none == []
    with pytest.raises(ValueError, match="busy processes must be >= 0"):
        with busy.spinners(-1):
            pass


def test_round_order_alternates() -> None:
    assert rounds.order(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert rounds.order(["a", "b", "c"], 1) == ["c", "b", "a"]
    assert rounds.order(["a", "b", "c"], 2) == ["a", "b", "c"]


def _rec(mode: str, samples: list[float], status: str = "ok") -> dict:
    r = {"mode": mode, "workload": "w", "size": 1, "status": status, "first_call_s": 9.0}
    if status == "ok":
        r.update(samples_s=samples, median_s=sorted(samples)[len(samples) // 2])
    return r


def test_merge_pools_samples_and_keeps_each_rounds_ratio() -> None:
    r1 = [_rec("numpy", [2.0, 2.0, 2.0]), _rec("static", [1.0, 1.0, 1.0])]
    r2 = [_rec("static", [3.0, 3.0, 3.0]), _rec("numpy", [1.0, 1.0, 1.0])]
    merged = {r["mode"]: r for r in rounds.merge([r1, r2], "numpy")}
    s = merged["static"]
    assert s["repeats"] == 6 and s["min_s"] == 1.0 and s["max_s"] == 3.0
    assert s["median_s"] == 2.0 and s["round_medians_s"] == [1.0, 3.0]
    assert s["round_ratios"] == [0.5, 3.0] and s["rounds"] == 2
    assert merged["numpy"]["round_ratios"] == [1.0, 1.0]
    text = rounds.summary(list(merged.values()), ["static", "numpy"], "numpy")
    assert "static" in text and "0.50x 3.00x" in text and "0.50x-3.00x" in text


def test_merge_never_hides_a_failed_round() -> None:
    r1 = [_rec("numpy", [1.0]), _rec("static", [1.0])]
    r2 = [_rec("numpy", [1.0]), dict(_rec("static", [], "mismatch"), reason="off by one")]
    (static,) = [r for r in rounds.merge([r1, r2], "numpy") if r["mode"] == "static"]
    assert static["status"] == "mismatch" and static["reason"] == "off by one"


def test_cli_busy_and_rounds(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = sgbench("--quick", "-m", "numpy,static-reference", "-w", "seed", "--busy", "1",
                   "--rounds", "2", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["busy"] == 1 and doc["rounds"] == 2
    ref = [r for r in doc["results"] if r["mode"] == "static-reference"][0]
    assert ref["rounds"] == 2 and len(ref["round_ratios"]) == 2 and ref["repeats"] >= 2
    assert ref["median_s"] == pytest.approx(statistics.median(ref["samples_s"]))  # pooled
    assert "1 busy processes" in proc.stdout and "ratio to numpy per round" in proc.stdout


@pytest.mark.parametrize("args, message", [(["--busy", "-1"], "--busy must be at least 0"),
                                           (["--rounds", "0"], "--rounds must be at least 1")])
def test_busy_and_rounds_usage_errors(args: list[str], message: str) -> None:
    proc = sgbench(*args)
    assert proc.returncode == 2 and message in proc.stderr
