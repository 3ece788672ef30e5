"""Suite-wide: one compile cache directory per test run, shared by the pytest-xdist workers.

Every test compiles into (and loads from) ``<run's basetemp>/sg_cache``, never a developer's
``~/.cache/staticgraph``: a run starts cold, as a clean CI machine does, and a kernel or driver
one worker compiled is a disk load for the other instead of a second compile (the cache is
built for several processes: atomic writes, ``flock``-guarded manifests, see
:mod:`staticgraph.compiler.diskcache`). Tests that need an empty cache of their own point
``STATICGRAPH_CACHE_DIR`` at their ``tmp_path`` (``fresh_cache`` fixtures).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's own temporary root: xdist gives each worker ``<controller basetemp>/popen-gwN``,
    so the workers' common parent is the run's; a plain run's basetemp is its own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def compiler_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``STATICGRAPH_CACHE_DIR`` for the whole session (restored afterwards)."""
    d = _run_dir(tmp_path_factory) / "sg_cache"
    d.mkdir(mode=0o700, exist_ok=True)
    old = os.environ.get("STATICGRAPH_CACHE_DIR")
    os.environ["STATICGRAPH_CACHE_DIR"] = str(d)
    yield str(d)
    if old is None:
        os.environ.pop("STATICGRAPH_CACHE_DIR", None)
    else:
        os.environ["STATICGRAPH_CACHE_DIR"] = old
