"""Defects the differential fuzzer found (issue #9, ``tests/fuzz/regressions.json``), on every
executor: the numba tier, the native tier (``numba-native``) and the reference interpreter.

* ``conv-same-pad-wider-than-input``: SAME padding wider than the input (H=1, a 4-tap kernel)
  came out short (the pad block was a slice of the input), so conv2d/max_pool/avg_pool had no
  rows; values and gradients against a numpy oracle (itself checked against torch);
* ``row-fusion-two-nll-targets``: two ``nll_loss`` of one ``log_softmax`` fused into one row
  kernel that read one target and wrote one loss: the other loss was stale memory;
* ``max-pool-grad-ties``: max_pool's gradient was split among tied maxima (built on
  ``maximum``, whose gradient splits ties as PyTorch's ``maximum`` does); TF's and PyTorch's
  max pooling give it to the first maximum of the window (or the last NaN);
* a derived dim that is 1 at run time and broadcasts (``x[1:]`` of 2 rows plus 3 rows) raised
  where the reference executor and TF1 broadcast: those feed shapes run on the reference.
"""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import ops
from staticgraph.compiler.cpu.executor import NumbaExecutor
from staticgraph.compiler.cpu.plan import Plan, compile_plan
from staticgraph.compiler.executor_base import REFERENCE
from staticgraph.graph.errors import InvalidArgumentError
from tests.compiler.helpers import assert_close
from tests.conftest import executor_on_its_tier
from tests.static.conftest import _executors

R = np.random.default_rng(11)


@pytest.fixture(params=_executors())
def executor(request) -> str:
    return executor_on_its_tier(request)


