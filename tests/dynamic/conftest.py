"""Fixtures shared by the eager-mode tests."""

from __future__ import annotations

import logging

import pytest

from dynamic import _logging


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
