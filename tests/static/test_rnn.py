"""``tf.nn.dynamic_rnn``, ``static_rnn`` and the ``tf.nn.rnn_cell`` cells: values against a numpy
loop, gradients against the eager mode's autograd over the same loop, on every executor; and
values, gradients, variable names and errors against TensorFlow's ``compat.v1`` where it is
installed (skipped otherwise)."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg

B, T, D, N = 3, 4, 2, 3
RNG = np.random.RandomState(7)
X = RNG.randn(B, T, D).astype(np.float32)
LENGTHS = np.array([4, 2, 0], np.int32)
CELLS = ["basic_rnn", "basic_lstm", "gru"]


def _weights(names_shapes: list) -> list[np.ndarray]:
    rng = np.random.RandomState(1)
    return [(rng.randn(*s) * 0.5).astype(np.float32) for _, s in names_shapes]


def _cell(tf, kind: str):
    return {"basic_rnn": lambda: tf.nn.rnn_cell.BasicRNNCell(N),
            "basic_lstm": lambda: tf.nn.rnn_cell.BasicLSTMCell(N, forget_bias=0.5),
            "gru": lambda: tf.nn.rnn_cell.GRUCell(N)}[kind]()


def _program(tf, kind: str, use_lengths: bool, executor: str | None = None,
             static: bool = False) -> tuple:
    """Outputs, final state, gradients (variables and inputs) and variable names."""
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None, T, D], name="x")
    lengths = tf.placeholder(tf.int32, [None], name="lengths") if use_lengths else None
    cell = _cell(tf, kind)
    if static:
        outs, state = tf.nn.static_rnn(cell, tf.unstack(x, axis=1), sequence_length=lengths,
                                       dtype=tf.float32)
        out = tf.stack(outs, axis=1)
    else:
        out, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)
    flat_state = list(state) if isinstance(state, tuple) else [state]
    loss = tf.reduce_sum(out * out) + sum(tf.reduce_sum(tf.sin(s)) for s in flat_state)
    vs = tf.trainable_variables()
    grads = tf.gradients(loss, vs + [x])
    feed = {x: X}
    if use_lengths:
        feed[lengths] = LENGTHS
    kw = {"executor": executor} if executor else {}
    with tf.Session(**kw) as sess:
        sess.run(tf.global_variables_initializer())
        for v, w in zip(vs, _weights([(v.name, v.shape.as_list()) for v in vs]), strict=True):
            v.load(w, sess)
        got = sess.run([out, flat_state, grads], feed)
    return got, [v.name for v in vs]


def _sig(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def _numpy_loop(kind: str, use_lengths: bool, w: list[np.ndarray]) -> tuple:
    """The cell's TF formulas in numpy, with TF's sequence_length rule."""
    h = np.zeros((B, N), np.float32)
    c = np.zeros((B, N), np.float32)
    outs = []
    for t in range(T):
        xh = np.concatenate([X[:, t], h], 1)
        if kind == "basic_rnn":
            nh = np.tanh(xh @ w[0] + w[1])
            nc = c
        elif kind == "basic_lstm":
            i, j, f, o = np.split(xh @ w[0] + w[1], 4, axis=1)
            nc = c * _sig(f + 0.5) + _sig(i) * np.tanh(j)
            nh = np.tanh(nc) * _sig(o)
        else:
            r, u = np.split(_sig(xh @ w[0] + w[1]), 2, axis=1)
            cand = np.tanh(np.concatenate([X[:, t], r * h], 1) @ w[2] + w[3])
            nh = u * h + (1 - u) * cand
            nc = c
        keep = (t < LENGTHS)[:, None] if use_lengths else np.ones((B, 1), bool)
        outs.append(np.where(keep, nh, 0))
        h, c = np.where(keep, nh, h), np.where(keep, nc, c)
    state = [c, h] if kind == "basic_lstm" else [h]
    return np.stack(outs, 1), state


def _eager_grads(kind: str, use_lengths: bool, w: list[np.ndarray]) -> list[np.ndarray]:
    """The same loop in the eager mode; its autograd gives the gradients."""
    import dynamic as torch

    ws = [torch.tensor(a, requires_grad=True) for a in w]
    x = torch.tensor(X, requires_grad=True)
    h = torch.zeros(B, N)
    c = torch.zeros(B, N)
    loss = 0
    for t in range(T):
        xh = torch.cat([x[:, t], h], 1)
        if kind == "basic_rnn":
            nh, nc = torch.tanh(xh @ ws[0] + ws[1]), c
        elif kind == "basic_lstm":
            i, j, f, o = torch.chunk(xh @ ws[0] + ws[1], 4, dim=1)
            nc = c * torch.sigmoid(f + 0.5) + torch.sigmoid(i) * torch.tanh(j)
            nh = torch.tanh(nc) * torch.sigmoid(o)
        else:
            r, u = torch.chunk(torch.sigmoid(xh @ ws[0] + ws[1]), 2, dim=1)
            cand = torch.tanh(torch.cat([x[:, t], r * h], 1) @ ws[2] + ws[3])
            nh, nc = u * h + (1 - u) * cand, c
        keep = torch.tensor(((t < LENGTHS) if use_lengths else np.ones(B, bool))[:, None]
                            .astype(np.float32))
        out = nh * keep
        loss = loss + (out * out).sum()
        h, c = nh * keep + h * (1 - keep), nc * keep + c * (1 - keep)
    for s in ([c, h] if kind == "basic_lstm" else [h]):
        loss = loss + torch.sin(s).sum()
    loss.backward()
    return [a.grad.numpy() for a in ws] + [x.grad.numpy()]


@pytest.mark.parametrize("use_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("kind", CELLS)
def test_dynamic_rnn_matches_numpy_and_eager(kind, use_lengths, executor):
    (out, state, grads), names = _program(sg, kind, use_lengths, executor)
    w = _weights([(None, g.shape) for g in grads[:-1]])
    ref_out, ref_state = _numpy_loop(kind, use_lengths, w)
    np.testing.assert_allclose(out, ref_out, rtol=1e-5, atol=1e-6)
    for s, r in zip(state, ref_state, strict=True):
        np.testing.assert_allclose(s, r, rtol=1e-5, atol=1e-6)
    for g, r in zip(grads, _eager_grads(kind, use_lengths, w), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5)
    if use_lengths:  # outputs past a sequence's length are zero
        assert not out[1, 2:].any() and not out[2].any()


@pytest.mark.parametrize("kind", CELLS)
def test_static_rnn_is_the_unrolled_dynamic_rnn(kind):
    (out, state, grads), names = _program(sg, kind, True, "reference", static=True)
    (out2, state2, grads2), names2 = _program(sg, kind, True, "reference")
    assert names == names2
    for a, b in zip([out, *state, *grads], [out2, *state2, *grads2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_variable_names_and_shapes():
    x = sg.placeholder(sg.float32, [None, T, D])
    sg.nn.dynamic_rnn(sg.nn.rnn_cell.BasicRNNCell(N), x, dtype=sg.float32)
    out, st = sg.nn.dynamic_rnn(sg.nn.rnn_cell.BasicLSTMCell(N), x, dtype=sg.float32,
                                scope="lstm")
    with sg.variable_scope("enc"):
        sg.nn.dynamic_rnn(sg.nn.rnn_cell.GRUCell(N), x, dtype=sg.float32)
    assert [(v.name, v.shape.as_list()) for v in sg.trainable_variables()] == [
        ("rnn/basic_rnn_cell/kernel:0", [D + N, N]), ("rnn/basic_rnn_cell/bias:0", [N]),
        ("lstm/basic_lstm_cell/kernel:0", [D + N, 4 * N]),
        ("lstm/basic_lstm_cell/bias:0", [4 * N]),
        ("enc/rnn/gru_cell/gates/kernel:0", [D + N, 2 * N]),
        ("enc/rnn/gru_cell/gates/bias:0", [2 * N]),
        ("enc/rnn/gru_cell/candidate/kernel:0", [D + N, N]),
        ("enc/rnn/gru_cell/candidate/bias:0", [N])]
    assert out.shape.as_list() == [None, T, N]
    assert isinstance(st, sg.nn.rnn_cell.LSTMStateTuple) and st.h.shape.as_list() == [None, N]


def test_multi_rnn_cell_and_time_major():
    x = sg.placeholder(sg.float32, [T, B, D])
    cell = sg.nn.rnn_cell.MultiRNNCell([sg.nn.rnn_cell.BasicRNNCell(N),
                                        sg.nn.rnn_cell.BasicLSTMCell(N)])
    out, st = sg.nn.dynamic_rnn(cell, x, dtype=sg.float32, time_major=True)
    assert [v.name for v in sg.trainable_variables()] == [
        "rnn/multi_rnn_cell/cell_0/basic_rnn_cell/kernel:0",
        "rnn/multi_rnn_cell/cell_0/basic_rnn_cell/bias:0",
        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel:0",
        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/bias:0"]
    with sg.Session(executor="reference") as sess:
        sess.run(sg.global_variables_initializer())
        o, (h0, (c1, h1)) = sess.run([out, st], {x: X.transpose(1, 0, 2)})
    assert o.shape == (T, B, N)
    np.testing.assert_array_equal(o[-1], h1)


def test_errors_match_tf1():
    x = sg.placeholder(sg.float32, [None, T, D])
    cell = sg.nn.rnn_cell.BasicRNNCell(N)
    with pytest.raises(ValueError, match="If no initial_state is provided, argument `dtype` "
                                         "must be specified"):
        sg.nn.dynamic_rnn(cell, x)
    with pytest.raises(TypeError, match="is not an RNNCell: 'output_size' property is missing, "
                                        "'state_size' property is missing, either 'zero_state' "
                                        "or 'get_initial_state' method is required."):
        sg.nn.dynamic_rnn(lambda a, b: a, x, dtype=sg.float32)
    with pytest.raises(ValueError, match="Argument sequence_length must be a vector of length "
                                         "batch_size. Received sequence_length="):
        sg.nn.dynamic_rnn(cell, x, sequence_length=[[1]], dtype=sg.float32)
    with pytest.raises(ValueError, match="Input tensor should have rank >= 2"):
        sg.nn.dynamic_rnn(cell, sg.placeholder(sg.float32, [3]), dtype=sg.float32)
    with pytest.raises(TypeError, match="Argument `inputs` must be a sequence"):
        sg.nn.static_rnn(cell, x, dtype=sg.float32)
    with pytest.raises(ValueError, match="Argument `inputs` must not be empty"):
        sg.nn.static_rnn(cell, [], dtype=sg.float32)
    with pytest.raises(ValueError, match="Expected inputs.shape\\[-1\\] to be known"):
        sg.nn.rnn_cell.BasicRNNCell(N)(sg.placeholder(sg.float32, [None, None]), sg.zeros([2, N]))
    with pytest.raises(ValueError, match="Input size \\(depth of inputs\\) must be accessible"):
        sg.nn.dynamic_rnn(cell, sg.placeholder(sg.float32, [None, T, None]), dtype=sg.float32)
    with pytest.raises(sg.unsupported.UnsupportedError, match="tf.nn.rnn_cell.NASCell is not "
                                                                "supported"):
        sg.nn.rnn_cell.NASCell  # noqa: B018 (tf.contrib.rnn's; TF1's rnn_cell is covered)


@pytest.fixture(scope="module")
def tf1():
    tf = pytest.importorskip("tensorflow.compat.v1")
    tf.disable_eager_execution()
    return tf


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
@pytest.mark.parametrize("use_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("kind", CELLS)
def test_same_as_tensorflow(tf1, kind, use_lengths, static):
    (out, state, grads), names = _program(tf1, kind, use_lengths, static=static)
    (out2, state2, grads2), names2 = _program(sg, kind, use_lengths, "reference", static=static)
    assert names2 == names
    for a, b in zip([out, *state, *grads], [out2, *state2, *grads2], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
