"""A whole training step's first call under ``dynamic.compile`` (issue #14): ``backward()``
gives the leaves pending ``.grad`` values and ``SGD``/``Adam.step`` pending parameter writes,
so the first call computes nothing eagerly; its loss, ``.grad``, parameters, version counters
and optimizer state come from the plan's first run and equal eager's (and PyTorch's). Anything
that reads a pending value computes every pending value eagerly, in order, first."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch

_RNG = np.random.default_rng(3)
_X = _RNG.normal(size=(8, 4)).astype(np.float32)
_Y = _RNG.normal(size=(8, 2)).astype(np.float32)
_W = _RNG.normal(0, 0.5, (4, 2)).astype(np.float32)
_B = _RNG.normal(0, 0.5, (2,)).astype(np.float32)



def _model(opt: str, **kw):
    w = torch.tensor(_W.copy(), requires_grad=True)
    b = torch.tensor(_B.copy(), requires_grad=True)
    if opt == "sgd":
        o = torch.optim.SGD([w, b], lr=0.1, **kw)
    else:
        o = torch.optim.Adam([w, b], lr=0.05, **kw)
    return w, b, o


def _loss(x, y, w, b):
    return ((torch.tanh(x @ w + b) - y) ** 2).mean()


def _step_fn(w, b, opt, set_to_none=True):
    def step(x, y):
        opt.zero_grad(set_to_none=set_to_none)
        loss = _loss(x, y, w, b)
        loss.backward()
        opt.step()
        return loss
    return step


def _state(opt, params):
    return [{k: np.asarray(v).copy() for k, v in opt.state.get(p, {}).items()} for p in params]


def _check_same(got, want, tol=1e-6, grad_versions=True):
    (lg, pg, og), (lw, pw, ow) = got, want
    np.testing.assert_allclose(lg.item(), lw.item(), rtol=1e-5)
    for p, q in zip(pg, pw, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=tol)
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=tol)
            assert p.grad._version == q.grad._version or not grad_versions
            assert not p.grad.requires_grad and p.grad.grad_fn is None
        assert p._version == q._version
    for sg, sw in zip(_state(og, pg), _state(ow, pw), strict=True):
        assert sorted(sg) == sorted(sw)
        for k in sg:
            np.testing.assert_allclose(sg[k], sw[k], rtol=1e-5, atol=tol)


CASES = [("sgd", {}, True), ("sgd", {"momentum": 0.9}, True),
         ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, False),
         ("adam", {}, True), ("adam", {"amsgrad": True, "weight_decay": 0.01}, False)]


@pytest.mark.parametrize("opt,kw,set_to_none", CASES)
def test_first_call_of_a_training_step_is_deferred_and_matches_eager(flushes, opt, kw,
                                                                     set_to_none):
    x, y = torch.tensor(_X), torch.tensor(_Y)
    w1, b1, o1 = _model(opt, **kw)
    w2, b2, o2 = _model(opt, **kw)
    compiled = torch.compile(_step_fn(w1, b1, o1, set_to_none))
    eager = _step_fn(w2, b2, o2, set_to_none)
    _check_same((compiled(x, y), [w1, b1], o1), (eager(x, y), [w2, b2], o2))
    assert flushes == []  # the first call computed nothing eagerly: all from the plan
    for _ in range(3):  # later calls (a recapture where the optimizer state appeared)
        _check_same((compiled(x, y), [w1, b1], o1), (eager(x, y), [w2, b2], o2))
    assert compiled.break_reasons == []


@pytest.mark.parametrize("opt,kw,set_to_none", CASES[1:4])
def test_first_call_of_a_training_step_matches_torch(opt, kw, set_to_none):
    torch_ = pytest.importorskip("torch")
    x, y = torch.tensor(_X), torch.tensor(_Y)
    w, b, o = _model(opt, **kw)
    compiled = torch.compile(_step_fn(w, b, o, set_to_none))
    tw = torch_.tensor(_W.copy(), requires_grad=True)
    tb = torch_.tensor(_B.copy(), requires_grad=True)
    tcls = torch_.optim.SGD if opt == "sgd" else torch_.optim.Adam
    to = tcls([tw, tb], lr=0.1 if opt == "sgd" else 0.05, **kw)
    tx, ty = torch_.from_numpy(_X), torch_.from_numpy(_Y)
    for _ in range(3):
        loss = compiled(x, y)
        to.zero_grad(set_to_none=set_to_none)
        tl = ((torch_.tanh(tx @ tw + tb) - ty) ** 2).mean()
        tl.backward()
        to.step()
        np.testing.assert_allclose(loss.item(), tl.item(), rtol=1e-5)
        for p, q in ((w, tw), (b, tb)):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5,
                                       atol=1e-6)
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_a_cross_entropy_step_with_class_labels_is_deferred(flushes):
    """Integer class labels (an input) feed a deferred ``cross_entropy``; a label out of range
    raises eager's error at eager's moment (nothing deferred past it)."""
    x = torch.tensor(_X)
    labels = torch.tensor(np.array([0, 1, 1, 0, 1, 0, 0, 1]))

    def make():
        w, b, o = _model("sgd", momentum=0.9)

        def step(x, t):
            o.zero_grad()
            loss = torch.nn.functional.cross_entropy(x @ w + b, t)
            loss.backward()
            o.step()
            return loss
        return w, b, o, step

    w1, b1, o1, s1 = make()
    w2, b2, o2, s2 = make()
    compiled = torch.compile(s1)
    _check_same((compiled(x, labels), [w1, b1], o1), (s2(x, labels), [w2, b2], o2))
    assert flushes == [] and compiled.break_reasons == []
    seen = []

    @torch.compile
    def bad(x, t):
        loss = torch.nn.functional.cross_entropy(x @ w1 + b1, t)
        seen.append(1)
        return loss

    with pytest.raises(IndexError, match="out of bounds"):
        bad(x, torch.tensor(np.array([0, 1, 2, 0, 1, 0, 0, 1])))
    assert seen == []  # raised at the op, as eager


def test_two_accumulating_backwards_are_deferred(flushes):
    """Two forwards and two ``backward()``s in one call: the second adds into the pending
    ``.grad`` of the first (``.grad`` is one tensor, version 1, as eager's in-place add)."""
    x, y = torch.tensor(_X), torch.tensor(_Y)

    def make():
        w, b, o = _model("sgd", momentum=0.5)

        def step(x, y):
            o.zero_grad()
            _loss(x, y, w, b).backward()
            loss2 = _loss(x * 0.5, y, w, b)
            loss2.backward()
            o.step()
            return loss2
        return w, b, o, step

    w1, b1, o1, s1 = make()
    w2, b2, o2, s2 = make()
    compiled = torch.compile(s1)
    # (a replay sets a new .grad, version 0, where eager's second backward added into it in
    # place, version 1: every replay does, the first call now too; values agree)
    _check_same((compiled(x, y), [w1, b1], o1), (s2(x, y), [w2, b2], o2), grad_versions=False)
    assert flushes == []
    for _ in range(2):
        np.testing.assert_allclose(compiled(x, y).item(), s2(x, y).item(), rtol=1e-5)
    np.testing.assert_allclose(w1.grad.numpy(), w2.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_accumulating_into_a_grad_from_before_the_call(flushes):
    """No ``zero_grad`` in the function: the first call's backward adds into the ``.grad`` the
    leaves have (a pending in-place write), as eager does, version counter included."""
    x, y = torch.tensor(_X), torch.tensor(_Y)
    ws = []
    for _ in range(2):
        w, b, _o = _model("sgd")
        _loss(x, y, w, b).backward()  # .grad exists before the first compiled call
        ws.append((w, b))
    (w1, b1), (w2, b2) = ws
    held = w1.grad

    def step(w, b):
        def f(x, y):
            loss = _loss(x, y, w, b)
            loss.backward()
            return loss
        return f

    compiled, eager = torch.compile(step(w1, b1)), step(w2, b2)
    np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-5)
    assert flushes == []
    for p, q in ((w1, w2), (b1, b2)):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)
        assert p.grad._version == q.grad._version == 1
    assert w1.grad is held  # added into in place, as eager does


