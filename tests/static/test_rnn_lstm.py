"""``tf.nn.rnn_cell.LSTMCell`` (peepholes, clipping, projection, concatenated state), the cell
wrappers, ``tf.nn.bidirectional_dynamic_rnn``, ``tf.reverse_sequence`` and ``zero_state`` with a
tensor batch size: values against numpy, gradients against central differences, and one program
against TensorFlow's ``compat.v1`` where it is installed (values, gradients, names)."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.graph.errors import InvalidArgumentError
from staticgraph.rnn_cell import LSTMStateTuple
from staticgraph.rnn_cell_wrappers import _default_state_filter, _state_mask

B, T, D, N, P = 3, 4, 2, 3, 2
RNG = np.random.RandomState(3)
X = RNG.randn(B, T, D)
LENGTHS = np.array([4, 1, 0], np.int32)
VARIANTS = {"plain": {}, "peepholes_clip": {"use_peepholes": True, "cell_clip": 0.4},
            "projection": {"num_proj": P, "proj_clip": 0.3, "use_peepholes": True},
            "concat_state": {"state_is_tuple": False, "forget_bias": 0.0}}


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _numpy_lstm(w: dict, kw: dict, lengths=None) -> tuple:
    """TF's LSTMCell formulas over X with the sequence_length rule."""
    m_n = kw.get("num_proj") or N
    c, m, outs = np.zeros((B, N)), np.zeros((B, m_n)), []
    for t in range(T):
        i, j, f, o = np.split(np.concatenate([X[:, t], m], 1) @ w["kernel"] + w["bias"], 4, 1)
        fb = kw.get("forget_bias", 1.0)
        if kw.get("use_peepholes"):
            nc = _sig(f + fb + w["w_f_diag"] * c) * c + _sig(i + w["w_i_diag"] * c) * np.tanh(j)
        else:
            nc = _sig(f + fb) * c + _sig(i) * np.tanh(j)
        if kw.get("cell_clip") is not None:
            nc = np.clip(nc, -kw["cell_clip"], kw["cell_clip"])
        o_in = o + w["w_o_diag"] * nc if kw.get("use_peepholes") else o
        nm = _sig(o_in) * np.tanh(nc)
        if kw.get("num_proj"):
            nm = np.clip(nm @ w["projection/kernel"], -kw["proj_clip"], kw["proj_clip"])
        keep = (t < lengths)[:, None] if lengths is not None else np.ones((B, 1), bool)
        outs.append(np.where(keep, nm, 0))
        c, m = np.where(keep, nc, c), np.where(keep, nm, m)
    return np.stack(outs, 1), c, m


def _build(kw: dict, lengths: bool):
    x = sg.placeholder(sg.float64, [None, T, D], name="x")
    seq = sg.placeholder(sg.int32, [None]) if lengths else None
    cell = sg.nn.rnn_cell.LSTMCell(N, **kw)
    out, state = sg.nn.dynamic_rnn(cell, x, sequence_length=seq, dtype=sg.float64)
    return x, seq, cell, out, state


@pytest.mark.parametrize("lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_lstm_cell_matches_numpy_and_differences(variant, lengths, executor):
    kw = VARIANTS[variant]
    x, seq, cell, out, state = _build(kw, lengths)
    names = [v.name.split("/", 2)[-1][:-2] for v in cell.variables]
    assert names == ["kernel", "bias"] + (["w_f_diag", "w_i_diag", "w_o_diag"]
                                          if kw.get("use_peepholes") else []) + (
        ["projection/kernel"] if kw.get("num_proj") else [])
    flat = list(state) if isinstance(state, tuple) else [state]
    loss = sg.reduce_sum(sg.sin(out)) + sum(sg.reduce_sum(s * s) for s in flat)
    grads = sg.gradients(loss, cell.variables + [x])
    rng = np.random.RandomState(5)
    w = {n: rng.randn(*v.shape.as_list()) * 0.6 for n, v in zip(names, cell.variables,
                                                                  strict=True)}
    feed = {x: X, **({seq: LENGTHS} if lengths else {})}
    with sg.Session(executor=executor) as sess:
        sess.run(sg.global_variables_initializer())
        for n, v in zip(names, cell.variables, strict=True):
            v.load(w[n], sess)
        o, s, g = sess.run([out, flat, grads], feed)
        ro, rc, rm = _numpy_lstm(w, kw, LENGTHS if lengths else None)
        np.testing.assert_allclose(o, ro, rtol=1e-10, atol=1e-12)
        ref_state = [rc, rm] if kw.get("state_is_tuple", True) else [np.concatenate([rc, rm], 1)]
        for a, r in zip(s, ref_state, strict=True):
            np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-12)
        if executor != "reference":
            return
        for k, v in enumerate(cell.variables):  # one random direction per variable
            d = rng.randn(*w[names[k]].shape)
            vals = []
            for eps in (1e-6, -1e-6):
                v.load(w[names[k]] + eps * d, sess)
                vals.append(sess.run(loss, feed))
            v.load(w[names[k]], sess)
            np.testing.assert_allclose((vals[0] - vals[1]) / 2e-6, np.sum(g[k] * d), rtol=1e-5)


