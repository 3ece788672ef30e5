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