def _reads(kind: str):
    """A training step that reads a pending value in one way (``kind``)."""
    w, b, o = _model("sgd", momentum=0.9)
    seen = {}

    def step(x, y):
        o.zero_grad()
        loss = _loss(x, y, w, b)
        loss.backward()
        if kind == "grad_numpy":
            seen["g"] = w.grad.numpy().copy()
        elif kind == "loss_item":
            seen["l"] = loss.item()
        o.step()
        if kind == "param_after_step":
            seen["w"] = w.detach().numpy().copy()
        elif kind == "param_op_after_step":
            return loss, torch.sum(w * 2.0)
        elif kind == "branch":
            if w.sum() > -1e9:  # data-dependent control flow on an updated parameter
                seen["branch"] = True
        elif kind == "escape":
            seen["grad"] = w.grad
        elif kind == "state":
            seen["buf"] = o.state[w]["momentum_buffer"].copy()
        return loss
    return w, b, o, step, seen


@pytest.mark.parametrize("kind", ["grad_numpy", "loss_item", "param_after_step", "branch",
                                  "escape", "param_op_after_step", "state"])
def test_every_read_of_a_pending_value_is_eager_on_the_first_call(flushes, kind):
    x, y = torch.tensor(_X), torch.tensor(_Y)
    w1, b1, o1, s1, seen1 = _reads(kind)
    w2, b2, o2, s2, seen2 = _reads(kind)
    compiled = torch.compile(s1)
    got, want = compiled(x, y), s2(x, y)
    if kind == "param_op_after_step":  # a deferred op on the written parameter: no read
        assert flushes == []
        np.testing.assert_allclose(got[1].item(), want[1].item(), rtol=1e-5)
        got, want = got[0], want[0]
    else:
        assert flushes != []  # the value was needed: every pending value computed eagerly
    _check_same((got, [w1, b1], o1), (want, [w2, b2], o2))
    for k in seen2:
        if k == "grad":
            assert seen1[k] is w1.grad  # the object eager's backward made, held and kept
        else:
            np.testing.assert_allclose(seen1[k], seen2[k], rtol=1e-5, atol=1e-6)
    for _ in range(2):  # later calls agree too (a plan or eager)
        got, want = compiled(x, y), s2(x, y)
        if kind == "param_op_after_step":
            got, want = got[0], want[0]
        _check_same((got, [w1, b1], o1), (want, [w2, b2], o2))


