"""The shape_refs pass (shape-only references re-pointed to a leaf, forward values then dead) and
small integer powers as products: both fire, and values match the reference executor,
including NaN/Inf/-0 inputs."""

from __future__ import annotations

import numpy as np

import staticgraph as sg
from staticgraph.compiler import compile_plan

from .helpers import assert_close, both


def _ops(plan) -> list[str]:
    return [n.op for n in plan.prog.nodes]


def test_grad_of_grad_keeps_no_forward_work():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        (dx,) = sg.gradients(sg.reduce_sum(x ** 3), [x])
        (ddx,) = sg.gradients(sg.reduce_sum(dx), [x])
    feeds = {x: np.linspace(-2, 2, 9).astype(np.float32)}
    plan = compile_plan([ddx], [], feeds)
    counts = {name: n for name, n, _ in plan.trace}
    assert counts["shape_refs"] >= 1
    ops = _ops(plan)
    assert "pow" not in ops and "sum" not in ops, ops  # x**3 and both sums were shape-only
    got, ref, _ = both(g, [ddx], feeds)
    assert_close(got, ref)
    np.testing.assert_allclose(got[0], 6 * feeds[x], rtol=1e-6)


def test_integer_powers_become_products_with_numpy_semantics():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        ys = [x ** 3.0, x ** 4.0, x ** -1.0, x ** -2.0, x ** 0.5]
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -3.5, 2.0, 1e20]
    feeds = {x: np.array(special, np.float32)}
    plan = compile_plan(ys, [], feeds)
    assert _ops(plan).count("pow") == 1  # only x**0.5 (sqrt differs at -inf and -0)
    got, ref, _ = both(g, ys, feeds)
    with np.errstate(all="ignore"):  # the rewritten powers; x**0.5 stays a pow call
        for e, u, v in zip((3.0, 4.0, -1.0, -2.0), got[:4], ref[:4], strict=True):
            np.testing.assert_allclose(u, v, rtol=2e-7, err_msg=f"x**{e}")
            np.testing.assert_array_equal(np.signbit(u), np.signbit(v), err_msg=f"x**{e}")
            np.testing.assert_array_equal(np.isnan(u), np.isnan(v))
