"""Where the first call's time goes: ``dynamic-compile`` against ``static`` (issue #14).

Each measurement is a fresh process (as ``sgbench``'s *first call* is) building one workload's
bench (``benchmarks.modes``) and timing build + first call, by wall clock and process CPU time
(the compiler's background threads included). The ``dynamic-compile`` process also splits its
first call into phases, by wrapping the capture's functions:

* ``trace``: the function's capture run (deferred ops, the graph frontend), less the two below;
* ``grads``: ``gradients()`` of the captured graph (backward passes, ``autograd.grad``);
* ``eager``: pending values computed eagerly (``Deferred.flush``: a value was needed);
* ``run``: the plan's first ``Session.run`` (compile, or load from the disk cache, and run);
* ``other``: the rest (checks, plan bookkeeping, the fast path).

Both modes' processes also report the garbage collections that ran inside the timed first call
(wall ms / count, every round): where a generation-1 or -2 collection lands (10-15 ms in a
process that has just loaded the compiler) moves one round's ratio more than the capture costs.

It also prints the step's first call alone: the compiled function's first call against the
static mode's first two ``Session.run`` calls after its build (the first training run among
them); the train workloads' *first call* in ``sgbench`` runs all ``steps`` steps (1000 for the
xor models), so the steady state weighs in there.

Modes alternate round by round; ``--against DIR`` runs another source tree (e.g. ``git archive``
of the commit before) in the same rounds. ``--cold`` gives every process an empty
``STATICGRAPH_CACHE_DIR`` (else all share one, warmed by a first untimed round).

``--order`` measures instead in ``sgbench``'s order: one process per tree and mode runs the
workloads one after the other (build untimed, first call timed by wall clock and by the main
thread's CPU time, then the check and settle untimed), so each workload's first call finds what
the earlier ones loaded, as ``sgbench``'s does; the thread CPU time leaves out the compiler's
background threads and the other work on a loaded machine.

    python -m benchmarks.first_call_phases [--rounds 3] [--cold] [--against DIR] [--order]
        [-w seed,xor-linear,xor-mlp,mlp-step,chain]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Any

_ONE = r"""
import json, sys, time
mode, name = sys.argv[1], sys.argv[2]
from benchmarks.modes import tf1_family, torch_family
from benchmarks.workloads import get
mod = tf1_family if mode == "static" else torch_family
mod.setup(mode, 1)
wl = get(name)
problem = wl.make(None)
ph = {"trace": 0.0, "grads": 0.0, "eager": 0.0, "run": 0.0, "capture": 0.0, "step": 0.0}
if mode == "dynamic-compile":
    import importlib
    from dynamic._compile import compiled, effects, pending, plan

    def timed(owner, attr, key, once=False):
        fn = getattr(owner, attr)
        seen = {}  # (no list.append: the capture would see a side effect of the call)

        def wrap(*a, **k):
            if once and seen:
                return fn(*a, **k)
            seen[0] = 1
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                ph[key] += time.perf_counter() - t
        setattr(owner, attr, wrap)

    for m in ("deferred", "deferred_step", "step"):
        try:
            timed(importlib.import_module("dynamic._compile." + m), "gradients", "grads")
        except (ImportError, AttributeError):
            pass
    timed(pending.Deferred, "flush", "eager")
    timed(plan.Plan, "forward", "run", once=True)
    timed(compiled.CompiledFunction, "_capture", "capture")
    enter, exit_ = effects.EffectWatch.__enter__, effects.EffectWatch.__exit__
    def _enter(self):
        self._t = time.perf_counter()
        return enter(self)
    def _exit(self, *e):
        r = exit_(self, *e)
        ph["trace"] += time.perf_counter() - self._t
        return r
    effects.EffectWatch.__enter__, effects.EffectWatch.__exit__ = _enter, _exit
calls = []  # the step's own calls: the compiled function's, or the static Session.run's
if mode == "dynamic-compile":
    timed(compiled.CompiledFunction, "__call__", "step", once=True)
else:
    from staticgraph.session import Session
    run0 = Session.run

    def srun(self, *a, **k):
        t = time.perf_counter()
        try:
            return run0(self, *a, **k)
        finally:
            calls[len(calls):] = [time.perf_counter() - t]
    Session.run = srun
import gc
gct = {"on": False, "t0": 0.0, "t": 0.0, "n": 0}

def _gc(phase, info):  # garbage collections inside the timed first call (not the build)
    if gct["on"]:
        if phase == "start":
            gct["t0"] = time.perf_counter()
        else:
            gct["t"] += time.perf_counter() - gct["t0"]
            gct["n"] += 1
gc.callbacks.append(_gc)
w0, c0 = time.perf_counter(), time.process_time()
bench = mod.build(mode, wl, problem)
calls[:] = []  # (the static build runs the variables' initialization)
gct["on"] = True
bench.step()
gct["on"] = False
w1, c1 = time.perf_counter(), time.process_time()
ph["gc"], ph["gc_n"] = gct["t"], gct["n"]
if mode == "static":  # (the first training run is the first slow one)
    ph["step"] = sum(calls[:2])
print("RESULT", json.dumps({"wall": w1 - w0, "cpu": c1 - c0, **ph}))
"""


_ORDER = r"""
import gc, json, sys, time
mode, names = sys.argv[1], sys.argv[2].split(",")
from benchmarks import workloads
from benchmarks.modes import tf1_family, torch_family
mod = tf1_family if mode == "static" else torch_family
mod.setup(mode, 1)
out = {}
for name in names:
    wl = workloads.get(name)
    problem = wl.make(None)
    gc.collect()
    bench = mod.build(mode, wl, problem)
    w, c = time.perf_counter(), time.thread_time()
    bench.step()
    out[name] = {"wall": time.perf_counter() - w, "cpu": time.thread_time() - c}
    bench.check()
    if bench.settle is not None:
        bench.settle()
