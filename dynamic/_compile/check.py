"""The first run's check of a compiled plan against the eager run: ``allclose`` in chunks.

``np.allclose`` on a large array makes several temporaries of its size; on a first call they
are fresh memory, and page faults cost more than the arithmetic (about 15 ms of a 1M-element
check on a loaded machine). :func:`close` compares float arrays in fixed chunks through three
small reusable buffers (same tolerance rule: ``|got - want| <= tol + tol * |want|``), and
hands a chunk that fails the quick test, or anything that is not two float arrays of one
dtype and shape, to ``np.allclose`` (``equal_nan=True``), whose rule it then is.
"""

from __future__ import annotations

import numpy as np

CHUNK = 1 << 16  # elements per chunk: the buffers stay in cache and are never page-faulted


def close(got: np.ndarray, want: np.ndarray, tol: float) -> bool:
    """Whether ``got`` equals ``want`` within ``tol`` (relative and absolute), NaN equal NaN."""
    if got.shape != want.shape:
        return False
    if got.dtype != want.dtype or want.dtype.kind != "f" or want.size <= CHUNK:
        return bool(np.allclose(got, want, rtol=tol, atol=tol, equal_nan=True))
    g, w = got.reshape(-1), want.reshape(-1)
    n = w.size
    d = np.empty(CHUNK, w.dtype)
    lim = np.empty(CHUNK, w.dtype)
    ok = np.empty(CHUNK, np.bool_)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: the chunk goes to allclose
        return all(_chunk(g[i:i + CHUNK], w[i:i + CHUNK], d, lim, ok, tol)
                   for i in range(0, n, CHUNK))


def _chunk(gc: np.ndarray, wc: np.ndarray, d: np.ndarray, lim: np.ndarray, ok: np.ndarray,
           tol: float) -> bool:
    m = wc.size
    dc, lc, oc = d[:m], lim[:m], ok[:m]
    np.subtract(gc, wc, out=dc)
    np.abs(dc, out=dc)
    np.abs(wc, out=lc)
    lc *= tol
    lc += tol
    np.less_equal(dc, lc, out=oc)
    return bool(oc.all()) or bool(np.allclose(gc, wc, rtol=tol, atol=tol, equal_nan=True))
