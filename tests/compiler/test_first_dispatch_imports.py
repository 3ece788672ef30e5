"""The first run after the switch to numba's dispatchers imports nothing.

numba's ``typeof`` of an ndarray argument reads ``np.ma.MaskedArray``; numpy 2 imports
``numpy.ma`` lazily, so the first dispatcher call of a process paid that import (23-47 ms on
the shared 2-core machine, against ~3 us for a seed-graph run) on the caller's thread, in the
first call after ``block_until_ready()``. ``numba_import.import_numba`` imports it on the thread
that imports numba (the loader's, in the background)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import staticgraph as sg
    from staticgraph.compiler import block_until_ready
    g = sg.Graph()
    with g.as_default():  # the seed graph, as sgbench's seed workload builds it
        x = sg.placeholder(sg.float32, [], name="x")
        w = sg.Variable(np.float32(3.0), name="w")
        y = (x + w) * (w + 1.0)
        grads = sg.gradients(y, [x, w])
        init = sg.global_variables_initializer()
    s = sg.Session(graph=g)
    s.run(init)
    xv = np.float32(2.0)
    s.run([y, *grads], {x: xv})
    assert block_until_ready(120)
    before = set(sys.modules)
    out = s.run([y, *grads], {x: xv})
    print(json.dumps({"new": sorted(set(sys.modules) - before), "numba": "numba" in before,
                      "out": [float(v) for v in out]}))
""")


def test_the_first_run_after_the_switch_to_numba_imports_no_module(tmp_path: Path) -> None:
    """A warm process (the benchmarks' case): its first runs use saved machine code, and the
    first call through numba's dispatchers comes after the switch."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, STATICGRAPH_CACHE_DIR=str(tmp_path),
               PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for _ in ("cold: fills the cache", "warm: saved machine code first, then the switch"):
        proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["out"] == [20.0, 4.0, 9.0]  # (2 + 3)(3 + 1); dy/dx = w + 1; dy/dw = 2w + x + 1
    assert r["numba"]  # the switch happened before the run measured here
    assert r["new"] == []
