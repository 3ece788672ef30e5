"""The shared pipeline and executor base: one schedule for every backend, bounded plan and
instance caches, reduction identities shared by the renderers (bool included), and failed
compiled runs reported exactly as the reference executor reports them."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import ops
from staticgraph.compiler import executor_base
from staticgraph.compiler.cpu import executor as cpu_executor
from staticgraph.compiler.cpu.render import render_kernel
from staticgraph.compiler.cuda.render import render_kernel_cuda
from staticgraph.compiler.executor_base import LRU, REFERENCE
from staticgraph.compiler.kernel import init_value
from staticgraph.compiler.pipeline import compile_schedule
from staticgraph.graph.errors import FailedPreconditionError, InvalidArgumentError


def test_reduction_identities_are_one_rule_for_both_renderers():
    assert init_value("max", np.bool_) == "False" and init_value("min", np.bool_) == "True"
    assert init_value("sum", np.float32) == "np.float32(0.0)"
    assert init_value("max", np.float32) == "np.float32(-np.inf)"
    assert init_value("min", np.int8) == "np.int8(127)"


def _bool_any_all():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3], name="x")
        b = x > 0.0
        outs = [ops.amax(b, 1), ops.amin(b, 1), ops.amax(b, 0), ops.amin(b)]
    return g, x, outs


def test_bool_max_and_min_compile_on_the_cpu_and_match_the_reference():
    # the CPU renderer's identity used to raise for bool (np.iinfo), so these graphs ran on
    # the reference executor; the CUDA renderer had the right one
    g, x, outs = _bool_any_all()
    xv = np.array([[1, -1, 2], [-1, -2, -3], [1, 2, 3], [0, 0, 1]], np.float32)
    got = sg.Session(graph=g).run(outs, {x: xv})
    want = sg.Session(graph=g, executor="reference").run(outs, {x: xv})
    for a, b in zip(got, want, strict=True):
        assert a.dtype == b.dtype == np.bool_
        np.testing.assert_array_equal(a, b)
    s = sg.Session(graph=g)
    assert s._executor.plan_for(g, outs, [], {x: xv}) is not REFERENCE


def test_one_schedule_renders_for_both_backends():
    g, x, outs = _bool_any_all()
    sched = compile_schedule(outs, [], {x: np.ones((4, 3), np.float32)})
    kernels = [s.kernel for s in sched.steps if s.kind == "kernel"]
    assert kernels and any(r.dtype == np.bool_ for k in kernels for r in k.reductions)
    for k in kernels:  # the same Kernel renders on each side, with the same identities
        cpu, cuda = render_kernel(k, "kernel"), render_kernel_cuda(k, "kernel")
        for r in k.reductions:
            assert init_value(r.op, r.dtype) in cpu and init_value(r.op, r.dtype) in cuda
    assert [name for name, _, _ in sched.trace][:2] == ["lowered", "shape_specialization"]


def test_lru_keeps_the_most_recently_used():
    c = LRU(2)
    c["a"], c["b"] = 1, 2
    assert c.get("a") == 1  # a is now the most recent
    c["c"] = 3
    assert "b" not in c and c.get("a") == 1 and c.get("c") == 3 and len(c) == 2


def test_plans_instances_and_runner_calls_are_bounded(monkeypatch):
    monkeypatch.setattr(executor_base, "MAX_PLANS", 2)
    monkeypatch.setattr(executor_base, "MAX_INSTANCES", 3)
    monkeypatch.setattr(cpu_executor, "MAX_CALLS", 3)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        ys = [sg.exp(x) * float(k) for k in range(4)]
    s = sg.Session(graph=g)
    ex = s._executor
    for y_i, y in enumerate(ys):  # four fetch sets: four plans, two kept
        for n in range(2, 8):  # six batch sizes: three instances and calls kept per plan
            xv = np.linspace(-1, 1, n).astype(np.float32)
            np.testing.assert_allclose(s.run(y, {x: xv}), np.exp(xv) * y_i, rtol=1e-6)
    assert len(ex._plans) == 2
    assert all(len(p.instances) <= 3 for p in ex._plans.values())
    r = ex.prepare(g, [ys[-1]], [], [x])
    assert 1 <= len(r.calls) <= 3
    # an evicted shape binds again (no recompile: the plan is kept) and answers right
    before = ex.compiles
    np.testing.assert_allclose(s.run(ys[-1], {x: np.ones(2, np.float32)}),
                               np.full(2, np.e * 3, np.float32), rtol=1e-6)
    assert ex.compiles == before


def _errors(g, run) -> dict:
    out = {}
    for name in ("numba", "reference"):
        s = sg.Session(graph=g, executor=name)
        with pytest.raises(Exception) as info:
            run(s)
        out[name] = info.value
    return out


@pytest.mark.parametrize("case", ["label", "empty_max", "uninitialized"])
def test_failed_compiled_runs_name_the_node_and_line_as_the_reference(case):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3], name="x")
        t = sg.placeholder(sg.int64, [None], name="t")
        w = sg.Variable(np.ones((3, 3), np.float32), name="w")
        loss = ops.cross_entropy(x, t)
        m = sg.reduce_max(x * 2.0, axis=0)
        y = sg.matmul(x, w)
    if case == "label":
        errs = _errors(g, lambda s: s.run(loss, {x: np.ones((2, 3), np.float32),
                                                 t: np.array([0, 7])}))
        want = InvalidArgumentError
    elif case == "empty_max":
        errs = _errors(g, lambda s: s.run(m, {x: np.zeros((0, 3), np.float32)}))
        want = InvalidArgumentError
    else:
        errs = _errors(g, lambda s: s.run(y, {x: np.ones((2, 3), np.float32)}))
        want = FailedPreconditionError
    got, ref = errs["numba"], errs["reference"]
    assert type(got) is type(ref) and isinstance(got, want)
    assert got.op is ref.op and got.op is not None
    assert str(got) == str(ref) and "defined at" in str(got)  # the op, its node, the line