def test_a_hook_on_a_parameter_runs_the_first_call_eagerly(flushes):
    x, y = torch.tensor(_X), torch.tensor(_Y)
    calls = []
    w1, b1, o1 = _model("sgd")
    w2, b2, o2 = _model("sgd")
    w1.register_hook(lambda g: calls.append(1))
    w2.register_hook(lambda g: None)
    compiled = torch.compile(_step_fn(w1, b1, o1))
    _check_same((compiled(x, y), [w1, b1], o1), (_step_fn(w2, b2, o2)(x, y), [w2, b2], o2))
    assert calls == [1] and flushes != []  # the hook ran, on eager values
    assert compiled.break_reasons  # and the call stays eager (a hook the graph cannot run)


def test_a_second_backward_through_a_freed_graph_raises_as_eager():
    x, y = torch.tensor(_X), torch.tensor(_Y)
    w, b, _o = _model("sgd")

    @torch.compile
    def twice(x, y):
        loss = _loss(x, y, w, b)
        loss.backward()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        twice(x, y)


def test_backward_with_a_pending_cotangent_matches_eager():
    """``backward(gradient)`` with a gradient computed in the function (its shape is checked
    against the output's: the values are computed eagerly, then the step is modelled)."""
    x = torch.tensor(_X)

    def make():
        w, b, o = _model("sgd")

        def step(x):
            o.zero_grad()
            out = torch.tanh(x @ w + b)
            out.backward(out * 0.5)
            o.step()
            return out.sum()
        return w, b, o, step

    w1, b1, o1, s1 = make()
    w2, b2, o2, s2 = make()
    compiled = torch.compile(s1)
    for _ in range(3):
        _check_same((compiled(x), [w1, b1], o1), (s2(x), [w2, b2], o2))


