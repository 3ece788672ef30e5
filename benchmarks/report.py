"""Turning result records into the table, JSON, CSV and the ratio bar chart."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import Any

CSV_COLUMNS = ("workload", "mode", "status", "size", "steps", "median_s", "min_s", "max_s",
               "per_step_median_s", "per_step_min_s", "per_step_max_s", "first_call_s", "build_s",
               "peak_mb", "extra_mb", "ratio", "repeats", "number", "reason")


def fmt_time(s: float | None) -> str:
    """Seconds as a short human string with 3 significant digits (ns, us, ms, s)."""
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            v = s / scale
            return f"{v:.3g} {unit}" if v < 1000 else f"{v:.0f} {unit}"
    return f"{s} s"


def fmt_ratio(r: float | None) -> str:
    """A ratio with about 3 significant digits (``-`` when unknown)."""
    if not r:
        return "-"
    return f"{r:.2f}x" if r < 10 else (f"{r:.1f}x" if r < 100 else f"{r:.0f}x")


def add_ratios(results: list[dict], baseline: str) -> None:
    """Per-step stats and ``ratio`` = median / the baseline mode's median (same workload)."""
    base = {r["workload"]: r["median_s"] for r in results
            if r["mode"] == baseline and r.get("status") == "ok"}
    for r in results:
        if r.get("status") != "ok":
            continue
        steps = r.get("steps") or 1
        for k in ("median", "min", "max"):
            r[f"per_step_{k}_s"] = r[f"{k}_s"] / steps
        b = base.get(r["workload"])
        r["ratio"] = r["median_s"] / b if b else None


def table(results: list[dict], modes: Sequence[str], workloads: Sequence[Any],
          baseline: str) -> str:
    """The main table: one row per (workload, mode), times per step. Cells that did not run
    show their status in one line; modes skipped as a whole are left out (listed separately)."""
    head = ("workload", "mode", "median", "min", "max", "first call", "peak MB",
            f"vs {baseline}")
    rows: list[tuple[str, ...]] = []
    by = {(r["workload"], r["mode"]): r for r in results}
    for wl in workloads:
        first = True
        for m in modes:
            r = by.get((wl.name, m))
            if r is None or r.get("mode_skipped"):
                continue
            name, first = (wl.name if first else ""), False
            if r.get("status") != "ok":
                rows.append((name, m, f"{r.get('status', '?')}: {r.get('reason', '')}"[:70]))
                continue
            ratio = r.get("ratio")
            rows.append((name, m, fmt_time(r["per_step_median_s"]), fmt_time(r["per_step_min_s"]),
                         fmt_time(r["per_step_max_s"]), fmt_time(r["first_call_s"]),
                         f"{r['extra_mb']:.1f}", fmt_ratio(ratio)))
    full = [row for row in rows if len(row) == len(head)]
    widths = [max([len(head[i])] + [len(row[i]) for row in full]) for i in range(len(head))]
    widths[0] = max([widths[0]] + [len(row[0]) for row in rows])
    widths[1] = max([widths[1]] + [len(row[1]) for row in rows])
    lines = ["  ".join(h.ljust(w) if i < 2 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(head, widths, strict=True))),
             "  ".join("-" * w for w in widths)]
    for row in rows:
        right = len(row) == len(head)  # numbers right-aligned; a status message runs on
        cells = zip(row, widths[:len(row)], strict=True)
        lines.append("  ".join(c.rjust(w) if i >= 2 and right else c.ljust(w)
                               for i, (c, w) in enumerate(cells)).rstrip())
    return "\n".join(lines)


def matrix(results: list[dict], modes: Sequence[str], workloads: Sequence[Any],
           baseline: str) -> str:
    """A compact workload x mode grid: ratios to the baseline, or per-step medians when the
    baseline did not run (``-``: not run)."""
    by = {(r["workload"], r["mode"]): r for r in results}
    shown = [m for m in modes if any((w.name, m) in by and not by[(w.name, m)].get("mode_skipped")
                                     for w in workloads)]
    if not shown:
        return ""
    use_ratio = any(r.get("ratio") for r in results)
    title = (f"median time relative to {baseline} (lower is faster):" if use_ratio
             else "median time per step:")
    w0 = max(len("workload"), *(len(w.name) for w in workloads))
    widths = [max(len(m), 8) for m in shown]
    lines = [title, "workload".ljust(w0) + "  "
             + "  ".join(m.rjust(w) for m, w in zip(shown, widths, strict=True))]
    for wl in workloads:
        cells = []
        for m, w in zip(shown, widths, strict=True):
            r = by.get((wl.name, m), {})
            if r.get("status") != "ok":
                cell = r.get("status", "-")
            elif use_ratio:
                cell = fmt_ratio(r["ratio"]) if r.get("ratio") else "n/a"
            else:
                cell = fmt_time(r["per_step_median_s"])
            cells.append(cell[:w].rjust(w))
        lines.append(wl.name.ljust(w0) + "  " + "  ".join(cells))
    return "\n".join(lines)


def write_json(path: str, doc: dict) -> None:
    """The whole run as JSON (``-``: stdout)."""
    text = json.dumps(doc, indent=2, sort_keys=False)
    if path == "-":
        print(text)
    else:
        with open(path, "w") as f:
            f.write(text + "\n")


def write_csv(path: str, results: list[dict]) -> None:
    """One row per (workload, mode)."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in results:
            w.writerow({k: r.get(k, "") for k in CSV_COLUMNS})


def check_plot_available() -> None:
    """Fail early (before benchmarking) when ``--plot`` cannot work."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise SystemExit("sgbench: --plot needs matplotlib, which is not installed; "
                         "install it with: pip install 'staticgraph[plot]' "
                         "(or pip install matplotlib)") from None


def plot(path: str, results: list[dict], modes: Sequence[str], workloads: Sequence[Any],
         baseline: str, title: str = "sgbench") -> None:
    """A grouped bar chart of time / baseline per workload (log scale; lower is faster)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = {(r["workload"], r["mode"]): r for r in results}
    shown = [m for m in modes if any(by.get((w.name, m), {}).get("ratio") for w in workloads)]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(workloads) + 2), 4.5))
    width = 0.8 / max(1, len(shown))
    for i, m in enumerate(shown):
        xs, ys = [], []
        for j, wl in enumerate(workloads):
            ratio = by.get((wl.name, m), {}).get("ratio")
            if ratio:
                xs.append(j + (i - (len(shown) - 1) / 2) * width)
                ys.append(ratio)
        ax.bar(xs, ys, width=width, label=m)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(workloads)), [w.name for w in workloads], rotation=20)
    ax.set_ylabel(f"median time / {baseline} (lower is faster)")
    ax.legend(fontsize="small", ncol=2)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
