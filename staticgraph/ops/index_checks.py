"""Run-time checks of index values that TF's kernels make and a composed op cannot: an id past
the end raises TF's ``InvalidArgumentError`` text instead of being dropped.

``check_segment_ids(ids, num_segments)`` passes ``ids`` through unchanged once every id is below
``num_segments`` (negative ids are allowed: the unsorted segment reductions drop them, as TF's);
otherwise it raises ``ValueError`` with TF's ``segment_ids[1,0] = 5 is out of range [0, 3)``,
naming the first id at fault. It reads values, so the compiler runs it as a numpy step.
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


def _check_infer(ids: AVal, num_segments: int) -> tuple:
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"segment_ids must be integers, got {ids.dtype}")
    return ids.shape, ids.dtype


CHECK_SEGMENT_IDS = register(Op(
    name="check_segment_ids", impl=_check_kernel, infer=_check_infer, nin=1, kind="other",
    tf_name="CheckSegmentIds", input_names=("segment_ids",), fresh_output=True,
    tf_differentiable=False))