def test_an_nn_module_step_is_deferred(flushes):
    """``nn.Linear`` (its node renamed ``AddmmBackward0`` on a pending result) and
    ``Parameter``s (a pending write keeps their class once the call is over)."""
    x, y = torch.tensor(_X), torch.tensor(_Y)

    def make():
        torch.manual_seed(0)
        m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
        o = torch.optim.Adam(m.parameters(), lr=0.01)

        def step(x, y):
            o.zero_grad()
            loss = torch.nn.functional.mse_loss(m(x), y)
            loss.backward()
            o.step()
            return loss
        return m, o, step

    m1, o1, s1 = make()
    m2, o2, s2 = make()
    compiled = torch.compile(s1)
    _check_same((compiled(x, y), list(m1.parameters()), o1),
                (s2(x, y), list(m2.parameters()), o2))
    assert flushes == []
    assert all(type(p) is torch.nn.Parameter for p in m1.parameters())
    out = m1(x)  # eager again, after the call: named as eager names it
    assert type(out.grad_fn).__name__ == "AddmmBackward0"


@pytest.mark.parametrize("use", ["read", "graph"])
def test_a_view_of_a_parameter_sees_the_pending_step(flushes, use):
    """A view taken before the step shares the parameter's storage: reading it after the step
    (or using it in an op) sees the updated values, as eager does."""
    x, y = torch.tensor(_X), torch.tensor(_Y)

    def make():
        w, b, o = _model("sgd")
        seen = {}

        def step(x, y):
            o.zero_grad()
            wt = w.t()
            loss = _loss(x, y, w, b)
            loss.backward()
            o.step()
            if use == "read":
                seen["wt"] = wt.detach().numpy().copy()
                return loss
            return loss, (wt * 1.0).sum()
        return w, b, o, step, seen

    w1, b1, o1, s1, seen1 = make()
    w2, b2, o2, s2, seen2 = make()
    compiled = torch.compile(s1)
    for _ in range(2):
        got, want = compiled(x, y), s2(x, y)
        if use == "graph":
            np.testing.assert_allclose(got[1].item(), want[1].item(), rtol=1e-5)
            got, want = got[0], want[0]
        else:
            np.testing.assert_allclose(seen1["wt"], seen2["wt"], rtol=1e-6)
        _check_same((got, [w1, b1], o1), (want, [w2, b2], o2))
    assert flushes != []


def test_two_backwards_adding_into_a_grad_from_before_the_call(flushes):
    """Both deferred ``backward()``s add into the real ``.grad`` the leaves had (one pending
    write, two version bumps), and a read afterwards sees eager's values."""
    x, y = torch.tensor(_X), torch.tensor(_Y)
    ws = []
    for _ in range(2):
        w, b, _o = _model("sgd")
        _loss(x, y, w, b).backward()
        ws.append((w, b))
    (w1, b1), (w2, b2) = ws

    def step(w, b):
        def f(x, y):
            _loss(x, y, w, b).backward()
            _loss(x * 0.5, y, w, b).backward()
            return w.grad * 1.0
        return f

    compiled, eager = torch.compile(step(w1, b1)), step(w2, b2)
    np.testing.assert_allclose(compiled(x, y).numpy(), eager(x, y).numpy(), rtol=1e-5)
    assert flushes == []
    for p, q in ((w1, w2), (b1, b2)):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)
        assert p.grad._version == q.grad._version == 2 and type(p.grad) is torch.Tensor
