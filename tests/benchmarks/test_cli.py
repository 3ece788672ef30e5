"""End-to-end tests of ``sgbench`` (each runs the real CLI in a subprocess, --quick sizes)."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.workloads import WORKLOADS

ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = ["static", "static-reference", "dynamic", "numpy"]
PLUGINS = "tests.benchmarks.plugin_modes"


def sgbench(*args: str, plugins: bool = False, timeout: float = 300) -> subprocess.CompletedProcess:
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + (os.pathsep + path if path else ""))
    env.pop("SGBENCH_PLUGINS", None)
    if plugins:
        env["SGBENCH_PLUGINS"] = PLUGINS
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, dict]:
    """One ``--quick`` run of every workload in every built-in mode (shared by several tests)."""
    out = tmp_path_factory.mktemp("quick") / "run.json"
    proc = sgbench("--quick", "--json", str(out), "-m", ",".join(BUILT_IN))
    return proc, (json.loads(out.read_text()) if out.exists() else {})


def test_quick_run_of_every_workload_in_every_built_in_mode(quick) -> None:
    proc, doc = quick
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert doc["schema"] == "sgbench/1" and doc["quick"] is True and doc["baseline"] == "numpy"
    assert doc["threads"] >= 1 and doc["machine"]["python"]
    assert [w["name"] for w in doc["workloads"]] == list(WORKLOADS)
    infos = {m["mode"]: m for m in doc["modes"]}
    assert sorted(infos) == sorted(BUILT_IN)
    cells = {(r["mode"], r["workload"]): r for r in doc["results"]}
    assert len(doc["results"]) == len(cells) == len(BUILT_IN) * len(WORKLOADS)
    assert infos["numpy"]["status"] == "ok"
    for mode, info in infos.items():
        for wl in WORKLOADS:
            r = cells[(mode, wl)]
            if info["status"] == "skipped":  # e.g. a package not importable yet
                assert r["status"] == "skipped" and r["reason"] == info["reason"]
                assert f"{mode}: skipped: {info['reason']}" in proc.stdout
                continue
            assert r["status"] == "ok", (mode, wl, r.get("reason"))
            assert r["check"] == "ok" and r["repeats"] >= 1 and len(r["samples_s"]) == r["repeats"]
            assert 0 < r["min_s"] <= r["median_s"] <= r["max_s"]
            assert r["first_call_s"] > 0 and r["build_s"] >= 0 and r["peak_mb"] > 0
            assert r["per_step_median_s"] == pytest.approx(r["median_s"] / r["steps"])
            assert r["ratio"] == pytest.approx(r["median_s"] / cells[("numpy", wl)]["median_s"])
    assert all(cells[("numpy", wl)]["ratio"] == 1.0 for wl in WORKLOADS)


def test_quick_run_prints_table_and_progress(quick) -> None:
    proc, doc = quick
    lines = proc.stdout.splitlines()
    assert lines[1].split()[:3] == ["workload", "mode", "median"]
    for wl in WORKLOADS:
        assert any(line.startswith(wl + " ") for line in lines), wl
    assert "median time relative to numpy" in proc.stdout
    n = sum(1 for m in doc["modes"] if m["status"] != "skipped") * len(WORKLOADS)
    assert f"[ 1/{n}]" in proc.stderr and f"[{n}/{n}]" in proc.stderr


def test_a_wrong_mode_fails_loudly_naming_mode_and_workload(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = sgbench("--quick", "-m", "numpy,wrong", "-w", "seed,mlp-step", "--json", str(out),
                   plugins=True)
    assert proc.returncode == 1
    for wl in ("seed", "mlp-step"):
        assert f"FAILED: mode 'wrong', workload '{wl}': mismatch: " in proc.stderr
    assert "relative error 0.01 > tolerance" in proc.stderr
    cells = {(r["mode"], r["workload"]): r for r in json.loads(out.read_text())["results"]}
    assert cells[("numpy", "seed")]["status"] == "ok"
    bad = cells[("wrong", "seed")]
    assert bad["status"] == "mismatch" and "median_s" not in bad  # never timed


def test_a_failing_mode_is_an_error_and_an_absent_one_a_one_line_skip() -> None:
    proc = sgbench("--quick", "-m", "broken,absent,numpy", "-w", "seed", plugins=True)
    assert proc.returncode == 1
    assert "FAILED: mode 'broken', workload 'seed': error: RuntimeError: cannot build seed" \
        in proc.stderr
    skips = [ln for ln in proc.stdout.splitlines() if ln.startswith("absent:")]
    assert skips == ["absent: skipped: the absent framework is not installed"]
    ok = sgbench("--quick", "-m", "absent,numpy", "-w", "seed", plugins=True)
    assert ok.returncode == 0, ok.stderr


def test_size_repeat_and_csv(tmp_path: Path) -> None:
    out, table = tmp_path / "r.json", tmp_path / "r.csv"
    proc = sgbench("-m", "numpy", "-w", "chain", "--size", "100", "--repeat", "3", "--json",
                   str(out), "--csv", str(table))
    assert proc.returncode == 0, proc.stderr
    (r,) = json.loads(out.read_text())["results"]
    assert r["size"] == 100 and r["repeats"] == 3 and r["status"] == "ok"
    rows = list(csv.DictReader(table.open()))
    assert [(x["workload"], x["mode"], x["status"], x["size"]) for x in rows] == [
        ("chain", "numpy", "ok", "100")]
    assert float(rows[0]["median_s"]) == pytest.approx(r["median_s"])


@pytest.mark.parametrize("args, message", [
    (["-w", "nope"], "unknown workload 'nope'; choose from: seed"),
    (["-m", "nope"], "unknown mode 'nope'; choose from: static"),
    (["-w", "chain,grad2", "--size", "5"], "--size N applies to one workload"),
    (["--size", "seed=3"], "workload 'seed' takes no size"),
    (["--size", "chain=big"], "--size for 'chain': 'big' is not an integer"),
    (["--repeat", "0"], "--repeat must be at least 1"),
    (["--baseline", "numpi"], "unknown mode 'numpi'"),
])
def test_usage_errors_are_clear(args: list[str], message: str) -> None:
    proc = sgbench(*args)
    assert proc.returncode == 2 and message in proc.stderr


def test_plot_needs_matplotlib_or_draws_a_png(tmp_path: Path) -> None:
    png = tmp_path / "r.png"
    proc = sgbench("--quick", "-m", "numpy", "-w", "seed,grad2", "--plot", str(png))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert proc.returncode != 0 and "--plot needs matplotlib" in proc.stderr
        assert "sgbench: [" not in proc.stderr  # failed before running anything
        return
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_to_stdout_moves_the_table_to_stderr() -> None:
    proc = sgbench("--quick", "-m", "numpy", "-w", "seed", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(r["mode"], r["workload"], r["status"]) for r in doc["results"]] == [
        ("numpy", "seed", "ok")]
    assert "workload  mode" in proc.stderr


def test_list_via_the_console_script() -> None:
    exe = shutil.which("sgbench")
    cmd = [exe, "--list"] if exe else [sys.executable, "-m", "benchmarks", "--list"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for name in [*WORKLOADS, *BUILT_IN, "torch-compile", "jax", "pytensor", "tf1"]:
        assert f"  {name} " in proc.stdout, name


@pytest.mark.parametrize("mode, package", [("torch", "torch"), ("tf1", "tensorflow")])
def test_peer_running_the_same_builder_agrees_with_numpy(mode: str, package: str,
                                                         tmp_path: Path) -> None:
    """``torch`` runs the ``dynamic`` builder, ``tf1`` the ``static`` one: both must agree."""
    if importlib.util.find_spec(package) is None:  # not imported here: that is the child's job
        pytest.skip(f"{package} is not installed")
    out = tmp_path / "r.json"
    proc = sgbench("--quick", "-m", mode, "-w", "seed,mlp-step,dyn-loop", "--json", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {r["status"] for r in json.loads(out.read_text())["results"]} == {"ok"}
