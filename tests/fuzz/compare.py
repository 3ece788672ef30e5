"""Compare every oracle's results with the reference executor's.

Rules (issue #9): NaN positions must agree exactly, infinities too (sign included; a finite
value within a factor 1000 of the dtype's largest counts as an overflow twin). Finite values
agree within ``atol + rtol * |ref|``: ``rtol`` by dtype, scaled by the program's depth and its
largest reduction, ``atol`` by the largest intermediate magnitude (a difference of large terms
loses absolute, not relative, precision). A run that raises where the reference answers is a
failure; both raising is agreement; answering where the reference raises is a failure too
(``ref_error``), except for torch, whose error rules differ. A gradient one side does not
produce (None: unconnected) must be all zeros on the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import composites as K
from . import half as H
from . import paradigms as P
from . import wide_forms as W
from .oracles import Result, fd_run
from .program import Data, Program, concrete
from .render import body

RTOL = {"float64": 1e-11, "float32": 2e-5, "float16": 2e-3}  # without a float64 truth
F32_TRUTH_RTOL = 2 * float(np.finfo(np.float32).eps)  # 2 ulp per op (times depth + 1)
TRUTH_RTOL = {"float32": F32_TRUTH_RTOL, "float16": H.EPS16}  # float16: 1 ulp per op
HUGE = {"float16": float(np.finfo(np.float16).max) / 4}  # overflow twins (default: max / 1e3)
FD_RTOL = 1e-5
KEY_FACTOR = {"y": 1.0, "w": 2.0, "g": 3.0, "a": 3.0, "h": 8.0}  # a: .grad after backward()


@dataclass
class Finding:
    """One disagreement of ``oracle`` with the reference (``kind``: value, nan, inf, error,
    ref_error, shape, dtype, missing, contract: a breach of :mod:`.contract`'s rules, whatever
    the reference did, kernel: a float16 kernel of the reference off its own float64 run,
    :mod:`.half`) at ``key`` (``b{run}/{name}``); ``score`` ranks the worst value offender
    (error / tolerance)."""

    oracle: str
    kind: str
    key: str
    detail: str
    score: float = math.inf

    @property
    def signature(self) -> str:
        """What the shrinker preserves: who disagrees, how, on which kind of value (and for
        errors, the exception types and where the innermost was raised)."""
        sig = f"{self.oracle}:{self.kind}:{self.key.split('/')[-1][:1]}"
        if self.kind == "kernel":  # the registry op whose float16 kernel is off (.half)
            sig = f"{self.oracle}:kernel:{self.detail.split(' ', 1)[0]}"
        if self.kind in ("error", "ref_error"):
            sig += ":" + error_tag(self.detail)
        return sig

    def __str__(self) -> str:
        if self.kind == "kernel":
            return f"[reference's float16 kernel vs its float64 run] at {self.key}: {self.detail}"
        vs = "its eager twin" if self.oracle == "compile" else "reference"
        return f"[{self.oracle} vs {vs}] {self.kind} at {self.key}: {self.detail}"


def error_tag(text: str) -> str:
    """``InvalidArgumentError/ValueError@executor.py:73`` from an oracle's error text."""
    text = text.replace("answered where the reference raised ", "")
    types = []
    for word in text.split(": ")[:3]:
        if word.isidentifier() and (word.endswith("Error") or word.endswith("Exception")):
            types.append(word)
        else:
            break
    where = text.rsplit(" at ", 1)[-1] if " at " in text else ""
    return "/".join(types) + ("@" + where if where.endswith(tuple("0123456789")) else "")


def float64_truth(prog: Program, data: Data) -> Result | None:
    """The reference run of a float32 or float16 program in float64 on the same (upcast)
    data."""
    from .oracles import run_static

    p64 = prog.copy()
    p64.dtype = "float64"
    res = run_static(p64, Upcast(data), "reference")
    return None if res.build is not None else res


class Upcast:
    """A :class:`Data` look-alike serving the same arrays as float64 (or ``dtype``)."""

    def __init__(self, data: Data, dtype=np.float64) -> None:
        self.data, self.dtype = data, dtype
        self.static = {k: v.astype(dtype) for k, v in data.static.items()}

    def batch(self, k: int) -> dict:
        return {n: (a.astype(self.dtype) if a.dtype.kind == "f" else a)
                for n, a in self.data.batch(k).items()}


def magnitudes(prog: Program, data: Data) -> list[float]:
    """Per run: the largest finite |value| among all of the program's intermediates."""
    from staticgraph import ops

    src = body(prog, "np")
    out = []
    for k in range(len(prog.batches)):
        feeds = data.batch(k)
        ns = {"ops": ops, "np": np, "K": K, "W": W, "DT": np.dtype(prog.dtype)}
        for i in range(len(prog.inputs)):
            ns[f"v{i}"] = data.static[i] if i in data.static else feeds[f"x{i}"]
        m = 1.0
        try:
            with np.errstate(all="ignore"):
                exec(src, ns)  # noqa: S102
        except Exception:  # noqa: BLE001 - partial values are still informative
            pass
        for name, v in ns.items():
            if name.startswith("v") and name[1:].isdigit():
                a = np.asarray(v)
                if a.dtype.kind == "f" and a.size:
                    fin = np.abs(a[np.isfinite(a)])
                    if fin.size:
                        m = max(m, float(fin.max()))
        out.append(m)
    return out


