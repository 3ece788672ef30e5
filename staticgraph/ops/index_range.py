"""``check_index_range``: TF's run-time check of row indices for the scatter kernels
(``ScatterUpdate``/``ScatterAdd``/``ScatterSub``, partitioned lookups): an index below 0 or at/past
the number of rows raises TF's text instead of wrapping around (numpy's negative indexing) or
failing inside a composed kernel with numpy's message.

``check_index_range(ids, limit)`` passes ``ids`` through unchanged when every value is in
``[0, limit)``; otherwise ``ValueError`` ``indices[1] = 5 is not in [0, 3)``, naming the first
index at fault (flat position, as TF's scatter kernels count). It reads values, so the compiler
runs it as a numpy step; it has no gradient (indices are integers).
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, bind, register


def check_index_range(ids, limit: int, what: str = "indices"):
    """``ids`` unchanged; ``ValueError`` naming the first id outside ``[0, limit)``."""
    return bind(CHECK_INDEX_RANGE, ids, limit=int(limit), what=str(what))


def _kernel(ids: np.ndarray, limit: int, what: str) -> np.ndarray:
    ids = np.asarray(ids)
    bad = np.flatnonzero((ids < 0) | (ids >= limit))
    if bad.size:
        raise ValueError(f"{what}[{int(bad[0])}] = {ids.flat[bad[0]]} is not in [0, {limit})")
    return ids.copy()


def _infer(ids: AVal, limit: int, what: str) -> tuple:
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{what} must be integers, got {ids.dtype}")
    return ids.shape, ids.dtype


CHECK_INDEX_RANGE = register(Op(
    name="check_index_range", impl=_kernel, infer=_infer, nin=1, kind="other",
    tf_name="CheckIndexRange", input_names=("indices",), fresh_output=True,
    tf_differentiable=False))
