"""``python -m tests.fuzz``: the differential fuzzer's command line (see docs/guarantees.md,
"Running the fuzzer"). Exit status 0 when every case agreed, 1 on any disagreement or crash,
2 on a usage error."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

from .case import DEFAULT_ORACLES, ORACLES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    ap.add_argument("--minutes", type=float, default=5.0, help="time budget (default 5)")
    ap.add_argument("--cases", type=int, default=None, help="stop after this many cases")
    ap.add_argument("--seed", type=int, default=None, help="first case seed (default: clock)")
    ap.add_argument("--max-nodes", type=int, default=8, help="nodes per program (default 8)")
    ap.add_argument("--oracles", default=",".join(DEFAULT_ORACLES),
                    help=f"comma-separated subset of {','.join(ORACLES)} (default: all but "
                    "compile; +NAME adds to the default, e.g. +compile)")
    ap.add_argument("--families", default=None,
                    help="comma-separated generator families (default: all; see generate.py)")
    ap.add_argument("--dtypes", default=None,
                    help="comma-separated program dtypes to draw from (default: float32 and "
                    "float64, float16 in about 12%%; e.g. float16 forces it)")
    ap.add_argument("--edge", type=float, default=None,
                    help="rate of edge values in every program's data, inf/-inf/NaN included")
    ap.add_argument("--batches", default=None,
                    help="batch sizes to draw from (default 0,1,2,3,4,5,7)")
    ap.add_argument("--big-p", type=float, default=0.08,
                    help="chance of one big batch per program (default 0.08)")
    ap.add_argument("--big-max", type=int, default=1500,
                    help="big batches are drawn from [big_max/5, big_max) (default 1500)")
    ap.add_argument("--no-shrink", action="store_true", help="report failures unminimized")
    ap.add_argument("--shrink-s", type=float, default=240.0, help="seconds per shrink")
    ap.add_argument("--shrink-per-signature", type=int, default=2,
                    help="minimize at most this many failures of one signature")
    ap.add_argument("--parallel-min", type=int, default=4096,
                    help="STATICGRAPH_PARALLEL_MIN for the workers (prange on big batches)")
    ap.add_argument("--case-timeout", type=float, default=300.0,
                    help="seconds without progress before a worker counts as hung")
    ap.add_argument("--mem-gb", type=float, default=6.0,
                    help="address-space cap of a worker in GiB (default 6)")
    ap.add_argument("--out", default=None, help="where failing cases go (default: a temp dir)")
    ap.add_argument("--replay", nargs="+", metavar="FILE",
                    help="re-check recorded cases (a failure .json or regressions.json)")
    ap.add_argument("--add-regression", metavar="FILE",
                    help="append a minimized failure (.json from --out) to regressions.json")
    ap.add_argument("--tag", help="with --add-regression: a short root-cause tag")
    ap.add_argument("--cause", default="", help="with --add-regression: one line on the cause")
    ap.add_argument("--xfail", action="store_true",
                    help="with --add-regression: the fix has not landed yet")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--run-one", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def _replay(files: list[str], oracles: tuple) -> int:
    from .case import check, describe
    from .program import Program

    bad = 0
    for path in files:
        with open(path) as f:
            data = json.load(f)
        cases = data if isinstance(data, list) else [data]
        for c in cases:
            out = check(Program.from_json(c["program"]), oracles)
            name = c.get("tag") or c.get("seed")
            if out.failed:
                bad += 1
                print(f"{path} [{name}]: FAIL\n  " + describe(out.findings).replace("\n", "\n  "))
            else:
                print(f"{path} [{name}]: ok" + (f" (invalid: {out.invalid})" if out.invalid
                                                 else ""))
    return 1 if bad else 0


def _add_regression(a: argparse.Namespace) -> int:
    """Append a failure file's program to regressions.json under ``--tag``, checked by the
    oracles its signature names (plus the reference)."""
    if not a.tag:
        print("--add-regression needs --tag", file=sys.stderr)
        return 2
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regressions.json")
    with open(a.add_regression) as f:
        case = json.load(f)
    with open(path) as f:
        cases = json.load(f)
    if any(c["tag"] == a.tag for c in cases):
        print(f"tag {a.tag!r} is already recorded", file=sys.stderr)
        return 2
    who = case["signature"].split(":")[0]
    compiled = ["compiled", "native", "llvm"]
    oracles = ["reference"] + (compiled if who in (*compiled, "crash") else [who])
    cases.append({"tag": a.tag, "cause": a.cause, "xfail": a.xfail, "oracles": oracles,
                  "seed": case.get("seed"), "program": case["program"]})
    with open(path, "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    print(f"recorded {a.tag!r} ({len(cases)} cases in {path})")
    return 0


def _run_one(prog_json: str, oracles: tuple) -> int:
    """Check one program in this process (the crash shrinker's probe)."""
    from .case import check
    from .program import Program

    return 1 if check(Program.from_json(json.loads(prog_json)), oracles).failed else 0


def _shrink_crash(seed: int, opts: dict, log) -> None:
    """Minimize a crashing seed, each candidate in its own process."""
    from .generate import generate
    from .render import snippet
    from .runner import _env, _limit_memory
    from .shrink import shrink

    def crashes(p) -> bool:
        r = subprocess.run([sys.executable, "-m", "tests.fuzz", "--run-one", p.dumps(),
                            "--oracles", ",".join(opts["oracles"])], cwd=ROOT, env=_env(opts),
                           capture_output=True, timeout=opts["case_timeout"],
                           preexec_fn=_limit_memory(opts["mem_gb"]))
        return r.returncode < 0
    prog = generate(seed, opts["max_nodes"], families=opts.get("families"), edge=opts.get("edge"),
                    **opts.get("batch_opts", {}))
    small = shrink(prog, crashes, opts["shrink_s"], log=lambda s: None)
    path = os.path.join(opts["out"], f"crash{seed}")
    with open(path + ".json", "w") as f:
        json.dump({"seed": seed, "signature": "crash", "program": small.to_json()}, f)
    with open(path + ".py", "w") as f:
        f.write(snippet(small))
    log(f"crash seed {seed} minimized: {path}.py\n{snippet(small)}")


def _report(s, opts: dict, log) -> None:
    from .program import Program
    from .render import snippet

    n_known = len({x for seeds in s.known.values() for x in seeds})
    log(f"\n{s.checked} cases: {s.ok} agreed, {s.invalid} invalid (generator slips), "
        f"{len(s.failures)} disagreed, {n_known} known open, {len(s.crashes)} crashed or hung, "
        f"{len(s.harness)} fuzzer errors")
    if s.sat_out:
        log(f"{s.sat_out} case(s) had runs where eager/torch sat out a documented paradigm "
            "difference (tests/fuzz/paradigms.py)")
    for sig, seeds in sorted(s.known.items()):
        from .half import KNOWN_OPEN
        log(f"  known open (regressions.json {KNOWN_OPEN[sig]}, xfail): {sig}: {len(seeds)} "
            f"case(s), seeds {seeds[:10]}")
    if s.half:
        log(f"{s.half} float16 case(s) (docs/guarantees.md, \"float16 programs\")" + "".join(
            f"\n  {n} with {why}" for why, n in sorted(s.half_sit.items())))
    if s.compile:
        n = sum(s.compile.values())
        log(f"compile oracle: {n} cases ran it: " + ", ".join(
            f"{s.compile.get(m, 0)} {m} ({100 * s.compile.get(m, 0) / n:.0f}%)"
            for m in ("compiled", "partial", "eager")))
        for why, seeds in sorted(s.breaks.items(), key=lambda kv: -len(kv[1]))[:8]:
            log(f"  graph break in {len(seeds)} case(s) (seeds {seeds[:5]}): {why}")
    by_sig = defaultdict(list)
    for f in s.failures:
        by_sig[f["signature"]].append(f["fail"])
    for sig, seeds in sorted(by_sig.items()):
        log(f"  {sig}: {len(seeds)} case(s), seeds {seeds[:10]}")
    for c in s.crashes:
        log(f"  crash: seed {c['seed']}: {c['why']}")
    for seed, ev in sorted(s.shrunk.items()):
        prog = Program.from_json(ev["program"])
        log(f"\n=== seed {seed}: {ev['signature']} (minimized to {len(prog.nodes)} nodes; "
            f"{opts['out']}/seed{seed}.json) ===")
        for line in ev["findings"][:4]:
            log("  " + line[:300])
        if ev["signature"].startswith("compile:"):
            from .oracle_compile import compile_snippet

            log(compile_snippet(prog))
            continue
        log(snippet(prog) if len(snippet(prog)) < 6000 else
            f"  (snippet in {opts['out']}/seed{seed}.py)")


def main(argv: list[str] | None = None) -> int:
    a = _args(sys.argv[1:] if argv is None else argv)
    names = [o for o in a.oracles.split(",") if o]
    if names and all(o.startswith("+") for o in names):
        names = list(DEFAULT_ORACLES) + [o[1:] for o in names]
    oracles = tuple(names)
    if any(o not in ORACLES for o in oracles):
        print(f"unknown oracle in {a.oracles!r}; choose from {ORACLES}", file=sys.stderr)
        return 2
    if a.worker:
        from .runner import worker

        return worker(json.loads(a.worker))
    if a.run_one:
        return _run_one(a.run_one, oracles)
    if a.replay:
        return _replay(a.replay, oracles)
    if a.add_regression:
        return _add_regression(a)
    from .runner import supervise

    if a.families:
        from .generate import FAMILIES
        unknown = sorted(set(a.families.split(",")) - set(FAMILIES))
        if unknown:
            raise SystemExit(f"tests.fuzz: unknown --families {unknown}; "
                             f"known: {', '.join(FAMILIES)}")
    if a.dtypes:
        from .generator import DTYPES
        unknown = sorted(set(a.dtypes.split(",")) - set(DTYPES))
        if unknown:
            raise SystemExit(f"tests.fuzz: unknown --dtypes {unknown}; known: {', '.join(DTYPES)}")
    seed = a.seed if a.seed is not None else int(time.time()) % 10**6 * 1000
    out = a.out or tempfile.mkdtemp(prefix="sg-fuzz-")
    own_cache = "STATICGRAPH_CACHE_DIR" not in os.environ
    cache = tempfile.mkdtemp(prefix="sg-fuzz-cache-") if own_cache else \
        os.environ["STATICGRAPH_CACHE_DIR"]
    opts = dict(seed=seed, deadline=time.time() + 60 * a.minutes, cases=a.cases,
                max_nodes=a.max_nodes, oracles=list(oracles),
                families=a.families.split(",") if a.families else None, edge=a.edge,
                batch_opts=dict(big_p=a.big_p, big_max=a.big_max,  # Gen's options
                                dtypes=tuple(a.dtypes.split(",")) if a.dtypes else None, **(
                    {"sizes": tuple(int(b) for b in a.batches.split(","))} if a.batches
                    else {})),
                shrink=not a.no_shrink, shrink_s=a.shrink_s,
                shrink_per_signature=a.shrink_per_signature, parallel_min=a.parallel_min,
                case_timeout=a.case_timeout, mem_gb=a.mem_gb, out=out, cache_dir=cache, root=ROOT)
    log = lambda m: print(m, flush=True)  # noqa: E731
    log(f"fuzzing from seed {seed} for {a.minutes} min (oracles {','.join(oracles)}"
        + (f"; dtypes {a.dtypes}" if a.dtypes else "") + "); "
        f"failing cases go to {out}")
    try:
        s = supervise(opts, log)
        for c in s.crashes[:3] if opts["shrink"] else []:
            _shrink_crash(c["seed"], dict(opts, deadline=time.time() + opts["shrink_s"]), log)
        _report(s, opts, log)
    finally:
        if own_cache:
            shutil.rmtree(cache, ignore_errors=True)
    return 1 if (s.failures or s.crashes or s.harness) else 0


if __name__ == "__main__":
    sys.exit(main())
