"""One mode's benchmark process: ``python -m benchmarks.runner CONFIG_JSON``.

The CLI starts one such process per mode, so imports, JIT caches and thread pools of one mode
never touch another's. The thread count is fixed through the environment *before* numpy or any
framework is imported. Results go to the parent as JSON lines on the original stdout; everything
else that writes to stdout (framework chatter) is redirected to stderr.

Per workload: build (timed) -> first call (timed: tracing/compilation) -> correctness check
against the numpy oracle -> warm-up -> ``repeat`` samples of ``number`` calls each (``number``
calibrated so a sample lasts at least ``min_sample_s``; garbage collection off while timing).
Peak memory: the process's resident-set high-water mark during the workload (Linux: reset via
/proc/self/clear_refs before each workload; elsewhere ru_maxrss, which only grows).
"""

from __future__ import annotations

import json
import os
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "STATICGRAPH_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that pin BLAS/OpenMP/numba thread pools to ``threads``."""
    return {k: str(threads) for k in THREAD_VARS}


def _rss_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak() -> bool:
    """Reset the RSS high-water mark to the current RSS (Linux >= 4.0); False if impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) in MB."""
    cur, peak = _rss_kb("VmRSS"), _rss_kb("VmHWM")
    if peak is None:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB (bytes on macOS)
        if sys.platform == "darwin":
            peak //= 1024
        cur = cur or peak
    return (cur or 0) / 1024.0, peak / 1024.0


def measure(bench, *, repeat: int, warmup: int, min_sample_s: float, budget_s: float,
            min_repeat: int, estimate_s: float | None = None) -> dict:
    """Time ``bench.step``: warm-up calls, then ``repeat`` samples (stop early once ``budget_s``
    is spent and ``min_repeat`` samples exist). ``estimate_s`` (the first call's time) stands in
    for a calibration call when there is no warm-up. A first call slower than the whole budget
    (it compiled) is followed by a second, timed one: if that is fast, it counts as a warm-up
    and sampling goes on as usual; if it is slow too (rebuild-per-call cells can take seconds a
    call), it is the single sample. Returns per-call times in seconds."""
    import gc
    import time

    clock = time.perf_counter
    one = estimate_s
    if one is not None and one > budget_s:
        # the first call includes tracing and compiling: a second call says what a call costs
        t0 = clock()
        bench.step()
        one = clock() - t0
        if one > budget_s:  # slow every call (a graph rebuilt per call): it is the one sample
            return {"number": 1, "samples_s": [one]}
        warmup = max(0, warmup - 1)
    for _ in range(warmup):
        t0 = clock()
        bench.step()
        one = clock() - t0
    if one is None:
        t0 = clock()
        bench.step()
        one = clock() - t0
    number = max(1, min(1_000_000, int(min_sample_s / max(one, 1e-9))))
    samples: list[float] = []
    start = clock()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeat):
            t0 = clock()
            for _ in range(number):
                bench.step()
            samples.append((clock() - t0) / number)
            if r + 1 >= min_repeat and clock() - start > budget_s:
                break
    finally:
        if was_enabled:
            gc.enable()
    return {"number": number, "samples_s": samples}


def run_workload(mode_name: str, module, cfg: dict, item: dict) -> dict:
    """Build, check and time one workload; the result record (status ok/mismatch/error/skipped)."""
    import statistics
    import time
    import traceback

    from . import modes, oracle, workloads

    wl = workloads.get(item["workload"])
    res: dict = {"mode": mode_name, "workload": wl.name, "size": item["size"], "status": "ok"}
    try:
        problem = wl.make(item["size"])
        res["steps"] = problem.steps
        want = oracle.reference(wl, problem)
        import gc

        gc.collect()
        reset_peak()
        rss0, _ = memory_mb()
        t0 = time.perf_counter()
        bench = module.build(mode_name, wl, problem)
        res["build_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        bench.step()
        res["first_call_s"] = time.perf_counter() - t0
        if bench.notes:
            res["notes"] = bench.notes
        problems = oracle.compare(bench.check(), want, wl.rtol, oracle.scales(wl, problem))
        if problems:
            res.update(status="mismatch", reason="; ".join(problems))
            return res
        res["check"] = "ok"
        if bench.settle is not None:  # e.g. the compiled mode's switch to numba (untimed)
            t0 = time.perf_counter()
            bench.settle()
            res["settle_s"] = time.perf_counter() - t0
        stats = measure(bench, repeat=cfg["repeat"], warmup=cfg["warmup"],
                        min_sample_s=cfg["min_sample_s"], budget_s=cfg["budget_s"],
                        min_repeat=cfg["min_repeat"], estimate_s=res["first_call_s"])
        s = stats["samples_s"]
        res.update(number=stats["number"], repeats=len(s), samples_s=s,
                   median_s=statistics.median(s), min_s=min(s), max_s=max(s),
                   mean_s=statistics.fmean(s))
        _, peak = memory_mb()
        res["rss_start_mb"], res["peak_mb"] = round(rss0, 1), round(peak, 1)
        res["extra_mb"] = round(max(0.0, peak - rss0), 1)
    except modes.Unsupported as e:
        res.update(status="skipped", reason=str(e))
    except Exception as e:  # reported per cell; the CLI turns it into a non-zero exit
        tb = traceback.extract_tb(e.__traceback__)
        where = f" (at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
        res.update(status="error", reason=f"{type(e).__name__}: {e}{where}",
                   traceback=traceback.format_exc())
    return res


def main(argv: list[str] | None = None) -> int:
    """Entry point of the per-mode subprocess (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    cfg = json.loads(argv[0])
    for k, v in thread_env(cfg["threads"]).items():
        os.environ.setdefault(k, v)
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printed to stdout goes to stderr
    sys.stdout = sys.stderr

    def emit(rec: dict) -> None:
        out.write(json.dumps(rec) + "\n")
        out.flush()

    import importlib

    from . import modes

    modes.load_plugins()
    mode = modes.get(cfg["mode"])
    try:
        module = importlib.import_module(mode.module)
        info = module.setup(mode.name, cfg["threads"])
    except modes.Unavailable as e:
        emit({"event": "mode", "mode": mode.name, "status": "skipped", "reason": str(e)})
        return 0
    emit({"event": "mode", "mode": mode.name, "status": "ok", **(info or {})})
    for item in cfg["items"]:
        emit({"event": "start", "mode": mode.name, "workload": item["workload"]})
        emit({"event": "result", **run_workload(mode.name, module, cfg, item)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
