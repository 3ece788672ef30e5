"""``tf.scatter_mul`` / ``tf.scatter_div`` and ``Variable.scatter_mul/div`` on every executor
against a numpy replay of TF's CPU kernel (rows updated in index order: repeated indices
multiply or divide once per update), TF's range error with the variable left intact, integer
variables (C's truncating ``/``), and live TensorFlow when installed."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg

V0 = np.arange(15, dtype=np.float32).reshape(5, 3) / 4.0 - 1.0
CASES = {"unique": np.array([4, 0, 2]), "duplicates": np.array([1, 3, 1, 1]),
         "matrix_ids": np.array([[0, 4], [4, 2]]), "empty": np.zeros((0,), np.int64)}


def tf_kernel(kind: str, v: np.ndarray, idx: np.ndarray, upd: np.ndarray) -> np.ndarray:
    """TF's ``ScatterMul``/``ScatterDiv`` on CPU: ``params[i] op= updates[j]``, j in order."""
    out = v.copy()
    with np.errstate(all="ignore"):
        for i, r in zip(idx.reshape(-1), upd.reshape((-1,) + v.shape[1:]), strict=True):
            if kind == "scatter_mul":
                out[i] = out[i] * r
            elif out.dtype.kind == "f":
                out[i] = out[i] / r
            else:  # C's integer division truncates
                out[i] = np.trunc(out[i] / r).astype(out.dtype)
    return out


def _program(kind: str, v0: np.ndarray, idx: np.ndarray):
    v = sg.Variable(v0)
    ids = sg.placeholder(sg.int32, [None] * idx.ndim)
    upd = sg.placeholder(sg.as_dtype(v0.dtype), [None] * idx.ndim + list(v0.shape[1:]))
    return v, ids, upd, getattr(sg, kind)(v, ids, upd)


@pytest.mark.parametrize("kind", ["scatter_mul", "scatter_div"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_values_match_tf_kernel_for_two_steps(kind, case, executor):
    idx = CASES[case]
    v, ids, upd, op = _program(kind, V0, idx)
    rng = np.random.default_rng(len(idx))
    want = V0.copy()
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        for _ in range(2):
            u = (rng.standard_normal(idx.shape + (3,)) + 0.5).astype(np.float32)
            want = tf_kernel(kind, want, idx, u)
            got = s.run(op, {ids: idx.astype(np.int32), upd: u})
            if kind == "scatter_mul" or case != "duplicates" and case != "matrix_ids":
                assert got.tobytes() == want.tobytes()  # TF's order: the same bits
            else:  # divided by the updates' product: the same to rounding
                np.testing.assert_allclose(got, want, rtol=2e-6)
        np.testing.assert_allclose(s.run(v), want, rtol=2e-6)


@pytest.mark.parametrize("kind", ["scatter_mul", "scatter_div"])
def test_zero_inf_and_nan_follow_ieee_in_tf_order(kind, executor):
    v0 = np.array([[np.inf, 2.0], [0.0, -0.0], [np.nan, 1.0]], np.float32)
    idx = np.array([0, 1, 2, 1])
    u = np.array([[-0.0 if kind == "scatter_mul" else -3.0, np.inf], [np.inf, -1.0],
                  [2.0, np.nan], [-1.0, 3.0]], np.float32)
    v, ids, upd, op = _program(kind, v0, idx)
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        got = s.run(op, {ids: idx.astype(np.int32), upd: u})
    want = tf_kernel(kind, v0, idx, u)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("kind", ["scatter_mul", "scatter_div"])
def test_integer_variables(kind, executor):
    v0 = np.array([[7, -7], [100, 9], [-5, 3]], np.int32)
    idx = np.array([2, 1, 1])
    u = np.array([[2, -2], [3, 2], [-4, 2]], np.int32)
    v, ids, upd, op = _program(kind, v0, idx)
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        got = s.run(op, {ids: idx.astype(np.int32), upd: u})
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, tf_kernel(kind, v0, idx, u))


def test_scatter_div_by_zero_is_tf_error_and_leaves_the_variable(executor):
    """TF's ``ScatterDiv`` kernel: ``updates must not contain 0`` (floats too)."""
    v, ids, upd, op = _program("scatter_div", V0, np.array([0, 1]))
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        with pytest.raises(Exception, match="updates must not contain 0"):
            s.run(op, {ids: np.array([0, 1], np.int32),
                       upd: np.array([[1, 2, 3], [4, -0.0, 6]], np.float32)})
        np.testing.assert_array_equal(s.run(v), V0)


def test_bad_arguments_name_the_thing_at_fault():
    v = sg.Variable(V0)
    with pytest.raises(TypeError, match="tf.scatter_mul: 'ref' must be a Variable"):
        sg.scatter_mul(sg.constant(V0), [0], np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match=r"tf.scatter_div: shape of 'updates'"):
        sg.scatter_div(v, [0, 1], np.ones((2, 4), np.float32))


@pytest.mark.parametrize("kind", ["scatter_mul", "scatter_div"])
def test_variable_methods_take_indexed_slices(kind, executor):
    v = sg.Variable(V0)
    vals = np.array([[2.0, -0.5, 4.0], [3.0, 3.0, 3.0], [0.25, 1.0, -2.0]], np.float32)
    op = getattr(v, kind)(sg.IndexedSlices(sg.constant(vals), sg.constant(np.array([3, 0, 3]))))
    assert op.op.type == "Assign"
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        np.testing.assert_allclose(s.run(op), tf_kernel(kind, V0, np.array([3, 0, 3]), vals),
                                   rtol=2e-6)


@pytest.mark.parametrize("kind", ["scatter_mul", "scatter_div"])
def test_matches_live_tensorflow(kind):
    tf = pytest.importorskip("tensorflow.compat.v1")
    tf.disable_eager_execution()
    out = []
    for lib in (sg, tf):
        g = lib.Graph()
        with g.as_default():
            v = lib.Variable(V0)
            ids = lib.placeholder(lib.int64, [None])
            upd = lib.placeholder(lib.float32, [None, 3])
            op = getattr(lib, kind)(v, ids, upd)
            init = lib.global_variables_initializer()
        with lib.Session(graph=g) as s:
            s.run(init)
            rng = np.random.default_rng(3)
            res = []
            for ix in ([0, 4, 2], [1, 3, 1, 1]):
                u = (rng.standard_normal((len(ix), 3)) + 0.5).astype(np.float32)
                res.append(s.run(op, {ids: np.asarray(ix), upd: u}))
            out.append(res)
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-6)
