"""TF1 training through ``embedding_lookup``: every optimizer x {unique ids, duplicate ids,
rows never looked up} x {clip_by_global_norm or not}, three steps, against numpy references of
TF's sparse update formulas (``sparse_grad_reference.py``), and against TensorFlow itself when
it is installed (the same program built on ``tf.compat.v1``)."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg
from tests.static.sparse_grad_reference import (
    E0,
    ID_CASES,
    OPTIMIZERS,
    build,
    reference,
    run,
    tf_class,
)

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


def _embedding_program(tf, duplicates: bool, dense_use: bool, opt_name: str) -> list:
    """The lead's reproducer (/tmp/proto/t6.py): embedding_lookup, tf.cond, stop_gradient,
    clip_by_global_norm, RMSProp with momentum behind a control dependency, an assign to the
    table between steps; ``dense_use`` adds ``sum(E * E)`` (TF: the gradient becomes dense)."""
    g = tf.Graph()
    with g.as_default():
        ids = tf.placeholder(tf.int32, [None])
        y = tf.placeholder(tf.float32, [None])
        flag = tf.placeholder(tf.bool, [])
        E = tf.Variable(np.arange(24, dtype=np.float32).reshape(6, 4) / 10.0)
        w = tf.Variable(np.array([0.5, -0.3, 0.2, 0.1], np.float32))
        counter = tf.Variable(0.0)
        s = tf.reduce_sum(tf.nn.embedding_lookup(E, ids) * w, axis=1)
        s2 = tf.cond(flag, lambda: tf.nn.softplus(s), lambda: tf.square(s) * 0.5)
        loss = tf.reduce_mean(tf.square(s2 - y)) + 0.01 * tf.reduce_sum(tf.stop_gradient(w) * w)
        if dense_use:
            loss = loss + 0.01 * tf.reduce_sum(E * E)
        grads = tf.gradients(loss, [E, w])
        clipped, gn = tf.clip_by_global_norm(grads, 0.5)
        opt = tf_class(tf, opt_name)(**OPTIMIZERS[opt_name][0])
        # The update waits for the fetched loss and norm: TF's gather reads a ref variable's
        # buffer when it runs, so without this edge TF itself sometimes fetched a loss computed
        # after the update (step 0's loss varied between runs of one process by 1e-4).
        with tf.control_dependencies([tf.assign_add(counter, 1.0), loss, gn]):
            step = opt.apply_gradients(list(zip(clipped, [E, w], strict=True)))
        upd = tf.assign(E, E * 0.9)
        init = tf.global_variables_initializer()
    out = []
    with tf.Session(graph=g) as sess:
        sess.run(init)
        rng = np.random.default_rng(0)
        for i in range(6):
            iv = (rng.integers(0, 6, 5) if duplicates else rng.permutation(6)[:5]).astype(
                np.int32)
            yv = rng.standard_normal(5).astype(np.float32)
            out += sess.run([loss, gn, step], {ids: iv, y: yv, flag: bool(i % 2)})[:2]
            if i == 3:
                sess.run(upd)
        out += list(sess.run([E, w, counter]))
    return out


@pytest.mark.parametrize(("duplicates", "dense_use", "opt_name"),
                         [(True, False, "RMSProp"), (False, False, "RMSProp"),
                          (True, True, "RMSProp"), (True, False, "MomentumNesterov"),
                          (True, True, "Adagrad")])
def test_the_reproducer_matches_live_tensorflow(duplicates, dense_use, opt_name):
    tf = pytest.importorskip("tensorflow.compat.v1")
    tf.disable_eager_execution()
    got = _embedding_program(sg, duplicates, dense_use, opt_name)
    want = _embedding_program(tf, duplicates, dense_use, opt_name)
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=f"output {i}")
