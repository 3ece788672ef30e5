"""The TF1 functions of issue #15's probe (top_k, l2_normalize, matrix_transpose, diag family,
trace, segment sums, tensordot, einsum (with ``...``), broadcast_to, one-argument where,
boolean_mask): values and gradients on every executor against numpy and central differences,
and against TensorFlow's ``compat.v1`` where it is installed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import staticgraph as sg

from .conftest import check_case_against_numpy, check_case_against_tensorflow

RNG = np.random.default_rng(15)


def _a(*shape: int) -> np.ndarray:
    """Distinct values (no ties, so top_k's gradient is smooth there)."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) / n * 4 - 2 + RNG.uniform(0, 0.01, n)).reshape(shape)


def _diag(d: np.ndarray) -> np.ndarray:
    return np.diag(d.reshape(-1)).reshape(d.shape + d.shape)


def _diag_part(x: np.ndarray) -> np.ndarray:
    half = x.shape[:x.ndim // 2]
    n = int(np.prod(half))
    return np.diagonal(x.reshape(n, n)).reshape(half)


def _segment(data: np.ndarray, ids: list[int], n: int, mean: bool = False) -> np.ndarray:
    out = np.zeros((n,) + data.shape[1:])
    count = np.zeros(n)
    for row, i in zip(data, ids, strict=True):
        if 0 <= i < n:
            out[i] += row
            count[i] += 1
    return out / np.maximum(count, 1).reshape((-1,) + (1,) * (data.ndim - 1)) if mean else out


MASK = np.array([True, False, True, True, False])

# name -> (build(tf, *inputs) -> tensor, numpy function, input arrays)
CASES: dict[str, tuple[Callable, Callable, list[np.ndarray]]] = {
    "top_k": (lambda tf, x: tf.nn.top_k(x, 3).values,
              lambda x: -np.sort(-x, axis=-1)[..., :3], [_a(3, 5)]),
    "l2_normalize_axis1": (lambda tf, x: tf.nn.l2_normalize(x, 1),
                           lambda x: x / np.sqrt((x * x).sum(1, keepdims=True)), [_a(3, 4)]),
    "l2_normalize_all": (lambda tf, x: tf.math.l2_normalize(x),
                         lambda x: x / np.sqrt((x * x).sum()), [_a(2, 3)]),
    "matrix_transpose": (lambda tf, x: tf.matrix_transpose(x),
                         lambda x: np.swapaxes(x, -1, -2), [_a(2, 3, 4)]),
    "linalg_transpose": (lambda tf, x: tf.linalg.transpose(x), lambda x: x.T, [_a(3, 2)]),
    "diag_1d": (lambda tf, x: tf.diag(x), _diag, [_a(4)]),
    "diag_2d": (lambda tf, x: tf.diag(x), _diag, [_a(2, 3)]),
    "diag_part": (lambda tf, x: tf.diag_part(x), _diag_part, [_a(2, 3, 2, 3)]),
    "matrix_diag": (lambda tf, x: tf.matrix_diag(x),
                    lambda x: np.einsum("bi,ij->bij", x, np.eye(3)), [_a(2, 3)]),
    "matrix_diag_part_wide": (lambda tf, x: tf.matrix_diag_part(x),
                              lambda x: np.diagonal(x, axis1=-2, axis2=-1), [_a(2, 3, 4)]),
    "matrix_diag_part_tall": (lambda tf, x: tf.linalg.diag_part(x),
                              lambda x: np.diagonal(x), [_a(4, 3)]),
    "trace": (lambda tf, x: tf.trace(x), lambda x: np.trace(x, axis1=-2, axis2=-1),
              [_a(2, 3, 3)]),
    "segment_sum": (lambda tf, x: tf.segment_sum(x, tf.constant([0, 0, 2, 2])),
                    lambda x: _segment(x, [0, 0, 2, 2], 3), [_a(4, 3)]),
    "segment_mean": (lambda tf, x: tf.segment_mean(x, [0, 1, 1, 3]),
                     lambda x: _segment(x, [0, 1, 1, 3], 4, mean=True), [_a(4, 2)]),
    "unsorted_segment_sum": (lambda tf, x: tf.unsorted_segment_sum(x, [1, -1, 0, 1], 3),
                             lambda x: _segment(x, [1, -1, 0, 1], 3), [_a(4, 2)]),
    "tensordot_int": (lambda tf, a, b: tf.tensordot(a, b, 1), lambda a, b: a @ b,
                      [_a(3, 4), _a(4, 2)]),
    "tensordot_pairs": (lambda tf, a, b: tf.tensordot(a, b, [[1, 2], [1, 0]]),
                        lambda a, b: np.tensordot(a, b, [[1, 2], [1, 0]]),
                        [_a(2, 3, 4), _a(4, 3, 5)]),
    "einsum_matmul": (lambda tf, a, b: tf.einsum("ij,jk->ik", a, b),
                      lambda a, b: a @ b, [_a(3, 4), _a(4, 2)]),
    "einsum_batch": (lambda tf, a, b: tf.einsum("bij,bjk->bik", a, b),
                     lambda a, b: a @ b, [_a(2, 3, 4), _a(2, 4, 5)]),
    "einsum_trace": (lambda tf, a: tf.einsum("ii->", a), np.trace, [_a(3, 3)]),
    "einsum_rowdot": (lambda tf, a, b: tf.einsum("ij,ij->i", a, b),
                      lambda a, b: (a * b).sum(1), [_a(3, 4), _a(3, 4)]),
    "einsum_outer_implicit": (lambda tf, a, b: tf.einsum("i,j", a, b), np.outer,
                              [_a(3), _a(4)]),
    "einsum_chain": (lambda tf, a, b, c: tf.einsum("ij,jk,kl->il", a, b, c),
                     lambda a, b, c: a @ b @ c, [_a(2, 3), _a(3, 4), _a(4, 2)]),
    "einsum_mixed": (lambda tf, a, b: tf.einsum("bij,jk->bki", a, b),
                     lambda a, b: np.einsum("bij,jk->bki", a, b), [_a(2, 3, 4), _a(4, 5)]),
    "einsum_ellipsis_batch_broadcast": (
        lambda tf, a, b: tf.einsum("...ij,...jk->...ik", a, b),
        lambda a, b: np.einsum("...ij,...jk->...ik", a, b), [_a(2, 1, 3, 4), _a(5, 4, 2)]),
    "einsum_ellipsis_implicit": (lambda tf, a, b: tf.einsum("...ij,jk", a, b),
                                 lambda a, b: a @ b, [_a(2, 3, 4), _a(4, 5)]),
    "einsum_ellipsis_trailing": (lambda tf, a, b: tf.einsum("ij...,jk...->ik...", a, b),
                                 lambda a, b: np.einsum("ij...,jk...->ik...", a, b),
                                 [_a(3, 4, 2), _a(4, 5, 2)]),
    "einsum_ellipsis_middle": (lambda tf, a, b: tf.einsum("bn...d,bm...d->b...nm", a, b),
                               lambda a, b: np.einsum("bn...d,bm...d->b...nm", a, b),
                               [_a(2, 3, 1, 4), _a(2, 5, 6, 4)]),
    "einsum_ellipsis_diagonal_sum": (lambda tf, a: tf.einsum("...ii->...", a),
                                     lambda a: np.einsum("...ii->...", a), [_a(2, 3, 3)]),
    "broadcast_to": (lambda tf, x: tf.broadcast_to(x, [2, 3]),
                     lambda x: np.broadcast_to(x, (2, 3)), [_a(3)]),
    "boolean_mask": (lambda tf, x: tf.boolean_mask(x, tf.constant(MASK)),
                     lambda x: x[MASK], [_a(5, 2)]),
    "boolean_mask_axis1": (lambda tf, x: tf.boolean_mask(x, MASK, axis=1),
                           lambda x: x[:, MASK], [_a(2, 5)]),
    "boolean_mask_values": (lambda tf, x: tf.boolean_mask(x, x > 0),
                            lambda x: x[x > 0], [_a(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_numpy(name, executor):
    check_case_against_numpy(CASES[name], executor, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_shapes_values_and_gradients_match_tensorflow(name):
    check_case_against_tensorflow(CASES[name], rtol=2e-5, atol=2e-6)


# name -> (build(tf), the fragment of TF's error text; every one is a ValueError at build time)
BUILD_ERRORS: dict[str, tuple[Callable, str]] = {
    "top_k_k": (lambda tf: tf.nn.top_k(tf.zeros([2, 3]), 5),
                "input must have last dimension >= k = 5 but is 3"),
    "top_k_rank0": (lambda tf: tf.nn.top_k(tf.zeros([]), 1),
                    "Shape must be at least rank 1 but is rank 0"),
    "matrix_transpose": (lambda tf: tf.matrix_transpose(tf.zeros([3])),
                         "should be a (batch) matrix with rank >= 2"),
    "diag_part_dims": (lambda tf: tf.diag_part(tf.zeros([2, 3])),
                       "Dimensions must be equal, but are 2 and 3"),
    "diag_part_rank": (lambda tf: tf.diag_part(tf.zeros([2, 3, 4])),
                       "Input must have even and non-zero rank, input rank is 3"),
    "matrix_diag_part": (lambda tf: tf.matrix_diag_part(tf.zeros([3])),
                         "Shape must be at least rank 2 but is rank 1"),
    "trace": (lambda tf: tf.trace(tf.zeros([3])), "Shape must be at least rank 2 but is rank 1"),
    "unsorted_ids": (lambda tf: tf.unsorted_segment_sum(tf.zeros([3, 2]), tf.constant([0, 0]), 4),
                     "Dimensions must be equal, but are 3 and 2"),
    "tensordot": (lambda tf: tf.tensordot(tf.zeros([2, 3]), tf.zeros([4, 5]), 1),
                  "Dimensions must be equal, but are 3 and 4"),
    "einsum": (lambda tf: tf.einsum("ij,jk->ik", tf.zeros([2, 3]), tf.zeros([4, 5])),
               "Dimensions must be equal, but are 3 and 4"),
    "einsum_ellipsis_dropped": (lambda tf: tf.einsum("...ij,...jk", tf.zeros([2, 3, 4]),
                                                     tf.zeros([2, 4, 5])),
                                "for einsum equation '...ij,...jk->ik' without ellipsis (...) "
                                "in the output subscripts where input(s) have non-empty "
                                "broadcasting shape"),
    "einsum_ellipsis_dims": (lambda tf: tf.einsum("...ij,...jk->...ik", tf.zeros([2, 3, 4]),
                                                  tf.zeros([3, 4, 2])),
                             "Dimensions must be equal, but are 2 and 3"),
    "einsum_dots": (lambda tf: tf.einsum("..i,i", tf.zeros([2, 3]), tf.zeros([3])),
                    "Subscripts have incorrect format: ..i,i"),
    "broadcast_to": (lambda tf: tf.broadcast_to(tf.zeros([3]), [2, 4]),
                     "Dimensions must be equal, but are 3 and 4"),
    "boolean_mask": (lambda tf: tf.boolean_mask(tf.zeros([2, 3]), tf.zeros([3], tf.bool)),
                     "Shapes (2,) and (3,) are incompatible"),
}


@pytest.mark.parametrize("name", sorted(BUILD_ERRORS))
def test_build_errors_say_what_tensorflow_says(name):
    build, fragment = BUILD_ERRORS[name]
    with pytest.raises(ValueError) as err:
        build(sg)
    assert fragment in str(err.value)


@pytest.mark.parametrize("name", sorted(BUILD_ERRORS))
def test_build_error_fragments_are_tensorflows(name):
    build, fragment = BUILD_ERRORS[name]
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    tf1.disable_eager_execution()
    tf1.reset_default_graph()
    with pytest.raises(ValueError) as ref:
        build(tf1)
    assert fragment in str(ref.value)


def test_top_k_positions_order_ties_and_dtypes(executor):
    x = sg.placeholder(sg.int32, [None, 5])
    values, indices = sg.nn.top_k(x, k=4)
    assert (values.dtype, indices.dtype) == (sg.int32, sg.int32)
    assert values.shape.as_list() == [None, 4] and values.name == "TopKV2:0"
    xv = np.array([[1, 3, 2, 3, 0], [7, 7, 7, -1, 7]], np.int32)
    with sg.Session(executor=executor) as sess:
        v, i = sess.run(sg.nn.top_k(x, 4), {x: xv})
    np.testing.assert_array_equal(v, [[3, 3, 2, 1], [7, 7, 7, 7]])
    np.testing.assert_array_equal(i, [[1, 3, 2, 0], [0, 1, 2, 4]])  # ties: lower position first


def test_where_positions_and_value_dependent_sizes(executor):
    c = sg.placeholder(sg.float32, [None, 3])
    pos = sg.where(c > 0)
    picked = sg.boolean_mask(c, c > 0)
    both = sg.where(c > 0, c, -c)  # the three-argument form is unchanged
    assert pos.shape.as_list() == [None, 2] and pos.dtype == sg.int64
    assert picked.shape.as_list() == [None]
    with sg.Session(executor=executor) as sess:
        for cv in (np.array([[1, -1, 2], [0, 3, -4]], np.float32), -np.ones((4, 3), np.float32)):
            p, v, b = sess.run([pos, picked, both], {c: cv})
            np.testing.assert_array_equal(p, np.argwhere(cv > 0))
            np.testing.assert_array_equal(v, cv[cv > 0])
            np.testing.assert_array_equal(b, np.abs(cv))


def test_segment_sum_checks_ids_when_run(executor):
    data = sg.placeholder(sg.float32, [None, 2])
    ids = sg.placeholder(sg.int32, [None])
    total = sg.segment_sum(data, ids)
    assert total.shape.as_list() == [None, 2]
    dv = np.arange(8, dtype=np.float32).reshape(4, 2)
    with sg.Session(executor=executor) as sess:
        np.testing.assert_array_equal(sess.run(total, {data: dv, ids: [0, 0, 3, 3]}),
                                      [[2, 4], [0, 0], [0, 0], [10, 12]])
        with pytest.raises(sg.errors.InvalidArgumentError, match="segment ids are not increasing"):
            sess.run(total, {data: dv, ids: [0, 2, 1, 1]})
        with pytest.raises(sg.errors.InvalidArgumentError, match="out of range"):
            sess.run(total, {data: dv, ids: [-1, 0, 0, 1]})
        np.testing.assert_array_equal(sess.run(total, {data: dv[:2], ids: [1, 1]}),
                                      [[0, 0], [2, 4]])


def test_value_dependent_results_train_a_variable(executor):
    """A gradient step through boolean_mask and segment_sum changes only the picked rows."""
    w = sg.Variable(np.ones((4, 2), np.float32), name="w")
    keep = sg.placeholder(sg.bool, [4])
    loss = sg.reduce_sum(sg.segment_sum(sg.boolean_mask(w, keep), [0, 0, 1]) ** 2)
    step = sg.train.GradientDescentOptimizer(0.1).minimize(loss)
    with sg.Session(executor=executor) as sess:
        sess.run(sg.global_variables_initializer())
        sess.run(step, {keep: [True, False, True, True]})
        np.testing.assert_allclose(sess.run(w), [[0.6, 0.6], [1, 1], [0.6, 0.6], [0.8, 0.8]],
                                   rtol=1e-6)


def test_missing_pieces_say_so():
    x = sg.placeholder(sg.float32, [None, 3])
    with pytest.raises(NotImplementedError, match="num_segments given as a tensor"):
        sg.unsorted_segment_sum(x, [0, 1], sg.constant(2))
    with pytest.raises(NotImplementedError, match="Python int"):
        sg.nn.top_k(x, sg.constant(2))
