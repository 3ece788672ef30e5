"""The compiler reads what it needs to know about an op from the op's record (docs/ops.md, "Op
facts"): an op it has never seen, registered with the right facts, is folded, fused and
simplified like its kin with no list of op names to edit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

import staticgraph as sg
from staticgraph.compiler import compile_plan
from staticgraph.ops.core import REGISTRY, Op, bind, register

from .helpers import assert_close, both

R = np.random.default_rng(11)


@contextmanager
def registered(op: Op) -> Iterator[Op]:
    """``op`` in the registry for the duration of a test only."""
    register(op)
    try:
        yield op
    finally:
        del REGISTRY[op.name]


def _twos_like() -> Op:
    return Op(name="test_twos_like", impl=lambda x: np.full(x.shape, 2, x.dtype),
              infer=lambda x: (x.shape, x.dtype), kind="creation", tf_name="TwosLike",
              shape_ref=0, shape_only=(0,), fill=2)


def _expand_like() -> Op:
    return Op(name="test_expand_like", impl=lambda x, ref: np.broadcast_to(x, ref.shape),
              infer=lambda x, ref: (ref.shape, x.dtype), nin=2, kind="shape",
              tf_name="ExpandLike", shape_ref=1, shape_only=(1,), broadcasting=True)


def test_a_new_fill_is_fused_folded_and_a_known_constant():
    with registered(_twos_like()) as twos:
        g = sg.Graph()
        with g.as_default():
            x = sg.placeholder(sg.float32, [None, 3], name="x")
            c = sg.placeholder(sg.float32, [2, 3], name="c")
            y = sg.exp(x) * bind(twos, x)  # symbolic shape: a constant inside the kernel
            z = c + bind(twos, c)  # static shape: folded
        feeds = {x: R.standard_normal((4, 3)).astype(np.float32),
                 c: R.standard_normal((2, 3)).astype(np.float32)}
        plan = compile_plan([y, z], [], feeds)
        assert [s.kind for s in plan.steps] == ["kernel", "kernel"], plan.steps
        assert "test_twos_like" not in [n.op for n in plan.steps[1].nodes]
        got, ref, _ = both(g, [y, z], feeds)
        for a, b in zip(got, ref, strict=True):
            assert_close(a, b)


def test_a_new_broadcast_is_an_index_pattern_and_an_identity_at_equal_shapes():
    with registered(_expand_like()) as expand:
        g = sg.Graph()
        with g.as_default():
            x = sg.placeholder(sg.float32, [None, 3], name="x")
            b = sg.placeholder(sg.float32, [3], name="b")
            y = sg.tanh(bind(expand, b, x)) + x  # a broadcast inside one kernel
            z = bind(expand, x, x) * 2.0  # expanding x to its own shape: x
        feeds = {x: R.standard_normal((4, 3)).astype(np.float32),
                 b: R.standard_normal(3).astype(np.float32)}
        plan = compile_plan([y, z], [], feeds)
        assert all(s.kind == "kernel" for s in plan.steps), plan.steps
        assert [n.op for n in plan.prog.nodes].count("test_expand_like") == 1
        got, ref, _ = both(g, [y, z], feeds)
        for a, b_ in zip(got, ref, strict=True):
            assert_close(a, b_)