def rtol_for(prog: Program) -> float:
    """The dtype's tolerance scaled by depth and the largest reduction/contraction."""
    big = max(prog.batches) if prog.batches else 1
    red = 1
    for s in prog.shapes:
        n = int(np.prod(concrete(s, big))) if s else 1
        red = max(red, n)
    return RTOL[prog.dtype] * (1 + len(prog.nodes) / 3) * (1 + math.log2(red))


def _check(oracle: str, key: str, got: np.ndarray, ref: np.ndarray, rtol: float, atol: float,
           dtype: str, exact_dtype: bool, truth: np.ndarray | None = None, trtol: float = 0.0,
           tatol: float = 0.0) -> Finding | None:
    """One value against the reference. With ``truth`` (the float64 run of a float32
    program), finite values are held to ``8 |ref - truth| + trtol |truth| + tatol`` from the
    truth instead: no worse than a few times the reference's own error."""
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape:
        return Finding(oracle, "shape", key, f"shape {got.shape} != reference {ref.shape}")
    if exact_dtype and got.dtype != ref.dtype:
        return Finding(oracle, "dtype", key, f"dtype {got.dtype} != reference {ref.dtype}")
    if got.dtype.kind not in "fc":
        bad = got != ref
        return Finding(oracle, "value", key, f"{int(bad.sum())} differ") if bad.any() else None
    g64, r64 = got.astype(np.float64), ref.astype(np.float64)
    gn, rn = np.isnan(g64), np.isnan(r64)
    if (gn != rn).any():
        i = tuple(int(j) for j in np.argwhere(gn != rn)[0])
        return Finding(oracle, "nan", key, f"NaN positions differ, e.g. at {i}: "
                       f"{got[i]!r} vs reference {ref[i]!r} ({int((gn != rn).sum())} places)")
    huge = HUGE.get(dtype, float(np.finfo(np.dtype(dtype)).max) / 1e3)
    gi, ri = np.isinf(g64), np.isinf(r64)
    twin = (gi & ~ri & (np.abs(r64) > huge)) | (ri & ~gi & (np.abs(g64) > huge))
    bad_inf = ((gi != ri) & ~twin) | (gi & ri & (np.sign(g64) != np.sign(r64)))
    if bad_inf.any():
        i = tuple(int(j) for j in np.argwhere(bad_inf)[0])
        return Finding(oracle, "inf", key, f"infinities differ, e.g. at {i}: {got[i]!r} vs "
                       f"reference {ref[i]!r}")
    fin = np.isfinite(g64) & np.isfinite(r64)
    if not fin.any():
        return None
    err = np.abs(np.where(fin, g64, 0.0) - np.where(fin, r64, 0.0))
    ratio = err / (atol + rtol * np.abs(np.where(fin, r64, 0.0)))
    if truth is not None and np.shape(truth) == got.shape:
        t64 = np.asarray(truth, np.float64)
        use = fin & np.isfinite(t64) & (np.abs(t64) < huge)
        t = np.where(use, t64, 0.0)
        terr = np.abs(np.where(use, g64, 0.0) - t)
        allowed = 8 * np.abs(np.where(use, r64, 0.0) - t) + trtol * np.abs(t) + tatol
        ratio = np.where(use, terr / allowed, ratio)
        err = np.where(use, terr, err)
    i = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    score = float(ratio[i])
    if score <= 1.0:
        return None
    i = tuple(int(j) for j in i)
    if truth is not None and np.shape(truth) == got.shape:
        vs_truth, rtol, atol = f", float64 truth {float(truth[i])!r}", trtol, tatol
    else:
        vs_truth = ""
    return Finding(oracle, "value", key, f"at {i}: {got[i]!r} vs reference {ref[i]!r}{vs_truth} "
                   f"(|err| {err[i]:.3g}, {score:.3g}x the tolerance rtol={rtol:.2g} "
                   f"atol={atol:.2g})", score)


def compare(prog: Program, results: dict[str, Result]) -> list[Finding]:
    """All disagreements with the reference, worst value offenders first."""
    ref = results.get("reference")
    if ref is None or ref.build is not None:
        return []
    out: list[Finding] = []
    rtol = rtol_for(prog)
    data = Data(prog)
    mags = magnitudes(prog, data)
    truth = float64_truth(prog, data) if prog.dtype in TRUTH_RTOL else None
    if prog.dtype == H.HALF:
        out.extend(H.kernel_findings(ref.kernels))
        out.extend(H.widened(ref.values))
        mags = [(m, max(m, H.magnitude(ref.kernels.get(k, ())))) for k, m in enumerate(mags)]
    for name, res in results.items():
        out.extend(Finding(name, "contract", "contract", x) for x in res.contract)
        if name == "reference" or res.skipped:
            continue
        if res.build is not None:
            out.append(Finding(name, "error", "build", res.build))
            continue
        if name == "fd":
            out.extend(_compare_fd(prog, res))
            continue
        if name == "compile":
            out.extend(compare_compile(prog, res))
            continue
        found = _compare_runs(prog, name, res, ref, rtol, mags, truth)
        if found and name == "torch" and prog.dtype == H.HALF:  # torch's float16 precision?
            keys = {f.key for f in found}  # what disagrees in both of torch's runs (float32
            found = [f for f in _compare_runs(  # does not overflow where float16 does)
                prog, name, H.torch_in_float32(prog, data), ref, rtol, mags, truth)
                if f.key in keys]
        out.extend(found)
    return sorted(out, key=lambda f: -f.score)


