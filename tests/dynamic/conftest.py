"""Fixtures shared by the eager-mode tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from dynamic import _logging
from tests.conftest import pinned_tier


@pytest.fixture(autouse=True)
def compile_tier(request: pytest.FixtureRequest) -> Iterator[None]:
    """``dynamic.compile`` runs on the LLVM/native tier (``tests/conftest.py``): what a capture
    computes does not depend on the tier, and which tier a test got depended on machine load.
    ``@pytest.mark.numba_tier``: numba's dispatchers from the start (tests of the single
    driver's path: ``driver_direct``, ``inst.small``); ``@pytest.mark.handover_tier``: native
    first, numba after ``block_until_ready()`` (tests of what the hand-over rebuilds)."""
    tier = next((t for t in ("numba", "handover")
                 if request.node.get_closest_marker(f"{t}_tier")), "llvm")
    yield from pinned_tier(tier)


@pytest.fixture
def logs(caplog):
    """``dynamic.compile``'s recompile and graph-break logs, captured at INFO (the child
    loggers' own levels too: another test's ``set_logs()`` leaves them at WARNING)."""
    _logging.set_logs(recompiles=True, graph_breaks=True)
    caplog.set_level(logging.INFO, logger="dynamic.compile")
    yield caplog
    _logging.set_logs()


@pytest.fixture
def flushes(monkeypatch):
    """How many times a ``dynamic.compile`` capture computed pending values eagerly (a list,
    appended to: the number of pending entries each time)."""
    from dynamic._compile import pending  # the static stack: only for the tests that ask

    seen: list = []
    orig = pending.Deferred.flush

    def flush(self):
        if self.entries:
            seen.append(len(self.entries))
        return orig(self)

    monkeypatch.setattr(pending.Deferred, "flush", flush)
    return seen
