"""``tf.IndexedSlices`` as TF gives it: the gradient of a gather/``embedding_lookup`` parameter
(duplicates kept, several lookups concatenated, dense once a dense use joins), fetched as an
``IndexedSlicesValue``, made dense where used as a tensor, read by the norms; checked against
numpy and, when installed, TensorFlow's ``compat.v1``."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg

E_INIT = np.arange(12, dtype=np.float32).reshape(4, 3) / 10.0
W = np.array([[1.0, -2.0, 0.5]], np.float32)


def _lookups(tf, ids_list, dense_use=False, const_ids=False, read=False):
    """Graph: ``loss = sum_k sum(lookup_k(E) * W * (k+1))`` (+ ``sum(E * E)`` when
    ``dense_use``); returns (graph, E, gradient of E, loss)."""
    g = tf.Graph()
    with g.as_default():
        E = tf.Variable(E_INIT, name="E")
        src = E.read_value() if read else E
        loss = 0.0
        for k, ids in enumerate(ids_list):
            idx = ids if const_ids else tf.constant(np.asarray(ids, np.int32))
            rows = tf.gather(src, idx) if const_ids else tf.nn.embedding_lookup(src, idx)
            loss = loss + tf.reduce_sum(rows * W * float(k + 1))
        if dense_use:
            loss = loss + tf.reduce_sum(E * E)
        (grad,) = tf.gradients(loss, [E])
    return g, E, grad, loss


def _fetch(tf, g, E, fetches):
    with tf.Session(graph=g) as sess:
        sess.run(E.initializer)
        return sess.run(fetches)


@pytest.mark.parametrize("const_ids", [False, True])
def test_gradient_is_indexed_slices_with_duplicates_kept(const_ids):
    g, E, grad, _ = _lookups(sg, [[2, 0, 2]], const_ids=const_ids)
    assert isinstance(grad, sg.IndexedSlices)
    assert grad.dtype == sg.float32 and grad.shape.as_list() == [4, 3]
    v = _fetch(sg, g, E, grad)
    assert isinstance(v, sg.IndexedSlicesValue)
    np.testing.assert_array_equal(v.values, np.repeat(W, 3, 0))
    np.testing.assert_array_equal(v.indices, [2, 0, 2])
    assert v.indices.dtype == np.int32
    np.testing.assert_array_equal(v.dense_shape, [4, 3])


def test_two_lookups_of_one_table_are_concatenated():
    g, E, grad, _ = _lookups(sg, [[1, 3], [3]])
    v = _fetch(sg, g, E, grad)
    np.testing.assert_array_equal(v.indices, [3, 1, 3]) if v.indices[0] == 3 else \
        np.testing.assert_array_equal(v.indices, [1, 3, 3])
    dense = np.zeros((4, 3), np.float32)
    np.add.at(dense, v.indices, v.values)
    want = np.zeros((4, 3), np.float32)
    want[1] += W[0]
    want[3] += W[0] + 2 * W[0]
    np.testing.assert_allclose(dense, want)


def test_a_dense_use_makes_the_gradient_dense():
    g, E, grad, _ = _lookups(sg, [[1, 1]], dense_use=True)
    assert isinstance(grad, sg.Tensor)
    want = 2 * E_INIT
    want[1] += 2 * W[0]
    np.testing.assert_allclose(_fetch(sg, g, E, grad), want, rtol=1e-6)


def test_read_value_identity_passes_the_slices_on():
    _, _, grad, _ = _lookups(sg, [[0]], read=True)
    assert isinstance(grad, sg.IndexedSlices)


def test_used_as_a_tensor_it_is_the_dense_sum():
    g, E, grad, _ = _lookups(sg, [[2, 0, 2]])
    want = np.zeros((4, 3), np.float32)
    want[0], want[2] = W[0], 2 * W[0]
    dense, doubled, total = _fetch(sg, g, E, [sg.convert_to_tensor(grad),
                                              sg.multiply(grad, 2.0), sg.reduce_sum(grad)])
    np.testing.assert_array_equal(dense, want)
    np.testing.assert_array_equal(doubled, 2 * want)
    np.testing.assert_allclose(total, want.sum(), rtol=1e-6)


def test_norms_read_the_values_so_duplicates_count_twice():
    g, E, grad, _ = _lookups(sg, [[1, 1]])
    norm = sg.global_norm([grad])
    clipped = sg.clip_by_norm(grad, 1.0)
    (cg,), gn = sg.clip_by_global_norm([grad], 1.0)
    assert isinstance(clipped, sg.IndexedSlices) and isinstance(cg, sg.IndexedSlices)
    n, c, c2, gn_v = _fetch(sg, g, E, [norm, clipped, cg, gn])
    row = np.linalg.norm(W)
    np.testing.assert_allclose(n, np.sqrt(2) * row, rtol=1e-6)  # dense gradient: 2 * row
    np.testing.assert_allclose(gn_v, n, rtol=1e-6)
    np.testing.assert_allclose(c.values, np.repeat(W, 2, 0) / n, rtol=1e-6)
    np.testing.assert_array_equal(c.indices, [1, 1])
    np.testing.assert_allclose(c2.values, c.values, rtol=1e-6)


def test_gather_of_a_computed_tensor_gives_its_input_a_dense_gradient():
    x = sg.placeholder(sg.float32, [4, 3])
    loss = sg.reduce_sum(sg.gather(x * 2.0, sg.constant([3, 3, 0])))
    (gx,) = sg.gradients(loss, [x])
    assert isinstance(gx, sg.Tensor)
    with sg.Session() as sess:
        got = sess.run(gx, {x: E_INIT})
    np.testing.assert_array_equal(got, [[2] * 3, [0] * 3, [0] * 3, [4] * 3])


def test_lookup_inside_cond_and_while_differentiates_densely():
    E = sg.Variable(E_INIT)
    ids = sg.placeholder(sg.int32, [None])
    flag = sg.placeholder(sg.bool, [])
    out = sg.cond(flag, lambda: sg.reduce_sum(sg.nn.embedding_lookup(E, ids) * W),
                  lambda: sg.constant(0.0))
    _, acc = sg.while_loop(lambda i, a: i < 2,
                           lambda i, a: (i + 1, a + sg.reduce_sum(sg.gather(E, ids))),
                           [sg.constant(0), sg.constant(0.0)])
    (g1,) = sg.gradients(out, [E])
    (g2,) = sg.gradients(acc, [E])
    with sg.Session() as sess:
        sess.run(E.initializer)
        a, b = sess.run([sg.convert_to_tensor(g1), sg.convert_to_tensor(g2)],
                        {ids: [1, 1], flag: True})
    want = np.zeros((4, 3), np.float32)
    want[1] = 2 * W[0]
    np.testing.assert_allclose(a, want)
    want2 = np.zeros((4, 3), np.float32)
    want2[1] = 4.0
    np.testing.assert_allclose(b, want2)


def test_user_built_indexed_slices_apply_and_convert():
    E = sg.Variable(E_INIT)
    s = sg.IndexedSlices(sg.constant(np.ones((2, 3), np.float32)), sg.constant([3, 3]),
                         sg.constant([4, 3]))
    train = sg.train.MomentumOptimizer(0.5, 0.9).apply_gradients([(s, E)])
    with sg.Session() as sess:
        sess.run(sg.global_variables_initializer())
        dense = sess.run(sg.convert_to_tensor(s))
        sess.run(train)
        got = sess.run(E)
    np.testing.assert_array_equal(dense[3], [2, 2, 2])
    want = E_INIT.copy()
    want[3] -= 0.5 * 2.0
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_bad_indices_name_the_fault():
    with pytest.raises(TypeError, match="indices must be int32 or int64"):
        sg.IndexedSlices(sg.constant([[1.0]]), sg.constant([0.5]))


def test_hessian_through_a_lookup():
    x = sg.Variable(np.array([1.0, 2.0, 3.0], np.float32))
    y = sg.reduce_sum(sg.square(sg.gather(x, sg.constant([0, 2, 2]))))
    (h,) = sg.hessians(y, [x])
    with sg.Session() as sess:
        sess.run(x.initializer)
        np.testing.assert_allclose(sess.run(h), np.diag([2.0, 0.0, 4.0]))


@pytest.mark.parametrize(("ids_list", "dense_use", "const_ids"),
                         [([[2, 0, 2]], False, False), ([[1, 3], [3, 3]], False, False),
                          ([[1, 1]], True, False), ([[0, 0, 3]], False, True)])
def test_matches_live_tensorflow(ids_list, dense_use, const_ids):
    tf = pytest.importorskip("tensorflow.compat.v1")
    tf.disable_eager_execution()
    results = []
    for lib in (sg, tf):
        g, E, grad, _ = _lookups(lib, ids_list, dense_use, const_ids)
        with g.as_default():
            fetches = [grad, lib.global_norm([grad]), lib.clip_by_global_norm([grad], 0.5)[0]]
        results.append((type(grad).__name__, _fetch(lib, g, E, fetches)))
    (kind_a, a), (kind_b, b) = results
    assert kind_a == kind_b or {kind_a, kind_b} <= {"Tensor", "SymbolicTensor"}
    for x, y in zip(a, b, strict=True):
        x, y = (x[0], y[0]) if isinstance(x, list) else (x, y)
        if hasattr(y, "indices"):
            assert isinstance(x, sg.IndexedSlicesValue)
            np.testing.assert_allclose(x.values, y.values, rtol=1e-6)
            np.testing.assert_array_equal(x.indices, y.indices)
            np.testing.assert_array_equal(x.dense_shape, y.dense_shape)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-6)


def test_clip_by_value_clips_the_values():
    g, E, grad, _ = _lookups(sg, [[3, 3]])
    c = sg.clip_by_value(grad, -1.0, 0.75)
    assert isinstance(c, sg.IndexedSlices)
    v = _fetch(sg, g, E, c)
    np.testing.assert_array_equal(v.values, [[0.75, -1.0, 0.5]] * 2)
    np.testing.assert_array_equal(v.indices, [3, 3])


def test_a_cast_table_keeps_the_gradient_sparse():
    """TF's ``_CastGrad`` casts an IndexedSlices' values back (mixed precision lookups)."""
    E = sg.Variable(E_INIT)
    rows = sg.nn.embedding_lookup(sg.cast(E, sg.float64), sg.constant([2, 2]))
    (g,) = sg.gradients(sg.reduce_sum(rows * 3.0), [E])
    assert isinstance(g, sg.IndexedSlices) and g.dtype == sg.float32
    with sg.Session() as sess:
        sess.run(E.initializer)
        v = sess.run(g)
    np.testing.assert_array_equal(v.values, np.full((2, 3), 3.0, np.float32))
    np.testing.assert_array_equal(v.indices, [2, 2])


def test_tf_cast_of_slices_casts_the_values():
    g, E, grad, _ = _lookups(sg, [[0, 1]])
    c = sg.cast(grad, sg.float64)
    assert isinstance(c, sg.IndexedSlices) and c.dtype == sg.float64
    v = _fetch(sg, g, E, c)
    assert v.values.dtype == np.float64
    np.testing.assert_array_equal(v.indices, [0, 1])


def test_dense_shape_from_tf_shape_of_a_fed_tensor():
    x = sg.placeholder(sg.float32, [None, 2])
    s = sg.IndexedSlices(sg.constant(np.ones((2, 2), np.float32)), sg.constant([1, 1]),
                         sg.shape(x))
    with sg.Session() as sess:
        got = sess.run(sg.convert_to_tensor(s), {x: np.zeros((3, 2), np.float32)})
    np.testing.assert_array_equal(got, [[0, 0], [2, 2], [0, 0]])
