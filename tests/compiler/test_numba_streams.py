"""numba's error markup must not reassign ``sys.stdout`` while another thread has redirected it.

numba formats (and mostly catches) typing errors during an ordinary compile; each message is
marked up inside colorama's ``init()`` / ``deinit()``, which reassign the process's streams. When
the loader thread compiled while a test's ``contextlib.redirect_stdout`` was active, the test's
prints went to the old stream: the compile corpus and the TF1 corpus failed now and then under
``-n 2`` with an empty captured output. The interleaving is forced here with a pause inside
colorama's ``init()``, so the test fails every time the swap happens."""

from __future__ import annotations

import contextlib
import io
import sys
import threading

import pytest

from staticgraph.compiler.cpu.numba_import import import_numba


def test_numba_error_markup_on_another_thread_keeps_this_threads_redirect(monkeypatch):
    initialise = pytest.importorskip("colorama.initialise")
    import_numba()
    from numba.core import errors

    inside, go = threading.Event(), threading.Event()
    wrap = initialise.wrap_stream

    def paused_wrap(*args, **kwargs):  # init() has saved the old stream, not yet replaced it
        inside.set()
        go.wait(10)
        return wrap(*args, **kwargs)

    monkeypatch.setattr(initialise, "wrap_stream", paused_wrap)
    marked: list[str] = []
    worker = threading.Thread(target=lambda: marked.append(errors.termcolor().errmsg("msg")))
    before = sys.stdout, sys.stderr
    worker.start()
    inside.wait(0.5)  # set at once where the markup still swaps the streams
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        go.set()
        worker.join(10)
        print("kept")
    assert buf.getvalue() == "kept\n"
    assert (sys.stdout, sys.stderr) == before
    assert len(marked) == 1 and "msg" in marked[0]  # the message text itself is unchanged


def test_import_numba_keeps_streams_when_numba_was_imported_first():
    pytest.importorskip("colorama")
    import numba.core.errors as errors  # numba loaded by someone else before staticgraph

    import_numba()
    if not hasattr(errors, "ColorShell"):
        pytest.skip("numba runs without colorama here: it never touches the streams")
    seen = []
    stdout = sys.stdout
    with errors.ColorShell():
        seen.append(sys.stdout)
    assert seen == [stdout]
