"""numba's cache-directory check runs once per directory for our modules, every time for others
(staticgraph/compiler/cpu/numba_cache_check.py)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys

import numpy as np
import pytest

pytest.importorskip("numba")

from numba import njit  # noqa: E402
from numba.core import caching  # noqa: E402

from staticgraph.compiler.cpu import numba_cache_check  # noqa: E402
from staticgraph.compiler.cpu.numba_import import import_numba  # noqa: E402

_SRC = "def f(x):\n    return x + 1.0\n\n\ndef g(x):\n    return x * 2.0\n"


def _module(d: str, name: str):
    path = os.path.join(d, name + ".py")
    with open(path, "w") as fh:
        fh.write(_SRC)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def probes(monkeypatch):
    """The directories numba probed with a temporary file, in order."""
    import_numba()  # installs the wrapper, as the compiler's first numba use does
    numba_cache_check.forget()
    seen: list[str] = []
    real = caching.tempfile.TemporaryFile

    def counting(*a, **k):
        seen.append(k.get("dir"))
        return real(*a, **k)

    monkeypatch.setattr(caching.tempfile, "TemporaryFile", counting)
    yield seen
    numba_cache_check.forget()


def test_our_directory_is_probed_once(tmp_path, probes):
    d = str(tmp_path / "ours")
    os.makedirs(d)
    numba_cache_check.trust_dir(d)
    mod = _module(d, "sg_cache_check_ours")
    f = njit(cache=True)(mod.f)
    g = njit(cache=True)(mod.g)
    cache = os.path.join(d, "__pycache__")
    assert probes.count(cache) == 1
    x = np.arange(3.0)
    np.testing.assert_array_equal(f(x), x + 1.0)  # compiled and saved there
    np.testing.assert_array_equal(g(x), x * 2.0)
    assert probes.count(cache) == 1  # (the saves did not probe again either)
    assert any(fn.endswith(".nbi") for fn in os.listdir(cache))


def test_removed_directory_is_recreated(tmp_path, probes):
    d = str(tmp_path / "ours2")
    os.makedirs(d)
    numba_cache_check.trust_dir(d)
    mod = _module(d, "sg_cache_check_removed")
    njit(cache=True)(mod.f)
    cache = os.path.join(d, "__pycache__")
    shutil.rmtree(cache)
    g = njit(cache=True)(mod.g)
    assert os.path.isdir(cache)  # re-created (makedirs), not probed again
    assert probes.count(cache) == 1
    np.testing.assert_array_equal(g(np.ones(2)), np.full(2, 2.0))


def test_other_directories_keep_numbas_check(tmp_path, probes):
    d = str(tmp_path / "theirs")
    os.makedirs(d)
    mod = _module(d, "user_cache_check_theirs")
    njit(cache=True)(mod.f)
    njit(cache=True)(mod.g)
    assert probes.count(os.path.join(d, "__pycache__")) == 2  # numba's own check, every time


def test_install_is_idempotent():
    import_numba()
    first = caching._CacheLocator.ensure_cache_path
    numba_cache_check.install()
    assert caching._CacheLocator.ensure_cache_path is first
    assert first.__wrapped__.__qualname__ == "_CacheLocator.ensure_cache_path"
