"""Graphs the CUDA executor tests run, each compared with the reference executor.

Run as ``python -m tests.compiler.cuda_scenarios [names]`` (with ``NUMBA_ENABLE_CUDASIM=1``
when there is no GPU): prints ``PASS <name>`` or ``FAIL <name>`` plus the traceback. The same
builders give the graphs whose kernels ``test_cuda_executor_ptx.py`` compiles to PTX.
"""

from __future__ import annotations

import sys
import traceback

import numpy as np

import staticgraph as sg
from staticgraph import ops
from staticgraph.compiler.executor_base import REFERENCE
from tests.compiler.helpers import assert_close, mlp


def seed():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        w = sg.Variable(np.array([2.0, -1.0, 0.5], np.float32), name="w")
        y = sg.tanh(x + w) * (w + 1.0)
        gx, gw = sg.gradients(y, [x, w])
        init = sg.global_variables_initializer()
    return g, init, [y, gx, gw], {x: np.array([1.0, 2.0, 3.0], np.float32)}, 2


def xor():
    rng = np.random.default_rng(0)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    Y = np.array([[0], [1], [1], [0]], np.float32)
    g = sg.Graph()
    with g.as_default():
        px = sg.placeholder(sg.float32, [None, 2], name="X")
        py = sg.placeholder(sg.float32, [None, 1], name="Y")
        W = sg.Variable(rng.normal(0, 0.5, (2, 1)).astype(np.float32), name="W")
        b = sg.Variable(np.zeros(1, np.float32), name="b")
        r = sg.matmul(px, W) + b - py
        loss = ops.mean(r * r)
        train = sg.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = sg.global_variables_initializer()
    return g, init, [loss, train], {px: X, py: Y}, 3


def mlp_step():
    g, x, y, loss, train, init, _ = mlp(D=5, H=6, C=3)
    rng = np.random.default_rng(1)
    feeds = {x: rng.standard_normal((4, 5)).astype(np.float32),
             y: np.array([0, 2, 1, 2], np.int64)}
    return g, init, [loss, train], feeds, 2


def chain():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        y = sg.sigmoid(sg.tanh(x) * 2.0) + sg.exp(x * -0.5)
        (gx,) = sg.gradients(y, [x])
        outs = [y, gx, sg.maximum(x, 0.0), x * 0.0, sg.nn.relu(x), sg.log(x), sg.sqrt(x),
                ops.amax(x), ops.amin(x), ops.sum(x)]
    xv = np.array([0.5, -2.0, 0.0, np.inf, -np.inf, np.nan, 100.0, -1.0], np.float32)
    return g, None, outs, {x: xv}, 1


def reductions():
    g = sg.Graph()
    with g.as_default():
        p = sg.placeholder(sg.float32, [None, 5], name="p")
        t = sg.placeholder(sg.float32, [None, 5], name="t")
        outs = [ops.mean(ops.square(p - t)), ops.amax(p * t, 0), ops.sum(p, 1),
                sg.nn.softmax(p), sg.nn.log_softmax(t)]
    rng = np.random.default_rng(2)
    return g, None, outs, {p: rng.standard_normal((6, 5)).astype(np.float32),
                           t: rng.standard_normal((6, 5)).astype(np.float32)}, 1


