"""Facts about an op live on its ``Op`` record (docs/ops.md, "Op facts"), and one un-broadcast
policy serves the eager engine and the static ``gradients()``."""

from __future__ import annotations

import numpy as np
import pytest

from staticgraph.ops import REGISTRY, eval_numpy
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
        nin = op.nin if op.nin is not None else 3
        assert op.shape_only == "rest" or isinstance(op.shape_only, tuple), op
        assert all(i < nin for i in op.shape_inputs(nin)), op
        if op.shape_ref is not None:  # the input whose shape the output takes is read for no more
            assert op.shape_ref in op.shape_inputs(nin), op
        if op.fill is not None:  # a fill reads only the shape (and dtype) of its reference
            assert op.shape_ref is not None and len(op.shape_inputs(nin)) == nin, op
        assert not (op.broadcasting and (op.reshaping or op.fill is not None)), op
        assert op.equal_dims is None or callable(op.equal_dims), op


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
        "sum": "sum", "mean": "mean", "reduce_mean": "mean", "max": "max", "min": "min",
        "sum_to_like": "sum"}
    assert REGISTRY["where"].input_names == ("condition", "t", "e")
    assert REGISTRY["sum_to_like"].shape_ref == 1 and REGISTRY["zeros_like"].shape_ref == 0
    assert {n: op.fill for n, op in REGISTRY.items() if op.fill is not None} == {
        "zeros_like": 0, "ones_like": 1}
    assert {n for n, op in REGISTRY.items() if op.broadcasting} == {"broadcast_to",
                                                                     "broadcast_like"}
    assert {n: op.shape_only for n, op in REGISTRY.items() if op.shape_only} == {
        "broadcast_like": (1,), "sum_to_like": (1,), "reshape_like": (1,), "zeros_like": (0,),
        "ones_like": (0,), "size": (0,), "index_grad": (1,), "nll_loss_grad": (1,),
        "cat_slice": "rest"}
    assert {n for n, op in REGISTRY.items() if op.equal_dims} >= {"matmul", "cat", "nll_loss",
                                                                   "nll_loss_grad"}


R = np.random.default_rng(0)


def _a(*shape, dtype=np.float64):
    return R.standard_normal(shape).astype(dtype)


LABELS = np.array([0, 2, 1, 2])
# one valid call (inputs, params) per op with a compiler fact; several where the fact has cases
EXAMPLES: dict[str, list] = {
    "zeros_like": [([_a(3, 4, dtype=dt)], {}) for dt in (np.float32, np.float64, np.int64,
                                                         np.bool_)],
    "ones_like": [([_a(3, 4, dtype=dt)], {}) for dt in (np.float32, np.float64, np.int64,
                                                        np.bool_)] + [([_a()], {})],
    "broadcast_to": [([_a(3, 1)], {"shape": (2, 3, 4)}), ([_a()], {"shape": (2,)})],
    "broadcast_like": [([_a(3, 1), _a(2, 3, 4)], {}),
                       ([_a(3, 1, dtype=np.float32), _a(3, 5)], {})],
    "sum_to_like": [([_a(2, 3, 4), _a(3, 1)], {})],
    "reshape_like": [([_a(12), _a(3, 4)], {})],
    "size": [([_a(3, 4)], {"dim": (0, 1), "dtype": np.dtype(np.int64)})],
    "index_grad": [([_a(2, 3), _a(5, 3)], {"index": (slice(1, 3),)})],
    "nll_loss_grad": [([_a(), _a(4, 3), LABELS], {"reduction": "mean"}),
                      ([_a(4), _a(4, 3), LABELS], {"reduction": "none"})],
    "cat_slice": [([_a(5, 3), _a(2, 3), _a(3, 3)], {"index": 1, "dim": 0})],
    "cat": [([_a(2, 3), _a(4, 3)], {"dim": 0}), ([_a(2, 3), _a(2, 1)], {"dim": 1})],
    "matmul": [([_a(2, 3), _a(3, 4)], {}), ([_a(3), _a(2, 3, 4)], {}), ([_a(2, 2, 3), _a(3)], {}),
               ([_a(3), _a(3)], {})],
    "nll_loss": [([_a(4, 3), LABELS], {"reduction": "mean"}),
                 ([_a(4, 3), LABELS], {"reduction": "none"})],
}


def _with_facts(field: str) -> list[str]:
    return [n for n, op in REGISTRY.items()
            if getattr(op, field) not in (None, (), False)]


def test_every_op_with_a_compiler_fact_has_an_example():
    for field in ("shape_only", "fill", "broadcasting", "equal_dims"):
        missing = set(_with_facts(field)) - set(EXAMPLES)
        assert not missing, f"add a call of {sorted(missing)} to EXAMPLES ({field})"


def _garbage(x: np.ndarray) -> np.ndarray:
    """Other values of ``x``'s shape and dtype."""
    if x.dtype == np.bool_:
        return ~x
    return np.full_like(x, np.nan) if x.dtype.kind == "f" else x + 7


@pytest.mark.parametrize("name", _with_facts("shape_only"))
def test_shape_only_inputs_are_read_for_their_shape_alone(name):
    op = REGISTRY[name]
    for ins, params in EXAMPLES[name]:
        want = eval_numpy(op, ins, params)
        other = list(ins)
        for p in op.shape_inputs(len(ins)):
            other[p] = _garbage(ins[p])
        got = eval_numpy(op, other, params)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", _with_facts("fill"))
def test_fills_produce_their_constant(name):
    op = REGISTRY[name]
    for ins, params in EXAMPLES[name]:
        out = eval_numpy(op, ins, params)
        ref = ins[op.shape_ref]
        assert out.shape == ref.shape and out.dtype == ref.dtype
        assert np.all(out == np.asarray(op.fill, ref.dtype)) and out.dtype == ref.dtype


@pytest.mark.parametrize("name", _with_facts("broadcasting"))
def test_broadcasting_ops_give_input_0_broadcast(name):
    op = REGISTRY[name]
    for ins, params in EXAMPLES[name]:
        out = eval_numpy(op, ins, params)
        x = ins[0]
        if op.shape_ref is not None:
            assert out.shape == np.broadcast_shapes(x.shape, ins[op.shape_ref].shape)
        assert out.dtype == x.dtype
        np.testing.assert_array_equal(out, np.broadcast_to(x, out.shape))


@pytest.mark.parametrize("name", _with_facts("equal_dims"))
def test_equal_dims_hold_on_valid_calls(name):
    op = REGISTRY[name]
    found = []
    for ins, params in EXAMPLES[name]:
        out = eval_numpy(op, ins, params)
        pairs = op.equal_dims(out.shape, *(np.shape(i) for i in ins), **params)
        assert all(a == b for a, b in pairs), (name, ins, pairs)
        found += pairs
    assert found, name


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
