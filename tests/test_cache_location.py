"""One rule for where machine code is kept on disk: the static compiler's cache directory and
the eager pool's code file share the base directory and the trust check
(``staticgraph.cache_location``)."""

from __future__ import annotations

import os

import pytest

from staticgraph import cache_location


def test_both_caches_use_the_same_base(tmp_path, monkeypatch):
    from dynamic import _pool_code

    from staticgraph.compiler import diskcache

    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path / "c"))
    assert cache_location.base_dir() == str(tmp_path / "c")
    assert os.path.dirname(_pool_code.cache_path()) == str(tmp_path / "c")
    assert os.path.dirname(diskcache.cache_dir()) == str(tmp_path / "c")
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", "")
    assert cache_location.base_dir() == os.path.join(os.path.expanduser("~"), ".cache",
                                                     "staticgraph")


def test_a_directory_others_can_write_is_refused(tmp_path, monkeypatch):
    from dynamic import _pool_code

    d = tmp_path / "shared"
    d.mkdir()
    assert cache_location.distrust(str(d)) is None
    os.chmod(d, 0o777)
    assert "writable by other users" in cache_location.distrust(str(d))
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(d))
    assert _pool_code.cache_path() is None  # the pool's code would lie directly in it
    os.chmod(d, 0o1777)  # sticky: fine as the outer directory only
    assert cache_location.distrust(str(d), outer=True) is None
    assert cache_location.distrust(str(d)) is not None
    f = tmp_path / "file"
    f.write_text("")
    assert "not a directory" in cache_location.distrust(str(f))
    with pytest.raises(FileNotFoundError):
        cache_location.distrust(str(tmp_path / "missing"))