@pytest.mark.parametrize("how", ["shape", "placeholder", "constant", "int"])
def test_zero_state_takes_a_tensor_batch_size(how, executor):
    x = sg.placeholder(sg.float32, [None, T, D])
    n = sg.placeholder(sg.int32, [])
    batch = {"shape": sg.shape(x)[0], "placeholder": n, "constant": sg.constant(B),
             "int": B}[how]
    cell = sg.nn.rnn_cell.LSTMCell(N, num_proj=P)
    zs = cell.zero_state(batch, sg.float32)
    assert zs.c.name.endswith("LSTMCellZeroState/zeros:0")
    assert zs.h.shape.as_list() == [None if how in ("shape", "placeholder") else B, P]
    out, st = sg.nn.dynamic_rnn(cell, x, initial_state=zs)
    ref_out, ref_st = sg.nn.dynamic_rnn(cell, x, dtype=sg.float32)
    with sg.Session(executor=executor) as sess:
        sess.run(sg.global_variables_initializer())
        a = sess.run([zs, out, st, ref_out, ref_st], {x: X.astype(np.float32), n: B})
    assert a[0].c.shape == (B, N) and a[0].h.shape == (B, P) and not a[0].c.any()
    np.testing.assert_array_equal(a[1], a[3])
    np.testing.assert_array_equal(a[2].c, a[4].c)
    with pytest.raises(ValueError, match="batch_size must be a scalar integer tensor"):
        cell.zero_state(sg.constant([1, 2]), sg.float32)


def test_reverse_sequence_values_gradient_and_errors(executor):
    x = sg.placeholder(sg.float64, [None, T, D])
    seq = sg.placeholder(sg.int64, [None])
    r = sg.reverse_sequence(x, seq, seq_axis=1, batch_axis=0)
    r_tm = sg.reverse_sequence(sg.transpose(x, [1, 0, 2]), seq, seq_dim=0, batch_dim=1)
    assert r.name == "ReverseSequence:0" and r.shape.as_list() == [None, T, D]
    wts = RNG.randn(B, T, D)
    g, = sg.gradients(sg.reduce_sum(r * wts), x)
    ref = X.copy()
    for b, n in enumerate(LENGTHS):
        ref[b, :n] = X[b, :n][::-1]
    ref_g = wts.copy()
    for b, n in enumerate(LENGTHS):
        ref_g[b, :n] = wts[b, :n][::-1]
    with sg.Session(executor=executor) as sess:
        a, a_tm, ga = sess.run([r, r_tm, g], {x: X, seq: LENGTHS})
        np.testing.assert_array_equal(a, ref)
        np.testing.assert_array_equal(a_tm, ref.transpose(1, 0, 2))
        np.testing.assert_array_equal(ga, ref_g)
        with pytest.raises(InvalidArgumentError):  # a length beyond the time axis
            sess.run(r, {x: X, seq: [5, 1, 0]})
    with pytest.raises(ValueError, match="seq_dim must not equal batch_dim"):
        sg.reverse_sequence(x, seq, seq_axis=0, batch_axis=0)
    with pytest.raises(TypeError, match="has DataType float32 not in list of allowed values"):
        sg.reverse_sequence(x, sg.constant([1.0, 2.0, 3.0]), seq_axis=1)


