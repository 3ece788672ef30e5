"""The fuzz loop: a worker that checks seeds one by one, and a supervisor that runs workers in
subprocesses, so a native crash (SIGABRT/SIGSEGV in compiled code) or a hang costs one case,
which is recorded with its seed, and the run goes on in a fresh worker.

Worker -> supervisor protocol: one ``@@{json}`` line per event on stdout (``start``, ``done``,
``fail``, ``shrunk``, ``alive``); anything else the worker prints goes to ``worker.log``.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field

EVENT = "@@"
CASES_PER_WORKER = 200


def emit(**event) -> None:
    sys.stdout.write(EVENT + json.dumps(event) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------------------- worker
def worker(opts: dict) -> int:
    """Check seeds ``opts["seed"]``, +1, ... until ``opts["deadline"]`` (or ``opts["cases"]``);
    shrink the first few failures of each signature. A worker retires after
    :data:`CASES_PER_WORKER` cases (the supervisor starts a fresh one): every distinct kernel's
    machine code stays loaded for the life of a process, and a 30-minute run in one process
    reached the address-space cap (LLVM "out of memory", reported as a crash)."""
    warnings.filterwarnings("ignore")
    oracles = tuple(opts["oracles"])
    shrunk_per_sig: dict[str, int] = dict(opts.get("shrunk", {}))
    seed, n = opts["seed"], 0
    while time.time() < opts["deadline"] and (opts["cases"] is None or n < opts["cases"]) \
            and n < CASES_PER_WORKER:
        emit(start=seed)
        try:
            _one(seed, opts, oracles, shrunk_per_sig)
        except Exception:  # noqa: BLE001 - a harness bug: reported, never a crash
            emit(done=seed, status="harness", why=traceback.format_exc()[-1500:])
        seed += 1
        n += 1
    return 0


def _one(seed: int, opts: dict, oracles: tuple, shrunk_per_sig: dict) -> None:
    from .case import check
    from .generate import generate
    from .half import KNOWN_OPEN
    from .shrink import shrink

    if os.environ.get("SG_FUZZ_ABORT_AT") == str(seed):  # tests: a native crash at this seed
        os.abort()
    prog = generate(seed, opts["max_nodes"], families=opts.get("families"), edge=opts.get("edge"),
                    **opts.get("batch_opts", {}))
    out = check(prog, oracles)
    if out.invalid:
        emit(done=seed, status="invalid", why=out.invalid[:300])
        return
    how = _compile_event(out.compile)
    if out.sat_out:
        how["sat"] = out.sat_out
    if prog.dtype == "float16":  # counted: a float16 sit-out is said, never silent
        how["f16"] = [r for r in out.skipped.values() if r.startswith("float16")]
    if not out.failed:
        emit(done=seed, status="ok", **how)
        return
    if out.signatures() <= set(KNOWN_OPEN):  # only known, open float16 kernels (.half)
        emit(done=seed, status="known", sigs=sorted(out.signatures()), **how)
        return
    sig = out.findings[0].signature
    emit(fail=seed, signature=sig, findings=[str(f) for f in out.findings[:8]],
         program=prog.to_json())
    if opts["shrink"] and shrunk_per_sig.get(sig, 0) < opts["shrink_per_signature"]:
        shrunk_per_sig[sig] = shrunk_per_sig.get(sig, 0) + 1
        small = shrink(prog, _same_failure(sig, oracles), opts["shrink_s"],
                       log=lambda s: emit(alive=s))
        final = check(small, oracles)
        emit(shrunk=seed, signature=sig, program=small.to_json(),
             findings=[str(f) for f in final.findings[:8]])
    emit(done=seed, status="fail", **how)


def _compile_event(stats: dict | None) -> dict:
    """The compile oracle's part of a ``done`` event: how the calls ran, the first break."""
    from .oracle_compile import mode

    how = mode(stats)
    if how is None:
        return {}
    return {"compile": how, "brk": stats["breaks"][0][:120] if stats["breaks"] else None}


def _same_failure(sig: str, oracles: tuple):
    from .case import check

    who = sig.split(":")[0]
    sub = tuple(o for o in oracles if o in ("reference", who))

    def pred(p) -> bool:
        return sig in check(p, sub).signatures()
    return pred


# --------------------------------------------------------------------------- supervisor
@dataclass
class Summary:
    ok: int = 0
    invalid: int = 0
    failures: list = field(default_factory=list)   # {"seed", "signature", "findings", ...}
    crashes: list = field(default_factory=list)    # {"seed", "why"}
    harness: list = field(default_factory=list)    # {"seed", "why"}: bugs of the fuzzer
    shrunk: dict = field(default_factory=dict)     # seed -> {"program", "findings"}
    compile: dict = field(default_factory=dict)    # compile oracle: mode -> cases
    breaks: dict = field(default_factory=dict)     # compile oracle: first break -> seeds
    sat_out: int = 0  # cases where a PyTorch-side oracle sat out a paradigm difference
    half: int = 0  # float16 cases
    half_sit: dict = field(default_factory=dict)  # float16 sit-out reason -> cases
    known: dict = field(default_factory=dict)  # known open signature -> seeds (.half)

    @property
    def checked(self) -> int:
        return (self.ok + self.invalid + len(self.failures) + len(self.crashes)
                + len(self.harness) + len({s for seeds in self.known.values() for s in seeds}))


