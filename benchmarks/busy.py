"""A busy machine on demand, for ``sgbench --busy N``: N processes, each spinning on a CPU, for
the whole run.

Why: issue #13's thread goal ("mlp-step at ``--threads 2`` on a busy machine: never slower than
numpy in the same run") and the thread policy's decisions (docs/compiler.md, "Threads") depend
on other work holding the cores; a shared machine's own load comes and goes, so a comparison
of idle and busy runs needs a load that the command itself starts and stops.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

SPIN = "while True: pass"
SETTLE_S = 0.5
"""Seconds between starting the spinners and the first mode: their interpreters start up and
keep the CPUs busy in ``/proc/stat`` (what the thread policy reads, over its window)."""


@contextmanager
def spinners(n: int, settle_s: float = SETTLE_S) -> Iterator[list[int]]:
    """Run ``n`` CPU-bound processes while the block runs; yields their process ids. They are
    killed and reaped on exit, also when the block raises (none is left behind)."""
    if n < 0:
        raise ValueError(f"spinners: the number of busy processes must be >= 0 (got {n})")
    procs: list[subprocess.Popen] = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen([sys.executable, "-c", SPIN], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          env=dict(os.environ, PYTHONPATH="")))
        if procs:
            time.sleep(settle_s)
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
