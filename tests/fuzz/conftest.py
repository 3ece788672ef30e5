"""The fuzz tests compile kernels (into the run's cache directory, ``tests/conftest.py``): a low
parallel threshold so a big batch takes the ``prange`` kernels."""

from __future__ import annotations

import pytest


@pytest.fixture()
def parallel_min(monkeypatch: pytest.MonkeyPatch) -> int:
    """``STATICGRAPH_PARALLEL_MIN`` is read at import; the instance module's global is what
    binding consults, so lowering it here reaches every plan bound afterwards."""
    from staticgraph.compiler.cpu import instance

    monkeypatch.setattr(instance, "PARALLEL_MIN", 4096)
    monkeypatch.setenv("STATICGRAPH_PRANGE", "1")  # even when the cores are busy (threads.py)
    return 4096
