"""``staticgraph.compiler.code_cache``: generated source compiled once, its code object reused
from memory or the disk cache, and a damaged or foreign cache file never run."""

from __future__ import annotations

import builtins
import glob
import os

import pytest

from staticgraph.compiler import code_cache

SRC = "def f(a, b):\n    return a * 10 + b\n"


def _f(code):
    ns: dict = {}
    exec(code, ns)  # noqa: S102
    return ns["f"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(code_cache, "_MEM", {})
    return tmp_path


def _files(d) -> list[str]:
    return glob.glob(os.path.join(str(d), "*", "code_*.marshal"))


def _no_compile(monkeypatch) -> None:
    def refuse(*a, **k):
        raise AssertionError("compiled again")

    monkeypatch.setattr(builtins, "compile", refuse)


def test_same_code_as_compile_then_from_memory(cache, monkeypatch):
    code = code_cache.compiled(SRC, "<gen one>")
    want = compile(SRC, "<gen one>", "exec")
    assert code.co_filename == "<gen one>"
    assert _f(code)(3, 4) == _f(want)(3, 4) == 34
    assert _f(code).__code__.co_code == _f(want).__code__.co_code
    _no_compile(monkeypatch)
    assert code_cache.compiled(SRC, "<gen one>") is code


def test_a_new_process_loads_it_from_disk(cache, monkeypatch):
    code_cache.compiled(SRC, "<gen two>")
    assert len(_files(cache)) == 1
    monkeypatch.setattr(code_cache, "_MEM", {})  # (a new process: nothing in memory)
    _no_compile(monkeypatch)
    code = code_cache.compiled(SRC, "<gen two>")
    assert _f(code)(1, 2) == 12 and code.co_filename == "<gen two>"


def test_text_and_file_name_are_the_key(cache):
    a = code_cache.compiled(SRC, "<gen a>")
    b = code_cache.compiled(SRC, "<gen b>")
    c = code_cache.compiled(SRC.replace("10", "100"), "<gen a>")
    assert len(_files(cache)) == 3
    assert (_f(a)(1, 2), _f(b)(1, 2), _f(c)(1, 2)) == (12, 12, 102)
    assert b.co_filename == "<gen b>"


@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign"])
def test_a_damaged_or_foreign_file_is_compiled_afresh(cache, monkeypatch, damage):
    code_cache.compiled(SRC, "<gen d>")
    (path,) = _files(cache)
    data = open(path, "rb").read()
    if damage == "truncate":
        data = data[:-7]
    elif damage == "flip":
        data = data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:]
    else:  # another text's code under this text's name
        other = "def f(a, b):\n    return -1\n"
        code_cache.compiled(other, "<gen d>")
        (opath,) = [p for p in _files(cache) if p != path]
        data = data[:64] + open(opath, "rb").read()[64:]
    with open(path, "wb") as f:
        f.write(data)
    monkeypatch.setattr(code_cache, "_MEM", {})
    calls = []
    real = builtins.compile
    monkeypatch.setattr(builtins, "compile", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert _f(code_cache.compiled(SRC, "<gen d>"))(5, 6) == 56
    assert calls == [1]
    monkeypatch.setattr(code_cache, "_MEM", {})  # rewritten: the next process loads it
    assert _f(code_cache.compiled(SRC, "<gen d>"))(5, 6) == 56
    assert calls == [1]


def test_an_unwritable_cache_still_compiles(cache, monkeypatch):
    def fail(path, data):
        raise OSError("read-only")

    from staticgraph.compiler import diskcache

    monkeypatch.setattr(diskcache, "write_atomic", fail)
    assert _f(code_cache.compiled(SRC, "<gen e>"))(2, 3) == 23
    assert _files(cache) == []


def test_a_syntax_error_is_compiles_own(cache):
    with pytest.raises(SyntaxError):
        code_cache.compiled("def f(:\n", "<gen bad>")
    assert _files(cache) == []


def test_a_second_sessions_run_fast_path_is_not_compiled_again(monkeypatch):
    """``Session.run``'s generated fast path goes through the cache (the compiler is loaded):
    the same program in a new graph and session compiles no source of its own."""
    import numpy as np

    import staticgraph as tf

    seen: list[str] = []
    real = builtins.compile

    def spy(src, filename, *a, **k):
        seen.append(str(filename))
        return real(src, filename, *a, **k)

    def once() -> np.ndarray:
        g = tf.Graph()
        with g.as_default():
            x = tf.placeholder(tf.float32, [3], name="x")
            y = tf.tanh(x) * 2.0 + 1.0
        with tf.Session(graph=g) as s:
            return s.run(y, {x: np.array([0.0, 0.5, -1.0], np.float32)})

    want = np.tanh(np.array([0.0, 0.5, -1.0], np.float32)) * 2 + 1
    np.testing.assert_allclose(once(), want, rtol=1e-6)
    monkeypatch.setattr(builtins, "compile", spy)
    np.testing.assert_allclose(once(), want, rtol=1e-6)
    assert [f for f in seen if f.startswith("<staticgraph")] == []
