"""Every differentiable registry op has a JVP rule (``Op.jvp``, ``ops/forward.py``), checked
against central finite differences in float64 on the numpy path (the rule code that also runs
on eager tensors and builds graph nodes), with a tangent on every float input and on each one
alone (the other inputs without a tangent)."""

from __future__ import annotations

import numpy as np
import pytest

from staticgraph import ops
from staticgraph.ops import REGISTRY, eval_numpy
from staticgraph.ops.forward import jvp_rule
from tests.ops.test_registry_vjp import CASES

R = np.random.default_rng(3)
# the VJP-only helpers the reverse walkers emit, with inputs and params
HELPERS = [
    ("reshape_like", [R.standard_normal((2, 3)), np.zeros((3, 2))], {}),
    ("broadcast_like", [R.standard_normal((3, 1)), np.zeros((2, 3, 4))], {}),
    ("sum_to_like", [R.standard_normal((2, 3, 4)), np.zeros((3, 1))], {}),
    ("index_grad", [R.standard_normal(3), np.zeros((4, 3))], {"index": (1,)}),
    ("cat_slice", [R.standard_normal((5, 3)), np.zeros((2, 3)), np.zeros((3, 3))],
     {"index": 1, "dim": 0}),
    ("nll_loss_grad", [np.asarray(1.5), np.zeros((4, 3)), np.array([0, 2, 1, 2])],
     {"reduction": "mean"}),
]
ALL = CASES + HELPERS


def _floats(args: list) -> list[int]:
    return [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]


def _shape_only(name: str, n: int) -> tuple:
    return REGISTRY[name].shape_inputs(n)


def _fd(op, args, params, tangents, eps=1e-6):
    pairs = list(zip(args, tangents, strict=True))
    plus = [np.asarray(a + eps * t) if t is not None else a for a, t in pairs]
    minus = [np.asarray(a - eps * t) if t is not None else a for a, t in pairs]
    return (eval_numpy(op, plus, params) - eval_numpy(op, minus, params)) / (2 * eps)


def _check(name, args, params, which):
    op = REGISTRY[name]
    out = eval_numpy(op, args, params)
    tangents = [np.asarray(R.standard_normal(np.shape(a))) if i in which else None
                for i, a in enumerate(args)]
    got = np.asarray(jvp_rule(op)(tuple(tangents), out, *args, **params))
    assert got.shape == out.shape and got.dtype == out.dtype, name
    want = _fd(op, args, params, tangents)
    if name in ("floor", "ceil", "round", "trunc", "sign"):
        want = np.zeros_like(out)  # piecewise constant: PyTorch's zero tangent
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{name} {which}")


@pytest.mark.parametrize("name,args,params", ALL, ids=[f"{c[0]}-{i}" for i, c in enumerate(ALL)])
def test_jvp_matches_finite_differences(name, args, params):
    inputs = [i for i in _floats(args) if i not in _shape_only(name, len(args))]
    _check(name, args, params, set(inputs))
    if len(inputs) > 1:
        for i in inputs:
            _check(name, args, params, {i})


def test_every_differentiable_op_has_a_tested_jvp():
    assert not [n for n, op in REGISTRY.items() if op.vjp is not None and op.jvp is None]
    tested = {c[0] for c in ALL}
    assert {n for n, op in REGISTRY.items() if op.jvp is not None} <= tested


def test_a_rule_builds_graph_nodes_too():
    """The same rule on graph tensors: a node whose value is the tangent."""
    import staticgraph as sg

    x0, t0 = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, -2.0])
    with sg.Graph().as_default():
        x, t = sg.constant(x0), sg.constant(t0)
        out = ops.tanh(x)
        tan = jvp_rule(REGISTRY["tanh"])((t,), out, x)
        with sg.Session(executor="reference") as s:
            np.testing.assert_allclose(s.run(tan), t0 * (1 - np.tanh(x0) ** 2))


def test_unknown_derivation_names_the_op():
    bad = ops.Op(name="fwd_probe", impl=np.negative, infer=lambda x: (x.shape, x.dtype),
                 vjp=lambda g, out, x: (g,), jvp="quadratic")
    with pytest.raises(ValueError, match="op 'fwd_probe': unknown jvp derivation 'quadratic'"):
        jvp_rule(bad)
