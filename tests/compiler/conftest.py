"""A per-session compile cache directory, so tests never read a developer's cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def compiler_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = str(tmp_path_factory.mktemp("sg_cache"))
    old = os.environ.get("STATICGRAPH_CACHE_DIR")
    os.environ["STATICGRAPH_CACHE_DIR"] = d
    yield d
    if old is None:
        os.environ.pop("STATICGRAPH_CACHE_DIR", None)
    else:
        os.environ["STATICGRAPH_CACHE_DIR"] = old