# ------------------------------------------------------------------ SAME padding (numpy oracle)
def _same(size: int, k: int, s: int) -> tuple[int, int, int]:
    """TF's SAME rule: (pad before, pad after, output size)."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2, out


def _oracle(x, w, gy, op: str, stride: tuple):
    """Forward value and input (and filter) gradients of a SAME conv2d / max_pool / avg_pool
    for cotangent ``gy``, by explicit padding and a loop over output positions."""
    (kh, kw), (sh, sw) = w.shape[:2], stride
    th, bh, oh = _same(x.shape[1], kh, sh)
    tw, bw, ow = _same(x.shape[2], kw, sw)
    pad = ((0, 0), (th, bh), (tw, bw), (0, 0))
    xp = np.pad(x, pad, constant_values=-np.inf if op == "max" else 0.0)
    inside = np.pad(np.ones_like(x), pad)
    ys, gxp, gw = [], np.zeros_like(xp), np.zeros_like(w)
    for a in range(oh):
        for b in range(ow):
            win = (slice(None), slice(a * sh, a * sh + kh), slice(b * sw, b * sw + kw))
            patch, g = xp[win], gy[:, a, b]
            if op == "conv":
                ys.append(np.einsum("nijc,ijcd->nd", patch, w))
                gxp[win] += np.einsum("nd,ijcd->nijc", g, w)
                gw += np.einsum("nijc,nd->ijcd", patch, g)
            elif op == "max":
                m = patch.max(axis=(1, 2))
                ys.append(m)
                gxp[win] += (patch == m[:, None, None]) * g[:, None, None]
            else:
                count = inside[win].sum(axis=(1, 2))
                ys.append(patch.sum(axis=(1, 2)) / count)
                gxp[win] += (g / count)[:, None, None] * inside[win]
    y = np.stack(ys, 1).reshape(x.shape[0], oh, ow, -1)
    gx = gxp[:, th:th + x.shape[1], tw:tw + x.shape[2]]
    return y, gx, gw


# (input H, W, C), filter/window (kh, kw), strides: pads wider than the input in both dims
CASES = [((1, 1, 1), (4, 4), (1, 1)), ((2, 3, 2), (3, 5), (2, 1))]


def _pad_graph():
    g = sg.Graph()
    fetches, feeds, specs = [], [], []
    with g.as_default():
        for (h, w_, c), (kh, kw), (sh, sw) in CASES:
            x = sg.placeholder(sg.float64, [None, h, w_, c])
            f = sg.Variable(R.standard_normal((kh, kw, c, 2)))
            st = [1, sh, sw, 1]
            outs = {"conv": sg.nn.conv2d(x, f, st, "SAME"),
                    "max": sg.nn.max_pool(x, [1, kh, kw, 1], st, "SAME"),
                    "avg": sg.nn.avg_pool(x, [1, kh, kw, 1], st, "SAME")}
            for op, y in outs.items():
                gy = sg.placeholder(sg.float64, [None] + list(y.shape[1:]))
                grads = sg.gradients(sg.reduce_sum(y * gy), [x, f] if op == "conv" else [x])
                fetches.append([y] + grads)
                specs.append((op, x, f, gy, (sh, sw)))
            feeds.append(x)
        init = sg.global_variables_initializer()
    return g, init, fetches, specs


def test_same_padding_wider_than_the_input(executor):
    g, init, fetches, specs = _pad_graph()
    s = sg.Session(graph=g, executor=executor)
    s.run(init)
    for n in (2, 3):  # a second batch size rebinds the same plan
        fd, want = {}, []
        for op, x, f, gy, stride in specs:
            if x not in fd:
                fd[x] = R.standard_normal((n,) + tuple(x.shape[1:]))
            wv = s.run(f)
            oh, ow = (_same(fd[x].shape[d], wv.shape[d - 1], stride[d - 1])[2] for d in (1, 2))
            fd[gy] = R.standard_normal((n, oh, ow, wv.shape[3] if op == "conv" else
                                        fd[x].shape[3]))
            y, gx, gw = _oracle(fd[x], wv, fd[gy], op, stride)
            want.append([y, gx, gw] if op == "conv" else [y, gx])
        got = s.run(fetches, fd)
        for (op, *_), a, b in zip(specs, got, want, strict=True):
            assert a[0].shape == b[0].shape, (op, a[0].shape, b[0].shape)
            assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_the_padding_oracle_agrees_with_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for (h, w_, c), (kh, kw), (sh, sw) in CASES:
        x, f = R.standard_normal((2, h, w_, c)), R.standard_normal((kh, kw, c, 2))
        th, bh, oh = _same(h, kh, sh)
        tw, bw, ow = _same(w_, kw, sw)
        tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
        tf_ = torch.tensor(f.transpose(3, 2, 0, 1), requires_grad=True)
        for op in ("conv", "max", "avg"):
            fill = -float("inf") if op == "max" else 0.0
            xp = F.pad(tx, (tw, bw, th, bh), value=fill)
            if op == "conv":
                y = F.conv2d(xp, tf_, stride=(sh, sw))
            elif op == "max":
                y = F.max_pool2d(xp, (kh, kw), (sh, sw))
            else:  # TF divides by the window's part inside the input
                ones = F.pad(torch.ones_like(tx), (tw, bw, th, bh))
                y = F.avg_pool2d(xp, (kh, kw), (sh, sw)) / F.avg_pool2d(ones, (kh, kw), (sh, sw))
            gy = R.standard_normal(tuple(y.shape))
            gx, *gf = torch.autograd.grad((y * torch.tensor(gy)).sum(),
                                          [tx, tf_] if op == "conv" else [tx])
            want = _oracle(x, f, gy.transpose(0, 2, 3, 1), op, (sh, sw))
            np.testing.assert_allclose(want[0], y.detach().numpy().transpose(0, 2, 3, 1),
                                       rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(want[1], gx.numpy().transpose(0, 2, 3, 1), rtol=1e-10,
                                       atol=1e-12)
            if gf:
                np.testing.assert_allclose(want[2], gf[0].numpy().transpose(2, 3, 1, 0),
                                           rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ two nll_loss targets
def _two_targets():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, [None, 3], name="x")
        t1 = sg.placeholder(sg.int64, [None], name="t1")
        t2 = sg.placeholder(sg.int64, [None], name="t2")
        z = sg.placeholder(sg.float64, [None, 3], name="z")
        l1 = ops.cross_entropy(x, t1)  # the fuzzer's program: two means, two targets
        l2 = ops.cross_entropy(x, t2)
        l3 = ops.cross_entropy(x, t2, reduction="sum")  # same target, other reduction
        # a target computed after the log-probs: it cannot join their row kernel
        l4 = ops.nll_loss(ops.log_softmax(x, 1), sg.argmax(z * 2.0, 1), "sum")
        (gx,) = sg.gradients(l1 + 0.5 * l2 + 0.25 * l3, [x])
        (gx4,) = sg.gradients(l4, [x])
    return g, [x, t1, t2, z], [l1, l2, l3, l4, gx, gx4]


def test_each_nll_loss_gets_its_own_target(executor):
    g, (x, t1, t2, z), fetches = _two_targets()
    s = sg.Session(graph=g, executor=executor)
    ref = sg.Session(graph=g, executor="reference")
    for n in (4, 5):
        fd = {x: R.standard_normal((n, 3)), t1: R.integers(0, 3, n), t2: R.integers(0, 3, n),
              z: R.standard_normal((n, 3))}
        for part in ([0, 1, 2, 4], [3, 5]):  # separate plans (l4 alone compiles too)
            fetch = [fetches[i] for i in part]
            for _ in range(2):  # a second run reuses the buffers (no stale loss)
                assert_close(s.run(fetch, fd), ref.run(fetch, fd), rtol=1e-12, atol=1e-12)


def test_a_row_kernel_takes_one_nll_loss():
    g, (x, t1, t2, z), fetches = _two_targets()
    feeds = {x: np.zeros((4, 3)), t1: np.zeros(4, np.int64), t2: np.zeros(4, np.int64),
             z: np.zeros((4, 3))}
    plan = compile_plan(fetches[:4], [], feeds)
    rows = [s for s in plan.steps if s.kind == "row"]
    assert [s.describe() for s in rows] == ["row[log_softmax, nll_loss]"]
    assert rows[0].inputs == [plan.prog.feeds[0], plan.prog.feeds[1]]  # x and t1
    nll = [s for s in plan.steps if s.kind == "fallback" and s.nodes[0].op == "nll_loss"]
    assert len(nll) == 3  # l2, l3 and l4 read the log-probs the row kernel wrote


# ------------------------------------------------------------------ derived size-1 dims
def test_a_derived_size_one_dim_broadcasts_as_in_the_reference(executor):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, [None, 2], name="x")
        e = sg.placeholder(sg.float64, [None, 2], name="e")
        y = x[1:] + e
        grads = sg.gradients(sg.reduce_sum(y * y), [x, e])
    s = sg.Session(graph=g, executor=executor)
    for nx, ne in ((4, 3), (2, 3), (4, 3), (3, 2)):  # 2 rows: x[1:] has one row, broadcast
        fd = {x: R.standard_normal((nx, 2)), e: R.standard_normal((ne, 2))}
        xv, ev = fd[x], fd[e]
        yv = xv[1:] + ev
        gxv = np.zeros_like(xv)
        gxv[1:] = (2 * yv).sum(0) if nx == 2 else 2 * yv
        assert_close(s.run([y] + grads, fd), [yv, gxv, 2 * yv], rtol=1e-12, atol=1e-12)
    with pytest.raises(InvalidArgumentError):  # 4 rows and 3: no broadcast, an error
        s.run(y, {x: np.ones((5, 2)), e: np.ones((3, 2))})
    assert s.run(y, {x: np.ones((3, 2)), e: np.ones((2, 2))}).shape == (2, 2)
    if isinstance(s._executor, NumbaExecutor):  # only the size-1 shapes left the plan
        fd = {x: np.ones((2, 2)), e: np.ones((3, 2))}
        assert s._executor.plan_for(g, [y], [], fd) is REFERENCE
        fd = {x: np.ones((4, 2)), e: np.ones((3, 2))}
        assert isinstance(s._executor.plan_for(g, [y], [], fd), Plan)


# ------------------------------------------------------------------ max_pool at ties and NaN
def _pool_oracle(x: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 VALID max pooling with stride 1 (NHWC) and its gradient, by PyTorch's rule: each
    window's gradient goes to its first maximum in row-major order, or to its last NaN."""
    n, h, w, c = x.shape
    y = np.empty((n, h - 1, w - 1, c))
    dx = np.zeros_like(x)
    for b, i, j, k in np.ndindex(n, h - 1, w - 1, c):
        best = None
        for di, dj in np.ndindex(2, 2):
            v = x[b, i + di, j + dj, k]
            if best is None or v > x[best] or np.isnan(v):
                best = (b, i + di, j + dj, k)
        y[b, i, j, k] = x[best]
        dx[best] += g[b, i, j, k]
    return y, dx


