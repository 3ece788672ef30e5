"""Loop matmuls for the single-dispatch driver of small plans (:mod:`.njit_driver`).

For tiny products (the XOR step's ``4x2 @ 2x1``) a loop inside the compiled driver costs
nanoseconds, where a BLAS call from Python costs about a microsecond of dispatch; and numba's own
``np.dot`` needs SciPy, which is not a dependency. Plans whose products are larger run the
Python driver with ``np.dot`` (BLAS) instead, so these loops never meet a large matrix.

``mm_<ta><tb>(a, b, out)`` computes ``out = op(a) @ op(b)`` where ``t`` means the operand is
passed untransposed and used transposed (``a.T`` in the graph), so no strided view is created.
Accumulation order differs from BLAS's, as any two BLAS builds differ (float tolerance).
"""

from __future__ import annotations

from numba import njit

_OPTS = {"cache": True, "fastmath": {"reassoc", "contract", "nsz", "arcp"},
         "error_model": "numpy", "nogil": True}


@njit(**_OPTS)
def mm_nn(a, b, out):
    m, k = a.shape
    n = b.shape[1]
    for i in range(m):
        for j in range(n):
            out[i, j] = 0
        for p in range(k):
            x = a[i, p]
            for j in range(n):
                out[i, j] += x * b[p, j]


@njit(**_OPTS)
def mm_tn(a, b, out):  # out = a.T @ b, a: (k, m)
    k, m = a.shape
    n = b.shape[1]
    for i in range(m):
        for j in range(n):
            out[i, j] = 0
    for p in range(k):
        for i in range(m):
            x = a[p, i]
            for j in range(n):
                out[i, j] += x * b[p, j]


@njit(**_OPTS)
def mm_nt(a, b, out):  # out = a @ b.T, b: (n, k)
    m, k = a.shape
    n = b.shape[0]
    for i in range(m):
        for j in range(n):
            out[i, j] = 0
            s = out[i, j]  # a typed zero
            for p in range(k):
                s += a[i, p] * b[j, p]
            out[i, j] = s


@njit(**_OPTS)
def mm_tt(a, b, out):  # out = a.T @ b.T, a: (k, m), b: (n, k)
    k, m = a.shape
    n = b.shape[0]
    for i in range(m):
        for j in range(n):
            out[i, j] = 0
            s = out[i, j]  # a typed zero
            for p in range(k):
                s += a[p, i] * b[j, p]
            out[i, j] = s
