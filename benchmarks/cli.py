"""``sgbench``: define-and-run against define-by-run, on the same ops, with peers.

With no arguments it runs every workload in every mode at default sizes (about a minute for the
built-in modes) and prints a table; see ``sgbench --help`` and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from . import busy, report, rounds
from . import modes as modes_mod
from . import workloads as wl_mod
from .runner import THREAD_VARS, thread_env

SETTINGS = {  # per-cell timing policy
    "default": {"repeat": 7, "min_repeat": 3, "warmup": 1, "min_sample_s": 0.02, "budget_s": 0.8},
    "quick": {"repeat": 2, "min_repeat": 1, "warmup": 0, "min_sample_s": 0.0, "budget_s": 0.0},
}


def _split(values: list[str] | None) -> list[str]:
    return [s.strip() for v in values or [] for s in v.split(",") if s.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="sgbench", description=__doc__.split("\n\n")[0],
        epilog="Times are per step (xor-* calls run many SGD steps); 'first call' is the whole "
               "first call, including tracing/compilation. Exit status 1 if any mode's results "
               "disagree with numpy or a mode fails.")
    p.add_argument("-w", "--workload", action="append", metavar="NAME[,NAME]",
                   help="workloads to run (default: all; see --list)")
    p.add_argument("-m", "--mode", action="append", metavar="NAME[,NAME]",
                   help="modes to run (default: all; peers that cannot be imported are skipped)")
    p.add_argument("--size", metavar="N | NAME=N[,NAME=N]",
                   help="problem size (its meaning per workload: --list); a bare N needs exactly "
                        "one --workload")
    p.add_argument("--repeat", type=int, metavar="N",
                   help="timing samples per cell (default: up to 7 within ~1 s, at least 3)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="threads for every mode (default: the CPUs this process may use); the "
                        "static mode takes N as a cap (STATICGRAPH_THREADS) and still uses one "
                        "BLAS thread when the cores are busy (docs/compiler.md, Threads)")
    p.add_argument("--busy", type=int, default=0, metavar="N",
                   help="keep N extra processes spinning on the CPUs for the whole run (a busy "
                        "machine, reproducibly: the thread policy's case; default: 0)")
    p.add_argument("--rounds", type=int, default=1, metavar="N",
                   help="run every mode N times, order alternating, and pool the samples; "
                        "prints each round's ratio to the baseline (default: 1)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny sizes, one or two samples (used by CI and tests)")
    p.add_argument("--baseline", default="numpy", metavar="MODE",
                   help="mode the ratios are relative to (default: numpy)")
    p.add_argument("--json", metavar="FILE", help="write all results as JSON ('-': stdout)")
    p.add_argument("--csv", metavar="FILE", help="write one CSV row per workload and mode")
    p.add_argument("--plot", metavar="FILE.png", help="bar chart of ratios (needs matplotlib)")
    p.add_argument("--timeout", type=float, default=900.0, metavar="S",
                   help="give up on a mode's process after S seconds (default: 900)")
    p.add_argument("--list", action="store_true", help="list workloads and modes, then exit")
    p.add_argument("--ranks", type=int, metavar="N", help="data-parallel training under MPI, 1 "
                   "rank against N (benchmarks/distributed.py; needs the distributed extra)")
    args = p.parse_args(argv)
    for flag, val in (("--repeat", args.repeat), ("--threads", args.threads),
                      ("--rounds", args.rounds)):
        if val is not None and val < 1:
            p.error(f"{flag} must be at least 1 (got {val})")
    if args.busy < 0:
        p.error(f"--busy must be at least 0 (got {args.busy})")
    try:
        args.workloads = [wl_mod.get(n) for n in _split(args.workload)] or list(
            wl_mod.WORKLOADS.values())
        args.modes = [modes_mod.get(n).name for n in _split(args.mode)] or list(modes_mod.MODES)
        args.sizes = _parse_sizes(args.size, args.workloads)
        modes_mod.get(args.baseline)
    except ValueError as e:
        p.error(str(e))
    return args


def _parse_sizes(spec: str | None, workloads: list[wl_mod.Workload]) -> dict[str, int]:
    if not spec:
        return {}
    sizes: dict[str, int] = {}
    for part in spec.split(","):
        name, _, val = part.rpartition("=")
        if not name:
            if len(workloads) != 1:
                raise ValueError("--size N applies to one workload: give exactly one --workload, "
                                 "or use --size NAME=N[,NAME=N]")
            name = workloads[0].name
        wl = wl_mod.get(name.strip())
        try:
            n = int(val)
        except ValueError:
            raise ValueError(f"--size for {wl.name!r}: {val!r} is not an integer") from None
        if not wl.size_help:
            raise ValueError(f"workload {wl.name!r} takes no size")
        if n < 1:
            raise ValueError(f"--size for {wl.name!r} must be at least 1 (got {n})")
        sizes[wl.name] = n
    return sizes


def list_text() -> str:
    lines = ["workloads (name: size meaning, default size, --quick size):"]
    for w in wl_mod.WORKLOADS.values():
        size = (f"{w.size_help}: {w.default_size}, quick {w.quick_size}" if w.size_help
                else "no size")
        lines.append(f"  {w.name:<11} {w.summary}  [{size}]")
    lines.append("modes:")
    for m in modes_mod.MODES.values():
        state = "installed" if modes_mod.is_installed(m) else "not installed"
        lines.append(f"  {m.name:<17} {m.family:<8} {m.summary}  [{state}]")
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_mode(mode: str, items: list[dict], cfg: dict, timeout: float,
             on_event: Any) -> tuple[dict, list[dict]]:
    """Run one mode's subprocess; returns (mode info, result records)."""
    env = dict(os.environ)
    env.update(thread_env(cfg["threads"]))
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    config = json.dumps({**cfg, "mode": mode, "items": items})
    info: dict = {"mode": mode, "status": "error", "reason": "process produced no output"}
    results: list[dict] = []
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.runner", config], env=env,
                                stdout=subprocess.PIPE, stderr=err, text=True)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                ev = rec.pop("event", None)
                if ev == "mode":
                    info = rec
                elif ev == "result":
                    results.append(rec)
                on_event(ev, rec)
            rc = proc.wait()
        finally:
            timer.cancel()
        err.seek(0)
        tail = err.read()[-1500:]
    done = {r["workload"] for r in results}
    missing = [it for it in items if it["workload"] not in done]
    if missing and info.get("status") != "skipped":
        why = f"timed out after {timeout:g} s" if timed_out.is_set() else f"exited with status {rc}"
        reason = f"the {mode} process {why} before finishing; its stderr ends with:\n{tail}"
        if info.get("status") != "ok":
            info = {"mode": mode, "status": "error", "reason": reason}
        for it in missing:
            results.append({"mode": mode, "workload": it["workload"], "size": it["size"],
                            "status": "error", "reason": reason})
    return info, results