def test_max_pool_gradient_goes_to_one_element_per_window(executor):
    x = np.array([[1, 3, 3, 0], [3, 2, 0, 3], [np.nan, 1, 1, 1], [1, np.nan, 2, 2]],
                 np.float64).reshape(1, 4, 4, 1)
    x = np.concatenate([x, x[:, ::-1]], 0)
    g = np.arange(1.0, 2 * 9 + 1).reshape(2, 3, 3, 1)
    want_y, want_dx = _pool_oracle(x, g)
    gr = sg.Graph()
    with gr.as_default():
        p = sg.placeholder(sg.float64, [None, 4, 4, 1])
        gy = sg.placeholder(sg.float64, [None, 3, 3, 1])
        y = sg.nn.max_pool(p, [1, 2, 2, 1], [1, 1, 1, 1], "VALID")
        dx = sg.gradients(y, [p], grad_ys=gy)[0]
    s = sg.Session(graph=gr, executor=executor)
    got_y, got_dx = s.run([y, dx], {p: x, gy: g})
    np.testing.assert_array_equal(got_y, want_y)
    np.testing.assert_array_equal(got_dx, want_dx)


def test_the_max_pool_oracle_agrees_with_torch():
    torch = pytest.importorskip("torch")
    x = R.integers(0, 3, (2, 4, 5, 3)).astype(np.float64)  # many ties
    x[0, 1, 1, 0] = np.nan
    g = R.standard_normal((2, 3, 4, 3))
    t = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    ty = torch.nn.functional.max_pool2d(t, 2, 1)
    ty.backward(torch.tensor(g.transpose(0, 3, 1, 2).copy()))
    want_y, want_dx = _pool_oracle(x, g)
    np.testing.assert_array_equal(ty.detach().numpy().transpose(0, 2, 3, 1), want_y)
    np.testing.assert_array_equal(t.grad.numpy().transpose(0, 2, 3, 1), want_dx)