def edges():
    """Edge semantics shared with the registry (docs/ops.md): relu/sign at NaN, pow at +-0.5,
    max/min gradients at NaN, softmax-family rows holding +-inf or NaN (all-NaN rows)."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        r = sg.placeholder(sg.float32, [None, 3], name="r")
        t = sg.placeholder(sg.int64, [None], name="t")
        ys = [sg.nn.relu(x), ops.sign(x), ops.pow(x, -0.5), ops.pow(x, 0.5),
              ops.maximum(x, 1.0), ops.minimum(x, 1.0)]
        ce = ops.cross_entropy(r, t)
        outs = ys + sg.gradients(ys, [x]) + [sg.nn.softmax(r), sg.nn.log_softmax(r), ce] + \
            sg.gradients(ce, [r])
    xv = np.array([np.nan, -0.0, 0.0, 1.0, 4.0, -np.inf, np.inf, -2.0], np.float32)
    rv = np.array([[np.inf, 1, 2], [-np.inf, -np.inf, -np.inf], [np.nan, 0, 1], [3e38, 3e38, 1],
                   [1, 2, 3]], np.float32)
    return g, None, outs, {x: xv, r: rv, t: np.array([0, 1, 2, 1, 0])}, 1


def long_sums():
    """Sums long enough that a float32 running sum drifts (each simulated thread sums 12500
    values of 0.1, a row 16388): blocked, compensated accumulation matches numpy to 2e-5."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        r = sg.placeholder(sg.float32, [None, None], name="r")
        outs = [ops.sum(x), ops.mean(x * 3.0), sg.nn.softmax(r), ops.sum(r, 1)]
    rng = np.random.default_rng(3)
    xv = np.full(100000, 0.1, np.float32)
    rv = np.full((2, 16388), 0.1, np.float32) + rng.uniform(0, 1e-3, (2, 16388)).astype(np.float32)
    return g, None, outs, {x: xv, r: rv}, 1


def precision():
    """log1p/expm1/softplus at tiny, denormal, huge and non-finite inputs (``f(x) / x`` makes
    the tiny results comparable at the relative tolerance), their gradients, and prod/cumprod
    of rows holding zeros, inf and NaN (numpy fallback steps on the host) with gradients."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        r = sg.placeholder(sg.float32, [None, 3], name="r")
        ys = [sg.log1p(x), sg.expm1(x), sg.nn.softplus(x), sg.nn.softplus(-sg.abs(x) * 1e3)]
        rs = [ops.prod(r, 1), ops.cumprod(r, 1), sg.cumprod(r, 1, exclusive=True, reverse=True)]
        outs = ys + [ys[0] / x, ys[1] / x] + sg.gradients(ys, [x]) + rs + sg.gradients(rs, [r])
    xv = np.array([1e-10, -1e-10, 1e-30, 1e-40, 0.0, -1.0, -2.0, 0.5, 100.0, -100.0, np.inf,
                   -np.inf, np.nan, 3e38], np.float32)
    rv = np.array([[1, 2, 3], [0, 2, 3], [2, 0, 0], [np.inf, 1, 2], [np.nan, 0, 1],
                   [0, np.inf, 2]], np.float32)
    return g, None, outs, {x: xv, r: rv}, 1


def two_targets():
    """Two cross-entropies of one logits matrix with different targets (and their gradient):
    one row kernel per ``nll_loss`` (fuzzer tag ``row-fusion-two-nll-targets``)."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3], name="x")
        t1 = sg.placeholder(sg.int64, [None], name="t1")
        t2 = sg.placeholder(sg.int64, [None], name="t2")
        l1, l2 = ops.cross_entropy(x, t1), ops.cross_entropy(x, t2, reduction="sum")
        (gx,) = sg.gradients(l1 + 0.5 * l2, [x])
    rng = np.random.default_rng(4)
    return g, None, [l1, l2, gx], {x: rng.standard_normal((5, 3)).astype(np.float32),
                                   t1: np.array([0, 1, 2, 0, 1]),
                                   t2: np.array([2, 2, 1, 0, 0])}, 2


