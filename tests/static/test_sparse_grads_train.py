"""TF1 training through ``embedding_lookup``: every optimizer x {unique ids, duplicate ids,
rows never looked up} x {clip_by_global_norm or not}, three steps, against numpy references of
TF's sparse update formulas (``sparse_grad_reference.py``), and against TensorFlow itself when
it is installed (the same program built on ``tf.compat.v1``)."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg
from tests.static.sparse_grad_reference import E0, ID_CASES, OPTIMIZERS, build, reference, run

MATRIX = [(o, c, clip) for o in OPTIMIZERS for c in ID_CASES for clip in (False, True)]


def _compare(got: list, want: list) -> None:
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_allclose(np.asarray(a, np.float64), b, rtol=1e-5, atol=1e-5,
                                   err_msg=f"output {i}")


@pytest.mark.parametrize(("name", "case", "clip"), MATRIX)
def test_matches_the_numpy_reference_of_tf_formulas(name, case, clip):
    steps = ID_CASES[case]
    _compare(run(sg, build(sg, name, clip), steps), reference(name, steps, clip))


@pytest.mark.parametrize("name", ["Momentum", "RMSPropCentered", "Adagrad", "Adam"])
def test_rows_never_looked_up_keep_their_values_and_slots(name, executor):
    """TF's sparse kernels leave the other rows of the variable and of every slot alone (a
    dense zero gradient would decay the slots and move them). Adam's sparse path updates all
    rows, but rows whose ``m`` is still zero do not move; row 0, absent from step 2, moves
    there (the reference comparison)."""
    got = run(sg, build(sg, name, clip=False), ID_CASES["missing_rows"], executor=executor)
    E, slots_of_E = got[6], got[8::2]
    np.testing.assert_array_equal(E[2:], E0[2:].astype(np.float32))
    init = {"rms": 1.0, "accumulator": 0.1}
    for slot, value in zip(OPTIMIZERS[name][1], slots_of_E, strict=True):
        np.testing.assert_array_equal(value[2:], np.float32(init.get(slot, 0.0)))
    _compare(got, reference(name, ID_CASES["missing_rows"], False))


@pytest.mark.parametrize(("name", "case", "clip"),
                         [m for m in MATRIX if m[1] == "duplicates" or m[0] == "Momentum"])
def test_matches_live_tensorflow(name, case, clip):
    tf = pytest.importorskip("tensorflow.compat.v1")
    tf.disable_eager_execution()
    steps = ID_CASES[case]
    _compare(run(sg, build(sg, name, clip), steps), run(tf, build(tf, name, clip), steps))
