"""Facts about an op live on its ``Op`` record (docs/ops.md, "Op facts"), and one un-broadcast
policy serves the eager engine and the static ``gradients()``."""

from __future__ import annotations

import numpy as np

from staticgraph.ops import REGISTRY
from staticgraph.ops.core import unbroadcast_needed


def test_facts_are_consistent_with_the_records():
    for op in REGISTRY.values():
        assert op.reduce in ("", "sum", "mean", "max", "min"), op
        if op.shape_ref is not None:
            assert op.nin is None or op.shape_ref < op.nin, op
        if isinstance(op.same_dtype, tuple):
            assert op.nin is None or all(i < op.nin for i in op.same_dtype), op
        else:
            assert op.same_dtype in ("auto", "all"), op
        assert not (op.reshaping and op.fresh_output), op
        assert op.vjp is not None or not op.vjp_exact, op


def test_the_facts_of_the_ops_that_have_them():
    facts = {
        "vjp_exact": {"cat", "stack", "nll_loss", "nll_loss_grad", "cat_slice", "index_grad",
                      "reshape_like", "broadcast_like", "sum_to_like"},
        "reshaping": {"reshape", "reshape_like", "expand_dims", "squeeze"},
        "fresh_output": {"size"},
    }
    for field, names in facts.items():
        assert {n for n, op in REGISTRY.items() if getattr(op, field)} >= names, field
    assert {n: op.reduce for n, op in REGISTRY.items() if op.reduce} == {
        "sum": "sum", "mean": "mean", "max": "max", "min": "min", "sum_to_like": "sum"}
    assert REGISTRY["where"].input_names == ("condition", "t", "e")
    assert REGISTRY["sum_to_like"].shape_ref == 1 and REGISTRY["zeros_like"].shape_ref == 0


def test_unbroadcast_policy():
    add, cat, exp = REGISTRY["add"], REGISTRY["cat"], REGISTRY["exp"]
    assert unbroadcast_needed(add, (4, 3), (3,), 2)
    assert not unbroadcast_needed(add, (4, 3), (4, 3), 2)
    assert unbroadcast_needed(add, (None, 3), (None, 3), 2)  # may differ: reduce at run time
    assert unbroadcast_needed(add, None, (3,), 2)  # unknown rank
    assert not unbroadcast_needed(cat, (None, 3), (None, 3), 2)  # exact rule
    assert not unbroadcast_needed(exp, (None, 3), (None, 3), 1)  # single input
    assert unbroadcast_needed(None, (4, 3), (3,), 1)  # an autograd.Function's backward
    assert not unbroadcast_needed(None, (4, 3), (4, 3), 1)


def test_both_walkers_unbroadcast_alike():
    import dynamic as torch
    import staticgraph as tf

    a, b = np.ones((4, 3), np.float32), np.arange(3, dtype=np.float32)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (ta * tb).sum().backward()
    g = tf.Graph()
    with g.as_default():
        pa, pb = tf.placeholder(tf.float32, [None, 3]), tf.placeholder(tf.float32, [3])
        ga, gb = tf.gradients(tf.reduce_sum(pa * pb), [pa, pb])
        assert gb.shape.as_list() == [3] and ga.shape.as_list() == [None, 3]
        va, vb = tf.Session(graph=g, executor="reference").run([ga, gb], {pa: a, pb: b})
    np.testing.assert_array_equal(va, ta.grad.numpy())
    np.testing.assert_array_equal(vb, tb.grad.numpy())