def main(argv: list[str] | None = None) -> int:
    """The ``sgbench`` command (exit status: 0 ok, 1 mismatch or failure, 2 usage error)."""
    if argv is None:
        argv = sys.argv[1:]
    if any(a == "--ranks" or a.startswith("--ranks=") for a in argv):
        from .distributed import main as ranks_main  # its own options: see --ranks --help
        return ranks_main(argv)
    modes_mod.load_plugins()
    args = parse_args(argv)
    if args.list:
        print(list_text())
        return 0
    if args.plot:
        report.check_plot_available()
    quick = args.quick
    cfg: dict[str, Any] = dict(SETTINGS["quick" if quick else "default"])
    if args.repeat is not None:
        cfg.update(repeat=args.repeat, min_repeat=args.repeat, budget_s=float("inf"))
    cfg["threads"] = args.threads or default_threads()
    sizes = {w.name: args.sizes.get(w.name, w.quick_size if quick else w.default_size)
             for w in args.workloads}
    items = [{"workload": w.name, "size": sizes[w.name]} for w in args.workloads]
    started = time.time()
    mode_infos: list[dict] = []
    results: list[dict] = []
    runnable = []
    for name in args.modes:
        m = modes_mod.get(name)
        if not modes_mod.is_installed(m):
            mode_infos.append({"mode": name, "status": "skipped",
                               "reason": f"{', '.join(m.requires)} is not installed"})
        else:
            runnable.append(name)
    total, count = len(runnable) * len(items) * args.rounds, [0]
    log(f"sgbench: {len(items)} workloads x {len(runnable)} modes, {cfg['threads']} threads"
        + (" (quick)" if quick else "") + (f", {args.busy} busy processes" if args.busy else ""))

    def on_event(ev: str, rec: dict) -> None:
        if ev == "mode" and rec.get("status") == "skipped":
            log(f"sgbench: {rec['mode']}: skipped: {rec['reason']}")
        elif ev == "start":
            count[0] += 1
            log(f"sgbench: [{count[0]:>2}/{total}] {rec['mode']:<16} {rec['workload']:<10} ...")
        elif ev == "result":
            st = rec.get("status")
            msg = (f"median {report.fmt_time(rec['median_s'])}/call, first call "
                   f"{report.fmt_time(rec['first_call_s'])}" if st == "ok"
                   else f"{st}: {rec.get('reason', '')}")
            log(f"sgbench:         {rec['mode']:<16} {rec['workload']:<10} {msg}")

    per_round: list[list[dict]] = []
    infos: dict[str, dict] = {}
    with busy.spinners(args.busy):
        for rnd in range(args.rounds):
            per_round.append([])
            for name in rounds.order(runnable, rnd):
                info, res = run_mode(name, items, cfg, args.timeout, on_event)
                infos.setdefault(name, info)
                per_round[-1].extend(res)
                if info.get("status") == "skipped":
                    count[0] += len(items)
    mode_infos.extend(infos[n] for n in runnable)
    results.extend(rounds.merge(per_round, args.baseline) if args.rounds > 1 else per_round[0])
    for info in mode_infos:  # a skipped mode still gets a record per workload
        if info.get("status") == "skipped":
            results.extend({"mode": info["mode"], "workload": it["workload"], "size": it["size"],
                            "status": "skipped", "reason": info["reason"], "mode_skipped": True}
                           for it in items)
    order = {m: i for i, m in enumerate(args.modes)}
    worder = {w.name: i for i, w in enumerate(args.workloads)}
    results.sort(key=lambda r: (worder[r["workload"]], order[r["mode"]]))
    mode_infos.sort(key=lambda i: order[i["mode"]])
    report.add_ratios(results, args.baseline)
    doc = {
        "schema": "sgbench/1",
        "command": "sgbench " + shlex.join(sys.argv[1:] if argv is None else argv),
        "started": datetime.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
        "elapsed_s": round(time.time() - started, 2),
        "quick": quick, "threads": cfg["threads"], "busy": args.busy, "rounds": args.rounds,
        "baseline": args.baseline,
        "thread_env": list(THREAD_VARS),
        "timing": {k: cfg[k] for k in ("repeat", "min_repeat", "warmup", "min_sample_s",
                                       "budget_s")},
        "machine": {"platform": platform.platform(), "cpu": _cpu_model(),
                    "cpus": os.cpu_count(), "python": platform.python_version()},
        "workloads": [{"name": w.name, "kind": w.kind, "summary": w.summary,
                       "size_meaning": w.size_help, "size": sizes[w.name]}
                      for w in args.workloads],
        "modes": mode_infos,
        "results": results,
    }
    if doc["timing"]["budget_s"] == float("inf"):
        doc["timing"]["budget_s"] = None
    failures = [r for r in results if r.get("status") in ("mismatch", "error")]
    if args.json:
        report.write_json(args.json, doc)
    if args.csv:
        report.write_csv(args.csv, results)
    if args.plot:
        title = f"sgbench: {doc['machine']['cpu']}, {cfg['threads']} thread(s)" + (
            ", --quick" if quick else "")
        report.plot(args.plot, results, args.modes, args.workloads, args.baseline, title)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(_header(doc), file=out)
    print(report.table(results, args.modes, args.workloads, args.baseline), file=out)
    if args.baseline not in args.modes:
        log(f"sgbench: the baseline mode {args.baseline!r} was not run: no ratios")
    grid = report.matrix(results, args.modes, args.workloads, args.baseline)
    if grid:
        print("\n" + grid, file=out)
    if args.rounds > 1 and (per := rounds.summary(results, args.modes, args.baseline)):
        print("\n" + per, file=out)
    notes = [f"{i['mode']}: {i['notes']}" for i in mode_infos if i.get("notes")]
    for line in notes:
        print(f"note: {line}", file=out)
    for i in mode_infos:
        if i.get("status") == "skipped":
            print(f"{i['mode']}: skipped: {i['reason']}", file=out)
    for r in failures:
        log(f"sgbench: FAILED: mode {r['mode']!r}, workload {r['workload']!r}: "
            f"{r['status']}: {r.get('reason', '')}")
    if failures:
        log(f"sgbench: {len(failures)} failure(s); results that disagree with numpy are not timed")
    return 1 if failures else 0


def _header(doc: dict) -> str:
    m = doc["machine"]
    return (f"sgbench: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}, "
            f"{doc['threads']} threads per mode"
            + (f", {doc['busy']} busy processes" if doc.get("busy") else "")
            + "; times per step (median/min/max over samples), "
            "first call includes compilation; peak MB = resident memory added by the workload")