def test_bidirectional_rnn_is_two_dynamic_rnns(executor):
    x = sg.placeholder(sg.float32, [None, T, D])
    seq = sg.placeholder(sg.int32, [None])
    with sg.variable_scope("bi", initializer=sg.constant_initializer(0.3)):
        (of, ob), (sf, sb) = sg.nn.bidirectional_dynamic_rnn(
            sg.nn.rnn_cell.LSTMCell(N), sg.nn.rnn_cell.GRUCell(N), x, sequence_length=seq,
            dtype=sg.float32)
    assert [v.name for v in sg.trainable_variables()][:3] == [
        "bi/bidirectional_rnn/fw/lstm_cell/kernel:0", "bi/bidirectional_rnn/fw/lstm_cell/bias:0",
        "bi/bidirectional_rnn/bw/gru_cell/gates/kernel:0"]
    assert of.name == "bi/bidirectional_rnn/fw/fw/transpose_1:0"
    xr = sg.reverse_sequence(x, seq, 1)
    with sg.variable_scope("fw_only", initializer=sg.constant_initializer(0.3)):
        of2, sf2 = sg.nn.dynamic_rnn(sg.nn.rnn_cell.LSTMCell(N), x, seq, dtype=sg.float32)
        ob2, sb2 = sg.nn.dynamic_rnn(sg.nn.rnn_cell.GRUCell(N), xr, seq, dtype=sg.float32,
                                     scope="bw")
    ob2 = sg.reverse_sequence(ob2, seq, 1)
    with sg.Session(executor=executor) as sess:
        sess.run(sg.global_variables_initializer())
        a = sess.run([of, ob, sf, sb, of2, ob2, sf2, sb2],
                     {x: X.astype(np.float32), seq: LENGTHS})
    for u, v in zip(a[:4], a[4:], strict=True):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))
    assert not a[1][1, 1:].any() and a[1][0, 0].any()  # zeros past the length, reversed back


def test_dropout_wrapper(executor):
    x = sg.placeholder(sg.float32, [None, T, D])
    keep = sg.placeholder_with_default(1.0, [])
    base = sg.nn.rnn_cell.BasicLSTMCell(N)
    cell = sg.nn.rnn_cell.DropoutWrapper(base, output_keep_prob=keep)
    out, st = sg.nn.dynamic_rnn(cell, x, dtype=sg.float32)
    assert [v.name for v in cell.variables] == ["rnn/basic_lstm_cell/kernel:0",
                                                "rnn/basic_lstm_cell/bias:0"]
    with sg.Session(executor=executor) as sess:
        sess.run(sg.global_variables_initializer())
        feed = {x: X.astype(np.float32)}
        full = sess.run(out, feed)
        d1 = sess.run(out, {**feed, keep: 0.5})
        d2 = sess.run(out, {**feed, keep: 0.5})
    # output dropout only: each entry is dropped (0) or kept and scaled by 1/keep
    assert np.all(np.isclose(d1, 0) | np.isclose(d1, 2 * full, rtol=1e-6))
    assert 0 < np.isclose(d1, 0).mean() < 1 and not np.array_equal(d1, d2)  # new masks per run
    assert not all(np.array_equal(d1[:, 0] == 0, d1[:, t] == 0) for t in range(1, T))
    # TF's default state filter: never the c of an LSTMStateTuple
    s = LSTMStateTuple(sg.zeros([1, 1]), sg.zeros([1, 1]))
    assert _state_mask(_default_state_filter, (s, sg.zeros([1]), s)) == [False, True, True,
                                                                       False, True]
    with pytest.raises(ValueError, match="Parameter input_keep_prob must be between 0 and 1. "
                                         "Received 1.5"):
        sg.nn.rnn_cell.DropoutWrapper(base, input_keep_prob=1.5)
    with pytest.raises(NotImplementedError, match="variational_recurrent=True\\) is not "
                                                  "supported by staticgraph"):
        sg.nn.rnn_cell.DropoutWrapper(base, variational_recurrent=True, dtype=sg.float32)


def test_residual_and_device_wrappers():
    x = sg.placeholder(sg.float32, [None, T, N])
    res = sg.nn.rnn_cell.ResidualWrapper(sg.nn.rnn_cell.BasicRNNCell(N))
    dev = sg.nn.rnn_cell.DeviceWrapper(sg.nn.rnn_cell.BasicRNNCell(N, name="plain"), "/cpu:0")
    out, _ = sg.nn.dynamic_rnn(res, x, dtype=sg.float32, scope="r")
    plain, _ = sg.nn.dynamic_rnn(sg.nn.rnn_cell.BasicRNNCell(N, name="same"), x,
                                 dtype=sg.float32, scope="r")
    dout, _ = sg.nn.dynamic_rnn(dev, x, dtype=sg.float32, scope="d")
    with sg.Session(executor="reference") as sess:
        sess.run(sg.global_variables_initializer())
        res.variables[0].load(np.eye(2 * N, N, dtype=np.float32) * 0.5, sess)
        sess.run(sg.trainable_variables()[2].assign(res.variables[0]))
        xv = RNG.randn(B, T, N).astype(np.float32)
        a, p, _ = sess.run([out, plain, dout], {x: xv})
    np.testing.assert_allclose(a, xv + p, rtol=1e-6)
