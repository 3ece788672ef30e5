"""The thread policy (issue #13, part 3), through its decisions: a pure function of (cores
free, sizes, overrides) -> (BLAS threads, prange allowed); then, in fresh processes, that a
run leaves every loaded OpenBLAS at the count the policy decided and that compiling kernels
loads no second OpenBLAS (numba's BLAS probe would load SciPy's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from staticgraph.compiler import threads
from staticgraph.compiler.threads import BLAS_THREAD_MIN, Decision, decide

BIG, SMALL, PMIN = BLAS_THREAD_MIN, 1000, 1 << 20


@pytest.mark.parametrize("free, dot, kernel, over, want", [
    (1, BIG * 10, PMIN * 10, {}, (1, False)),           # busy cores: one thread, no prange
    (2, BIG, 0, {}, (2, False)),                        # a big product: BLAS threads
    (4, BIG, PMIN, {}, (4, False)),                     # both big: BLAS, never both
    (2, SMALL, PMIN, {}, (1, True)),                    # big kernel, small products: prange
    (2, SMALL, SMALL, {}, (1, False)),                  # too small to pay for threads
    (4, BIG, 0, {"threads": 2}, (2, False)),            # STATICGRAPH_THREADS caps
    (1, BIG, 0, {"threads": 2}, (1, False)),            # ... and the load check still holds
    (2, BIG, 0, {"threads": 1}, (1, False)),
    (1, SMALL, 0, {"blas": 3}, (3, False)),             # forced BLAS count, busy or not
    (2, SMALL, PMIN, {"blas": 2, "prange": True}, (2, False)),  # forced BLAS > 1: no prange
    (1, SMALL, 0, {"blas": 1, "prange": True}, (1, True)),
    (1, BIG, 0, {"prange": True}, (1, True)),           # forced prange: one BLAS thread
    (2, SMALL, PMIN, {"prange": False}, (1, False)),
])
def test_decisions(free, dot, kernel, over, want):
    d = decide(free, dot, kernel, PMIN, **over)
    assert isinstance(d, Decision) and (d.blas_threads, d.prange) == want, d
    assert not (d.blas_threads > 1 and d.prange)


def test_overrides_from_environment(monkeypatch):
    monkeypatch.setenv("STATICGRAPH_THREADS", "2")
    monkeypatch.setenv("STATICGRAPH_BLAS_THREADS", "1")
    monkeypatch.setenv("STATICGRAPH_PRANGE", "0")
    assert threads.overrides() == {"threads": 2, "blas": 1, "prange": False}
    for var, bad in (("STATICGRAPH_THREADS", "0"), ("STATICGRAPH_BLAS_THREADS", "two"),
                     ("STATICGRAPH_PRANGE", "yes")):
        monkeypatch.setenv(var, bad)
        with pytest.raises(ValueError, match=var):
            threads.overrides()
        monkeypatch.delenv(var)


def test_cores_free_is_read_at_most_once_per_refresh(monkeypatch):
    n = threads.cores_free()
    assert 1 <= n <= threads.allowed_cpus()
    monkeypatch.setattr(threads, "_load", [threads._load[0], n + 7])  # a cached reading
    assert threads.cores_free(threads._load[0] + threads.REFRESH_S / 2) == n + 7
    assert threads.cores_free(threads._load[0] + threads.REFRESH_S * 2) == \
        threads.cores_free()  # re-read


SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import staticgraph as sg
    from staticgraph.compiler import threads
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 64])
        w = sg.constant(np.full((64, 64), 0.01, np.float32))
        y = sg.reduce_sum(sg.nn.relu(sg.matmul(x, w) + 1.0))
    s = sg.Session(graph=g)
    xv = np.ones((128, 64), np.float32)
    v = float(s.run(y, {x: xv}))
    inst = s._executor.instance_for(g, [y], [], {x: xv})
    d = inst.policy.decision
    print(json.dumps({"value": v, "blas": d.blas_threads, "prange": d.prange,
                      "counts": threads.blas_threads(), "libs": threads.openblas_paths(),
                      "scipy_linalg": "scipy.linalg" in sys.modules}))
""")


def _run(env: dict, tmp_path) -> dict:
    e = dict(os.environ, STATICGRAPH_CACHE_DIR=str(tmp_path), STATICGRAPH_BLAS_THREAD_MIN="1000",
             **env)
    for k in ("STATICGRAPH_THREADS", "STATICGRAPH_BLAS_THREADS", "STATICGRAPH_PRANGE"):
        if k not in env:
            e.pop(k, None)
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=e, capture_output=True, text=True,
                         timeout=300, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__)))))
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("env, want", [({"STATICGRAPH_BLAS_THREADS": "2"}, 2),
                                       ({"STATICGRAPH_THREADS": "1"}, 1),
                                       ({}, None)])
def test_run_sets_openblas_threads_and_loads_one_openblas(env, want, tmp_path):
    r = _run(env, tmp_path)
    assert abs(r["value"] - 128 * 64 * 1.64) < 1e-2  # relu(64 * 0.01 + 1) summed
    if not r["libs"]:
        pytest.skip("numpy does not use OpenBLAS here")
    assert want is None or r["blas"] == want
    assert not (r["blas"] > 1 and r["prange"])
    assert [n for _, n in r["counts"]] == [r["blas"]] * len(r["counts"])
    assert len(r["libs"]) == 1, r["libs"]  # numpy's only: SciPy's BLAS was never loaded
    assert not r["scipy_linalg"]