def unit_dim():
    """``x[1:]`` has one row at run time and broadcasts against three: those feed shapes run
    on the reference executor (the plan assumed equal rows)."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 2], name="x")
        e = sg.placeholder(sg.float32, [None, 2], name="e")
        y = x[1:] + e
    return g, None, [y], {x: np.ones((2, 2), np.float32),
                          e: np.arange(6, dtype=np.float32).reshape(3, 2)}, 1


def rounding():
    """The registry's rounding ops (half to even, signed zeros, +-inf, NaN), ``//`` and ``%``
    of floats and integers (Python's floor semantics), erf, and floormod's gradient."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        y = sg.placeholder(sg.float32, [None], name="y")
        i = sg.placeholder(sg.int32, [None], name="i")
        j = sg.placeholder(sg.int32, [None], name="j")
        m = sg.floormod(x, y)
        outs = [sg.floor(x), sg.ceil(x), sg.round(x), ops.trunc(x), x // y, m, i // j, i % j,
                ops.erf(x), ops.floor(x * 3.0) + x] + sg.gradients(m * x, [x, y])
    xv = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.4, -0.0, 1e10, np.inf, -np.inf, np.nan],
                  np.float32)
    yv = np.array([2.0, -2.0, 1.5, -1.5, 0.1, 0.3, 3.0, 2.0, 3.0, 2.0, 2.0, 1.0], np.float32)
    return g, None, outs, {x: xv, y: yv, i: np.array([7, -7, 6, -6, 0, 13], np.int32),
                           j: np.array([2, 2, -4, -4, 3, -5], np.int32)}, 1


def loop():
    """A ``tf.while_loop`` whose trip count is fed, its gradient loop and an SGD step: host loops
    over device-compiled stages and step graphs (``compiler/regions.py``), as on the CPU."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        n = sg.placeholder(sg.int32, [], name="n")
        w = sg.Variable(0.5, name="w")
        z = x * 2.0
        _, h = sg.while_loop(lambda i, h: i < n, lambda i, h: (i + 1, sg.tanh(h * w + 1.0)),
                             [0, sg.tanh(z)])
        loss = sg.reduce_sum(h * h) + sg.reduce_sum(z)
        train = sg.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = sg.global_variables_initializer()
    return g, init, [loss, train, h], {x: np.array([0.5, -1.0, 0.25], np.float32),
                                       n: np.array(3, np.int32)}, 2


SCENARIOS = {"seed": seed, "xor": xor, "mlp": mlp_step, "chain": chain,
             "reductions": reductions, "edges": edges, "long_sums": long_sums,
             "precision": precision, "two_targets": two_targets, "unit_dim": unit_dim,
             "rounding": rounding}


LOOP_SCENARIOS = {"loop": loop}
"""Graphs with host ops: not one plan (the PTX test compiles each of SCENARIOS as one)."""
ALL_SCENARIOS = {**SCENARIOS, **LOOP_SCENARIOS}


def check(name: str) -> None:
    g, init, fetches, feeds, steps = ALL_SCENARIOS[name]()
    got = {}
    for ex in ("cuda", "reference"):
        s = sg.Session(graph=g, executor=ex)
        if init is not None:
            s.run(init)
        res = [s.run(fetches, feeds) for _ in range(steps)]
        var_values = [s.run(v) for v in g.get_collection("variables")] if init else []
        got[ex] = (res, var_values)
        got[ex + "_session"] = s
    a, b = got["cuda"], got["reference"]
    for ra, rb in zip(a[0], b[0], strict=True):
        for u, v in zip(ra, rb, strict=True):
            if u is None:
                assert v is None
                continue
            u, v = np.asarray(u), np.asarray(v)
            assert u.dtype == v.dtype, (u.dtype, v.dtype)
            np.testing.assert_allclose(u, v, rtol=2e-5, atol=1e-6, equal_nan=True)
    assert_close(a[1], b[1], rtol=2e-5, atol=1e-6)
    ex = got["cuda_session"]._executor
    assert ex.compiles >= 1 and all(p is not REFERENCE for p in ex._plans.values()), \
        "the CUDA executor fell back to the reference executor"
    assert all(getattr(r, "steps", ()) is not None for r in ex._runners.values()), \
        "a region ran on the reference executor"
    if init is not None:  # the variables trained stay on the device: the cached device copy
        st = got["cuda_session"]._state._values  # mirrors the very array the session holds
        assert ex._devvars and all(st[v] is h for v, (h, _) in ex._devvars.items())


def main(names: list[str]) -> int:
    from staticgraph.compiler.cuda.executor import register

    if not register():
        print("SKIP numba.cuda unusable")
        return 0
    bad = 0
    for name in names or list(ALL_SCENARIOS):
        try:
            check(name)
            print(f"PASS {name}", flush=True)
        except Exception:
            bad += 1
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