def _compare_runs(prog, name, res, ref, rtol, mags, truth, twin: bool = False) -> list[Finding]:
    """Oracle ``name``'s runs against the reference's (errors, then values); ``twin``: ``ref``
    is the ``compile`` oracle's eager twin (no paradigm sit-outs: both follow one convention)."""
    out = []
    for k in range(len(prog.batches)):
        if k in ref.errors:
            if k not in res.errors and (twin or name != "torch"):
                out.append(Finding(name, "ref_error", f"b{k}/run", "answered where the "
                                   f"{'eager twin' if twin else 'reference'} raised "
                                   f"{ref.errors[k]}"))
            continue
        if k in res.errors:
            out.append(Finding(name, "error", f"b{k}/run", res.errors[k]))
            continue
        skip = "" if twin else P.sat_out(prog, ref.paradigm, name, k)
        out.extend(_compare_run(prog, name, res, ref, k, rtol, mags[k], truth, skip))
    return out


def _compare_run(prog, name, res, ref, k, rtol, mag, truth, skip: str = "") -> list[Finding]:
    """Run ``k``'s values; ``skip``: the value kinds (``y``, ``g``...) a documented paradigm
    difference makes differ in this run (:mod:`.paradigms`); ``mag``: the run's largest
    intermediate, or (forward, with the gradient graph's) for float16 (:func:`.half.magnitude`)."""
    fmag, gmag = mag if isinstance(mag, tuple) else (mag, mag)
    out = []
    keys = {key for key in (*ref.values, *res.values) if key.startswith(f"b{k}/")
            and key.split("/")[1][0] not in skip}
    for key in sorted(keys):
        a, b = res.values.get(key), ref.values.get(key)
        if a is None or b is None:
            have = a if a is not None else b
            if key.split("/")[1][0] in "gha" and not np.any(have):
                continue
            who = name if a is None else "reference"
            out.append(Finding(name, "missing", key, f"{who} has no value (None gradient?)"))
            continue
        factor = KEY_FACTOR[key.split("/")[1][0]]
        mag = gmag if key.split("/")[1][0] in "ghaw" else fmag
        t = truth.values.get(key) if truth is not None and k not in truth.errors else None
        trtol = TRUTH_RTOL.get(prog.dtype, 0.0) * (1 + len(prog.nodes)) * factor
        f = _check(name, key, a, b, rtol * factor, rtol * factor * mag, prog.dtype,
                   exact_dtype=name not in ("torch",), truth=t, trtol=trtol, tatol=trtol * mag)
        if f is not None:
            out.append(f)
    return out


def _compare_fd(prog: Program, fd: Result) -> list[Finding]:
    ref = fd.against
    k = fd_run(prog)
    if ref is None or k in ref.errors or k in fd.errors:
        return []
    out = []
    for key, v in fd.values.items():
        r = ref.values.get(key)
        if r is None:
            r = np.zeros_like(v)
        if not np.all(np.isfinite(r)) or not np.all(np.isfinite(v)):
            continue
        scale = max(1.0, float(np.abs(r).max(initial=0.0)))
        f = _check("fd", key, v, r, FD_RTOL, FD_RTOL * scale, "float64", exact_dtype=False)
        if f is not None:
            out.append(f)
    return out


def compare_compile(prog: Program, res: Result) -> list[Finding]:
    """The ``compile`` oracle against its eager twin (same protocol, same data: see
    :mod:`.oracle_compile`); a float32 program's disagreements are judged again against the
    twin's float64 run (the truth), as the static oracles' are; a float16 program's are always
    judged against it."""
    from .oracle_compile import run_protocol

    cp, twin = res.calls, res.against
    data = Data(cp)
    rtol, mags = rtol_for(cp), magnitudes(cp, data)
    out = [] if cp.dtype == H.HALF else _compare_runs(cp, "compile", res, twin, rtol, mags, None,
                                                           twin=True)
    if (out and cp.dtype == "float32") or cp.dtype == H.HALF:  # float16: always the truth
        p64 = prog.copy()
        p64.dtype = "float64"
        truth = Result()
        truth.values, truth.errors, _ = run_protocol(p64, Upcast(data), compiled=False)
        out = _compare_runs(cp, "compile", res, twin, rtol, mags, truth, twin=True)
    return sorted(out, key=lambda f: -f.score)
