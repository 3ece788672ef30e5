"""A per-session compile cache directory, so tests never read a developer's cache; the ``nvvm``
fixture of the PTX tests."""

from __future__ import annotations

import os
import types

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


@pytest.fixture
def nvvm(monkeypatch: pytest.MonkeyPatch):
    """``numba.cuda`` able to compile PTX here (NVVM from numba-cuda's toolkit; no GPU needed:
    the device's compute capability is stubbed where there is none), else skip."""
    from staticgraph.compiler.cuda.device import SIM

    if SIM:
        pytest.skip("the CUDA simulator is on: no NVVM compilation")
    # the project's CUDA target is the numba-cuda package (the ``cuda`` extra); numba's own
    # bundled numba.cuda compiles these kernels differently
    pytest.importorskip("numba_cuda", reason="numba-cuda (the 'cuda' extra) is not installed")
    cuda = pytest.importorskip("numba.cuda")
    dispatcher = pytest.importorskip("numba.cuda.dispatcher")
    if not cuda.is_available():  # device functions ask the current device for its cc
        monkeypatch.setattr(dispatcher, "get_current_device",
                            lambda: types.SimpleNamespace(compute_capability=(8, 0)))
    try:
        cuda.compile_ptx(lambda a: None, "void(float32[::1])", cc=(8, 0))
    except Exception as e:  # no NVVM / CUDA toolkit here
        pytest.skip(f"compile_ptx unavailable: {type(e).__name__}: {str(e)[:100]}")
    return cuda
