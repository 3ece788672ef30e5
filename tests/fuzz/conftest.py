"""The fuzz tests compile kernels: give them a per-session cache directory (never a developer's
cache), and a low parallel threshold so a big batch takes the ``prange`` kernels."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def fuzz_cache_dir(tmp_path_factory: pytest.TempPathFactory):
    d = str(tmp_path_factory.mktemp("sg_fuzz_cache"))
    old = os.environ.get("STATICGRAPH_CACHE_DIR")
    os.environ["STATICGRAPH_CACHE_DIR"] = d
    yield d
    if old is None:
        os.environ.pop("STATICGRAPH_CACHE_DIR", None)
    else:
        os.environ["STATICGRAPH_CACHE_DIR"] = old


@pytest.fixture()
def parallel_min(monkeypatch: pytest.MonkeyPatch) -> int:
    """``STATICGRAPH_PARALLEL_MIN`` is read at import; the instance module's global is what
    binding consults, so lowering it here reaches every plan bound afterwards."""
    from staticgraph.compiler import instance

    monkeypatch.setattr(instance, "PARALLEL_MIN", 4096)
    return 4096