def _env(opts: dict) -> dict:
    env = dict(os.environ)
    env.setdefault("STATICGRAPH_PARALLEL_MIN", str(opts["parallel_min"]))
    env.setdefault("STATICGRAPH_PRANGE", "1")  # prange kernels even on busy cores
    env["STATICGRAPH_CACHE_DIR"] = opts["cache_dir"]
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _limit_memory(gb: float):
    """A worker's address-space cap: a runaway case fails with MemoryError (a recorded error
    or crash) instead of waking the machine's OOM killer."""
    def apply() -> None:
        import resource

        cap = int(gb * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    return apply


def supervise(opts: dict, log=print) -> Summary:
    """Run workers until the deadline, restarting after a crash or a hang."""
    s = Summary()
    seed = opts["seed"]
    os.makedirs(opts["out"], exist_ok=True)
    wlog = open(os.path.join(opts["out"], "worker.log"), "a")  # noqa: SIM115
    shrunk_sigs: dict[str, int] = {}
    while time.time() < opts["deadline"] and (opts["cases"] is None or s.checked < opts["cases"]):
        wopts = dict(opts, seed=seed, shrunk=shrunk_sigs,
                     cases=None if opts["cases"] is None else opts["cases"] - s.checked)
        proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz", "--worker", json.dumps(wopts)],
                                stdout=subprocess.PIPE, stderr=wlog, env=_env(opts),
                                cwd=opts["root"], text=True, bufsize=1,
                                preexec_fn=_limit_memory(opts.get("mem_gb", 6.0)))
        current, last = None, time.time()
        buf = ""
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], 5.0)
            if not ready:
                if time.time() - last > opts["case_timeout"]:
                    proc.kill()
                    proc.wait()
                    if current is not None:
                        s.crashes.append({"seed": current, "why": "hang: no progress for "
                                          f"{opts['case_timeout']}s"})
                        log(f"seed {current}: HANG (worker killed)")
                    break
                continue
            line = proc.stdout.readline()
            if not line:
                rc = proc.wait()
                if rc != 0 and current is not None:
                    s.crashes.append({"seed": current, "why": f"worker died (exit status {rc})"})
                    log(f"seed {current}: CRASH (worker exit status {rc}); restarting")
                break
            last = time.time()
            if not line.startswith(EVENT):
                buf += line
                continue
            ev = json.loads(line[len(EVENT):])
            if "start" in ev:
                current = ev["start"]
            elif "done" in ev:
                current = None
                seed = ev["done"] + 1
                s.sat_out += bool(ev.get("sat"))
                s.half += "f16" in ev
                for why in ev.get("f16", ()):
                    s.half_sit[why] = s.half_sit.get(why, 0) + 1
                if "compile" in ev:
                    s.compile[ev["compile"]] = s.compile.get(ev["compile"], 0) + 1
                    if ev["brk"]:
                        s.breaks.setdefault(ev["brk"], []).append(ev["done"])
                if ev["status"] == "ok":
                    s.ok += 1
                elif ev["status"] == "invalid":
                    s.invalid += 1
                elif ev["status"] == "known":
                    for sig in ev["sigs"]:
                        s.known.setdefault(sig, []).append(ev["done"])
                elif ev["status"] == "harness":
                    s.harness.append({"seed": ev["done"], "why": ev["why"]})
                    log(f"seed {ev['done']}: fuzzer error\n{ev['why']}")
            elif "fail" in ev:
                s.failures.append(ev)
                shrunk_sigs[ev["signature"]] = shrunk_sigs.get(ev["signature"], 0) + 1
                log(f"seed {ev['fail']}: FAIL {ev['signature']}: {ev['findings'][0][:160]}")
            elif "shrunk" in ev:
                s.shrunk[ev["shrunk"]] = ev
                _save(opts["out"], ev)
        if current is not None:
            seed = current + 1
    wlog.close()
    return s


def _save(out: str, ev: dict) -> None:
    from .program import Program
    from .render import snippet

    prog = Program.from_json(ev["program"])
    path = os.path.join(out, f"seed{ev['shrunk']}.json")
    with open(path, "w") as f:
        json.dump({"seed": ev["shrunk"], "signature": ev["signature"],
                   "findings": ev["findings"], "program": ev["program"]}, f, indent=1)
    with open(path[:-5] + ".py", "w") as f:
        f.write(snippet(prog))
    if ev["signature"].startswith("compile:"):
        from .oracle_compile import compile_snippet

        with open(path[:-5] + "_compile.py", "w") as f:
            f.write(compile_snippet(prog))
