"""Fixtures for the static-graph tests: a fresh default graph per test, and every registered
executor (the reference interpreter, plus ``numba`` once ``staticgraph.compiler`` registers it)."""

from __future__ import annotations

import pytest

import staticgraph as tf
from staticgraph.session import EXECUTORS, default_executor_name


def _executors() -> list[str]:
    default_executor_name()  # imports staticgraph.compiler when present (registers "numba")
    return sorted(EXECUTORS)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


@pytest.fixture(params=_executors())
def executor(request) -> str:
    return request.param
