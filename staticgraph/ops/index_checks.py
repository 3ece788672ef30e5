"""Run-time checks of index values that TF's kernels make and a composed op cannot: an id past
the end raises TF's ``InvalidArgumentError`` text instead of being dropped or wrapped around.

``check_segment_ids(ids, num_segments)`` passes ``ids`` through unchanged once every id is below
``num_segments`` (negative ids are allowed: the unsorted segment reductions drop them, as TF's);
otherwise it raises ``ValueError`` with TF's ``segment_ids[1,0] = 5 is out of range [0, 3)``,
naming the first id at fault.

``check_index_range(ids, limit)`` is the scatter kernels' check (``ScatterUpdate``/``ScatterAdd``/
``ScatterSub``, partitioned lookups): every value in ``[0, limit)`` (negative ones fail too, where
numpy would wrap around), else ``indices[1] = 5 is not in [0, 3)`` at the first flat position.

``check_nonzero(x, what)`` is ``ScatterDiv``'s check: ``updates must not contain 0``.
``check_nd_indices(indices, shape)`` is the ``ScatterNd*`` kernels' check: each index tuple (the
last axis) inside ``shape``, else ``indices[0,1] = [7] does not index into shape [5,3]``.

All read values, so the compiler runs them as numpy steps; none has a gradient.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, bind, register


def check_segment_ids(ids, num_segments: int):
    """``ids`` unchanged; ``ValueError`` naming the first id ``>= num_segments``."""
    return bind(CHECK_SEGMENT_IDS, ids, num_segments=int(num_segments))


def _check_kernel(ids: np.ndarray, num_segments: int) -> np.ndarray:
    ids = np.asarray(ids)
    bad = np.flatnonzero(ids >= num_segments)
    if bad.size:
        where = ",".join(str(int(i)) for i in np.unravel_index(bad[0], ids.shape))
        raise ValueError(f"segment_ids[{where}] = {ids.flat[bad[0]]} is out of range "
                         f"[0, {num_segments})")
    return ids.copy()


def _integer_ids(ids: AVal, what: str) -> tuple:
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{what} must be integers, got {ids.dtype}")
    return ids.shape, ids.dtype


def _check_infer(ids: AVal, num_segments: int) -> tuple:
    return _integer_ids(ids, "segment_ids")


CHECK_SEGMENT_IDS = register(Op(
    name="check_segment_ids", impl=_check_kernel, infer=_check_infer, nin=1, kind="other",
    tf_name="CheckSegmentIds", input_names=("segment_ids",), fresh_output=True,
    tf_differentiable=False))


def check_index_range(ids, limit: int, what: str = "indices"):
    """``ids`` unchanged; ``ValueError`` naming the first id outside ``[0, limit)``."""
    return bind(CHECK_INDEX_RANGE, ids, limit=int(limit), what=str(what))


def _range_kernel(ids: np.ndarray, limit: int, what: str) -> np.ndarray:
    ids = np.asarray(ids)
    bad = np.flatnonzero((ids < 0) | (ids >= limit))
    if bad.size:
        raise ValueError(f"{what}[{int(bad[0])}] = {ids.flat[bad[0]]} is not in [0, {limit})")
    return ids.copy()


def _range_infer(ids: AVal, limit: int, what: str) -> tuple:
    return _integer_ids(ids, what)


CHECK_INDEX_RANGE = register(Op(
    name="check_index_range", impl=_range_kernel, infer=_range_infer, nin=1, kind="other",
    tf_name="CheckIndexRange", input_names=("indices",), fresh_output=True,
    tf_differentiable=False))


def check_nonzero(x, what: str = "updates"):
    """``x`` unchanged; ``ValueError`` (TF's ``updates must not contain 0``) if any is 0."""
    return bind(CHECK_NONZERO, x, what=str(what))


def _nonzero_kernel(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if (x == 0).any():
        raise ValueError(f"{what} must not contain 0")
    return x.copy()


CHECK_NONZERO = register(Op(
    name="check_nonzero", impl=_nonzero_kernel, infer=lambda x, what: (x.shape, x.dtype), nin=1,
    kind="other", tf_name="CheckNonzero", input_names=("updates",), fresh_output=True,
    tf_differentiable=False))


def check_nd_indices(indices, shape):
    """``indices`` (``[..., K]``) unchanged; ``ValueError`` naming the first index tuple
    outside ``shape``'s first ``K`` dims, in TF's words (which print the whole ``shape``)."""
    return bind(CHECK_ND_INDICES, indices, shape=tuple(int(d) for d in shape))


def _nd_kernel(indices: np.ndarray, shape: tuple) -> np.ndarray:
    idx = np.asarray(indices)
    k = idx.shape[-1]
    rows = idx.reshape(-1, k)
    bad = np.flatnonzero(((rows < 0) | (rows >= np.asarray(shape[:k], np.int64))).any(axis=1))
    if bad.size:
        where = ",".join(str(int(i)) for i in np.unravel_index(bad[0], idx.shape[:-1]))
        raise ValueError(f"indices[{where}] = [{', '.join(str(int(v)) for v in rows[bad[0]])}]"
                         f" does not index into shape [{','.join(str(d) for d in shape)}]")
    return idx.copy()


def _nd_infer(indices: AVal, shape: tuple) -> tuple:
    return _integer_ids(indices, "indices")


CHECK_ND_INDICES = register(Op(
    name="check_nd_indices", impl=_nd_kernel, infer=_nd_infer, nin=1, kind="other",
    tf_name="CheckNdIndices", input_names=("indices",), fresh_output=True,
    tf_differentiable=False))
