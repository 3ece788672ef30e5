"""``torch.autograd.profiler``: ``profile`` and ``record_function`` that time labelled ranges.

Only the ranges a program labels with ``record_function`` are recorded (the ops themselves are
not: the eager hot path stays untouched), with wall-clock times. ``key_averages().table()``
prints PyTorch's columns for them; the numbers are this machine's, not PyTorch's kernel times.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

_ACTIVE: list[profile] = []
_COLUMNS = ("Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls")


class FunctionEventAvg:
    """The totals of one label: ``key``, ``count``, ``cpu_time_total``, ``self_cpu_time_total``
    (microseconds)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0


class EventList(list):
    """A list of ``FunctionEventAvg`` with PyTorch's ``table()``."""

    def table(self, sort_by: str | None = None, row_limit: int = 100, **kwargs: Any) -> str:
        rows = list(self)
        if sort_by is not None and sort_by.lstrip("-") in ("cpu_time_total",
                                                           "self_cpu_time_total", "count"):
            rows.sort(key=lambda e: getattr(e, sort_by.lstrip("-")), reverse=True)
        rows = rows[:row_limit] if row_limit and row_limit > 0 else rows
        total = sum(e.self_cpu_time_total for e in self) or 1.0
        width = max([len("Name")] + [len(e.key) for e in rows]) + 2
        rule = "-" * width + "  " + "  ".join("-" * 12 for _ in _COLUMNS) + "  "
        lines = [rule, "Name".rjust(width) + "  " + "  ".join(c.rjust(12) for c in _COLUMNS)
                 + "  ", rule]
        for e in rows:
            cells = (f"{100 * e.self_cpu_time_total / total:.2f}%", _us(e.self_cpu_time_total),
                     f"{100 * e.cpu_time_total / total:.2f}%", _us(e.cpu_time_total),
                     _us(e.cpu_time), str(e.count))
            lines.append(e.key.rjust(width) + "  " + "  ".join(c.rjust(12) for c in cells)
                         + "  ")
        lines += [rule, f"Self CPU time total: {_us(total)}", ""]
        return "\n".join(lines)


def _us(t: float) -> str:
    return f"{t / 1000:.3f}ms" if t >= 1000 else f"{t:.3f}us"


class profile:  # noqa: N801 - PyTorch's name
    """Collects the ``record_function`` ranges entered while it is active."""

    def __init__(self, enabled: bool = True, *args: Any, **kwargs: Any) -> None:
        self.enabled = enabled
        self._events: dict[str, FunctionEventAvg] = {}

    def __enter__(self) -> profile:
        if self.enabled:
            _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled and self in _ACTIVE:
            _ACTIVE.remove(self)

    start = __enter__

    def stop(self) -> None:
        self.__exit__()

    def step(self) -> None:
        """``torch.profiler.profile.step()``: schedules are not modelled (no-op)."""

    def _add(self, name: str, total_us: float, self_us: float) -> None:
        ev = self._events.setdefault(name, FunctionEventAvg(name))
        ev.count += 1
        ev.cpu_time_total += total_us
        ev.self_cpu_time_total += self_us

    def key_averages(self, group_by_input_shape: bool = False, **kwargs: Any) -> EventList:
        return EventList(self._events.values())

    def events(self) -> EventList:
        return self.key_averages()

    def export_chrome_trace(self, path: str) -> None:
        raise NotImplementedError("export_chrome_trace is not supported by this project "
                                  "(dynamic); print key_averages().table() instead")


class record_function:  # noqa: N801
    """Labels a range (context manager or decorator); its time goes to the active profilers."""

    _stack: list = []

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name

    def __enter__(self) -> record_function:
        self._start = time.perf_counter()
        self._child = 0.0
        record_function._stack.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        record_function._stack.remove(self)
        total = (time.perf_counter() - self._start) * 1e6
        if record_function._stack:
            record_function._stack[-1]._child += total
        for prof in _ACTIVE:
            prof._add(self.name, total, total - self._child)

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapped


def emit_nvtx(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("emit_nvtx is not supported by this project (dynamic: CPU only)")