print("RESULT", json.dumps(out))
"""


def _one(tree: str, mode: str, name: str, cache: str | None, src: str = _ONE) -> dict:
    env = dict(os.environ, PYTHONPATH=tree)
    with tempfile.TemporaryDirectory() as tmp:
        env["STATICGRAPH_CACHE_DIR"] = cache or tmp
        out = subprocess.run([sys.executable, "-c", src, mode, name], cwd=tree, env=env,
                             capture_output=True, text=True, timeout=600)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{tree} {mode} {name}: {out.stderr[-2000:]}")


def _phases(r: dict) -> str:
    other = r["capture"] - r["trace"] - r["run"]
    trace = r["trace"] - r["grads"] - r["eager"]
    return (f"trace {trace * 1e3:5.1f} grads {r['grads'] * 1e3:5.1f} eager "
            f"{r['eager'] * 1e3:5.1f} run {r['run'] * 1e3:6.1f} other {other * 1e3:5.1f} ms")


def _gcs(r: dict) -> str:
    return f"{r.get('gc', 0.0) * 1e3:.1f}/{r.get('gc_n', 0)}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--against", default=None)
    ap.add_argument("-w", default="seed,xor-linear,xor-mlp,mlp-step,chain")
    ap.add_argument("--order", action="store_true", help="sgbench's order (module docstring)")
    a = ap.parse_args(argv)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = [("this", here)] + ([("against", os.path.abspath(a.against))] if a.against else [])
    names = a.w.split(",")
    if a.order:
        return _in_order(trees, a.w, a.rounds, a.cold)
    caches: dict[str, Any] = {}
    if not a.cold:
        for label, tree in trees:
            caches[label] = tempfile.mkdtemp(prefix="sgcache-phases-")
            for name in names:  # warm the disk cache, untimed
                for mode in ("static", "dynamic-compile"):
                    _one(tree, mode, name, caches[label])
    res: dict = {}
    for r in range(a.rounds):
        order = trees if r % 2 == 0 else trees[::-1]
        for name in names:
            for label, tree in order:
                for mode in (("static", "dynamic-compile") if r % 2 == 0
                             else ("dynamic-compile", "static")):
                    res.setdefault((label, name, mode), []).append(
                        _one(tree, mode, name, caches.get(label)))
    print(f"first call (build + first step), {'cold' if a.cold else 'warm'} cache, "
          f"{a.rounds} rounds; ratios dynamic-compile / static per round (wall; cpu)")
    for name in names:
        for label, _ in trees:
            s, d = res[label, name, "static"], res[label, name, "dynamic-compile"]
            rw = sorted(x["wall"] / y["wall"] for x, y in zip(d, s, strict=True))
            rc = sorted(x["cpu"] / y["cpu"] for x, y in zip(d, s, strict=True))
            print(f"{name:10} {label:7} static {statistics.median(x['wall'] for x in s) * 1e3:6.1f}"
                  f" ms  dc {statistics.median(x['wall'] for x in d) * 1e3:6.1f} ms  wall "
                  f"{', '.join(f'{v:.2f}' for v in rw)}; cpu {', '.join(f'{v:.2f}' for v in rc)}")
            rs = sorted(x["step"] / y["step"] for x, y in zip(d, s, strict=True))
            print(f"{'':10} {'':7} the step's first call alone: static "
                  f"{statistics.median(x['step'] for x in s) * 1e3:6.1f} ms  dc "
                  f"{statistics.median(x['step'] for x in d) * 1e3:6.1f} ms  ratios "
                  f"{', '.join(f'{v:.2f}' for v in rs)}")
            best = min(d, key=lambda x: x["wall"])
            print(f"{'':10} {'':7} dc phases (fastest round): {_phases(best)}")
            print(f"{'':10} {'':7} garbage collection inside the first call (ms, collections): "
                  f"static {', '.join(_gcs(x) for x in s)}; dc {', '.join(_gcs(x) for x in d)}")


def _in_order(trees: list, names: str, rounds: int, cold: bool) -> None:
    """``--order``: the ratios of each workload's first call in ``sgbench``'s order."""
    caches = {label: None if cold else tempfile.mkdtemp(prefix="sgcache-phases-")
              for label, _ in trees}
    if not cold:
        for label, tree in trees:  # warm the disk cache, untimed
            for mode in ("static", "dynamic-compile"):
                _one(tree, mode, names, caches[label], _ORDER)
    res: dict = {}
    for r in range(rounds):
        for label, tree in (trees if r % 2 == 0 else trees[::-1]):
            for mode in (("static", "dynamic-compile") if r % 2 == 0
                         else ("dynamic-compile", "static")):
                res.setdefault((label, mode), []).append(
                    _one(tree, mode, names, caches[label], _ORDER))
    print(f"first call in sgbench's order, {'cold' if cold else 'warm'} cache, {rounds} rounds; "
          "dynamic-compile / static per round: median [sorted ratios]")
    for name in names.split(","):
        for label, _ in trees:
            s, d = res[label, "static"], res[label, "dynamic-compile"]
            line = f"{name:10} {label:7}"
            for key, what in (("wall", "wall"), ("cpu", "thread cpu")):
                rs = sorted(x[name][key] / y[name][key] for x, y in zip(d, s, strict=True))
                line += f" {what} {statistics.median(rs):.2f} [{', '.join(f'{v:.2f}' for v in rs)}]"
            ms = [statistics.median(x[name]["cpu"] for x in m) * 1e3 for m in (s, d)]
            line += f"  thread cpu ms: static {ms[0]:.1f} dc {ms[1]:.1f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
