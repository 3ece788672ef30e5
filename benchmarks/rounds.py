"""``sgbench --rounds N``: every mode run N times, in alternating order, and the rounds merged.

Why: modes run one after another, each in its own process, so on a shared machine one mode may
meet a quiet minute and the next a busy one (on the 2-core machine of issue #13 the same mlp-step
cell measured 3 ms in one run and 15 ms in the next). Alternating the order (forward, then
backward, ...) and keeping each round's ratio to the baseline shows that spread instead of one
lucky or unlucky pairing; the table pools the samples of every round.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def order(modes: Sequence[str], rnd: int) -> list[str]:
    """The modes of round ``rnd`` (0-based): as given in even rounds, reversed in odd ones."""
    return list(modes) if rnd % 2 == 0 else list(modes)[::-1]


def round_ratios(results: list[dict], baseline: str) -> dict[tuple[str, str], float]:
    """(workload, mode) -> median / the baseline's median, within one round's results."""
    base = {r["workload"]: r["median_s"] for r in results
            if r["mode"] == baseline and r.get("status") == "ok"}
    return {(r["workload"], r["mode"]): r["median_s"] / base[r["workload"]] for r in results
            if r.get("status") == "ok" and base.get(r["workload"])}


def merge(rounds: list[list[dict]], baseline: str) -> list[dict]:
    """One record per (workload, mode): a failed round's record if any round failed (a
    mismatch is never hidden by a later good round), else the first round's record with the
    samples of every round pooled (``median_s``, ``min_s``, ...) and, per round, its median
    (``round_medians_s``) and its ratio to the baseline (``round_ratios``; None where the
    baseline did not run)."""
    ratios = [round_ratios(res, baseline) for res in rounds]
    cells: dict[tuple[str, str], list[dict]] = {}
    for res in rounds:
        for r in res:
            cells.setdefault((r["workload"], r["mode"]), []).append(r)
    out = []
    for key, recs in cells.items():
        bad = [r for r in recs if r.get("status") != "ok"]
        if bad:
            out.append(dict(bad[0], rounds=len(recs)))
            continue
        r = dict(recs[0])
        samples = [s for x in recs for s in x["samples_s"]]
        r.update(samples_s=samples, repeats=len(samples), median_s=statistics.median(samples),
                 min_s=min(samples), max_s=max(samples), mean_s=statistics.fmean(samples),
                 rounds=len(recs), round_medians_s=[x["median_s"] for x in recs],
                 round_ratios=[rr.get(key) for rr in ratios],
                 first_call_s=recs[0]["first_call_s"])
        out.append(r)
    return out


def summary(results: list[dict], modes: Sequence[str], baseline: str) -> str:
    """Lines "workload  mode  r1 r2 r3 (median, spread)" of the per-round ratios."""
    lines = [f"ratio to {baseline} per round (mode order alternating):"]
    for r in results:
        rr = [x for x in r.get("round_ratios") or [] if x is not None]
        if r["mode"] == baseline or not rr or r["mode"] not in modes:
            continue
        cells = " ".join(f"{x:.2f}x" for x in rr)
        lines.append(f"  {r['workload']:<10} {r['mode']:<16} {cells}   (median "
                     f"{statistics.median(rr):.2f}x, {min(rr):.2f}x-{max(rr):.2f}x)")
    return "\n".join(lines) if len(lines) > 1 else ""
