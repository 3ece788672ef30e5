"""The fuzz tests compile kernels: give them a per-session cache directory (never a developer's
cache), and a low parallel threshold so a big batch takes the ``prange`` kernels."""

from __future__ import annotations

import pytest

from tests.compiler.conftest import compiler_cache_dir  # noqa: F401 - the same session cache dir


@pytest.fixture()
def parallel_min(monkeypatch: pytest.MonkeyPatch) -> int:
    """``STATICGRAPH_PARALLEL_MIN`` is read at import; the instance module's global is what
    binding consults, so lowering it here reaches every plan bound afterwards."""
    from staticgraph.compiler.cpu import instance

    monkeypatch.setattr(instance, "PARALLEL_MIN", 4096)
    monkeypatch.setenv("STATICGRAPH_PRANGE", "1")  # even when the cores are busy (threads.py)
    return 4096
