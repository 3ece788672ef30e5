"""A per-session compile cache directory, so tests never read a developer's cache; the ``nvvm``
fixture of the PTX tests; ``packed_returns``, the packed native call watched."""

from __future__ import annotations

import functools
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


@pytest.fixture
def packed_returns(tmp_path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """What every packed ``sg_seq`` call returns (0: the stretch ran packed; 1: it declined and
    the plain ``ctypes`` calls ran), with a ``numba-llvm`` executor (LLVM kernels only), the
    Python driver (the packed call's home) and a fresh cache directory; x86-64 Linux only."""
    from staticgraph.compiler.cpu import instance, native_link, native_packed
    from staticgraph.executor import EXECUTORS

    if not native_link.usable():
        pytest.skip("x86-64 Linux only")
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(instance, "SMALL_DOT", 0)  # the Python driver: the packed call's home
    monkeypatch.setitem(EXECUTORS, "numba-llvm",
                        functools.partial(EXECUTORS["numba"], llvm_only=True))
    rets: list[int] = []
    real = native_packed._SEQ_TYPE

    def spy(addr: int):
        f = real(addr)
        return lambda g: rets.append(f(g)) or rets[-1]

    monkeypatch.setattr(native_packed, "_SEQ_TYPE", spy)
    return rets
