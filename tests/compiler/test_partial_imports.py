"""A warm process reads numba's and llvmlite's state while the loader thread may be importing
them: a module in ``sys.modules`` can be partially initialized then (the fuzzer's native oracle
met ``AttributeError`` at ``native._known_to_llvm`` on its first, warm case). Both readers must
treat a module without the attribute yet as not loaded."""

from __future__ import annotations

import importlib.util
import sys
import types

from staticgraph.compiler import diskcache
from staticgraph.compiler.cpu import native_symbols


def test_a_partially_imported_llvmlite_binding_counts_as_not_loaded(monkeypatch):
    monkeypatch.setitem(sys.modules, "llvmlite.binding", types.ModuleType("llvmlite.binding"))
    assert native_symbols._known_to_llvm("NRT_MemInfo_alloc_safe_aligned") == 0


def test_a_partially_imported_numba_still_has_a_version(monkeypatch):
    real = diskcache._numba_version()
    partial = types.ModuleType("numba")
    partial.__spec__ = importlib.util.find_spec("numba")  # as an import in progress has it
    monkeypatch.setitem(sys.modules, "numba", partial)
    assert diskcache._numba_version() == real
