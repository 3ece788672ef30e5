"""Composite layers record one node of PyTorch's name over their inputs (``grad_fn`` chains as
in torch 2.13), with unchanged values and gradients (first and second order); ``F.pad``, the 3-d
and adaptive pools and ``return_indices`` against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as dt
import dynamic.nn.functional as DF

torch = pytest.importorskip("torch")
TF = torch.nn.functional
RNG = np.random.default_rng(0)


def chain(t, depth=3):
    def rec(fn, d):
        if fn is None or d == 0:
            return None
        return (fn.name(), [rec(f, d - 1) for f, _ in fn.next_functions])
    return rec(t.grad_fn, depth)


def arrays(*shapes):
    return [RNG.standard_normal(s) for s in shapes]


def run(lib, F, fn, data, grad_idx):
    ts = [lib.tensor(a, requires_grad=i in grad_idx) if a is not None else None
          for i, a in enumerate(data)]
    y = fn(lib, F, *ts)
    y = y[0] if isinstance(y, tuple) else y
    g = RNG.standard_normal(tuple(y.shape))
    y.backward(lib.tensor(g))
    return y, [ts[i].grad.numpy() for i in grad_idx]


CASES = {
    "conv2d": (lambda L, F, x, w, b: F.conv2d(x, w, b, padding=1), arrays((2, 3, 6, 6),
                                                                            (4, 3, 3, 3), (4,))),
    "conv2d_nobias": (lambda L, F, x, w: F.conv2d(x, w, stride=2), arrays((2, 3, 6, 6),
                                                                          (4, 3, 3, 3))),
    "conv2d_unbatched": (lambda L, F, x, w, b: F.conv2d(x, w, b), arrays((3, 6, 6), (4, 3, 3, 3),
                                                                         (4,))),
    "conv_transpose2d": (lambda L, F, x, w: F.conv_transpose2d(x, w, stride=2),
                         arrays((2, 3, 4, 4), (3, 2, 3, 3))),
    "conv1d": (lambda L, F, x, w, b: F.conv1d(x, w, b), arrays((2, 3, 9), (4, 3, 3), (4,))),
    "conv_reflect": (lambda L, F, x: L.nn.Conv2d(3, 2, 3, padding=1, padding_mode="reflect")(x),
                     arrays((2, 3, 5, 5))),
    "layer_norm": (lambda L, F, x, w, b: F.layer_norm(x, (5,), w, b), arrays((2, 3, 5), (5,),
                                                                             (5,))),
    "layer_norm_plain": (lambda L, F, x: F.layer_norm(x, (3, 5)), arrays((2, 3, 5))),
    "group_norm": (lambda L, F, x, w, b: F.group_norm(x, 3, w, b), arrays((2, 6, 4), (6,), (6,))),
    "batch_norm": (lambda L, F, x, w, b: F.batch_norm(x, L.zeros(3, dtype=L.float64),
                                                      L.ones(3, dtype=L.float64), w, b, True),
                   arrays((4, 3, 2, 2), (3,), (3,))),
    "batch_norm_eval": (lambda L, F, x, w, b: F.batch_norm(
        x, L.zeros(3, dtype=L.float64) + 0.5, L.ones(3, dtype=L.float64) * 2, w, b, False),
        arrays((4, 3, 2), (3,), (3,))),
    "instance_norm": (lambda L, F, x, w, b: F.instance_norm(x, weight=w, bias=b),
                      arrays((2, 3, 4, 4), (3,), (3,))),
    "instance_norm_module": (lambda L, F, x: L.nn.InstanceNorm1d(3)(x), arrays((3, 5))),
    "max_pool2d": (lambda L, F, x: F.max_pool2d(x, 2), arrays((2, 3, 6, 6))),
    "max_pool2d_unbatched": (lambda L, F, x: F.max_pool2d(x, 3, 2, 1), arrays((3, 7, 7))),
    "max_pool1d": (lambda L, F, x: F.max_pool1d(x, 2), arrays((2, 3, 8))),
    "max_pool3d": (lambda L, F, x: F.max_pool3d(x, 2, padding=1), arrays((2, 2, 4, 5, 3))),
    "avg_pool2d": (lambda L, F, x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                   arrays((2, 3, 7, 7))),
    "avg_pool1d": (lambda L, F, x: F.avg_pool1d(x, 3), arrays((2, 3, 9))),
    "avg_pool3d": (lambda L, F, x: F.avg_pool3d(x, 2, ceil_mode=True), arrays((1, 2, 5, 4, 3))),
    "adaptive_avg_pool2d": (lambda L, F, x: F.adaptive_avg_pool2d(x, (3, 2)), arrays((2, 3, 7, 5))),
    "adaptive_avg_pool1d": (lambda L, F, x: F.adaptive_avg_pool1d(x, 4), arrays((2, 3, 9))),
    "adaptive_max_pool2d": (lambda L, F, x: F.adaptive_max_pool2d(x, 3), arrays((2, 3, 7, 5))),
    "max_pool2d_indices": (lambda L, F, x: F.max_pool2d(x, 3, 2, 1, return_indices=True),
                           arrays((2, 3, 7, 6))),
    "pad_constant": (lambda L, F, x: F.pad(x, (1, 2, -1, 0), value=1.5), arrays((2, 3, 4))),
    "pad_reflect": (lambda L, F, x: F.pad(x, (2, 1, 1, 3), mode="reflect"), arrays((2, 3, 4, 5))),
    "pad_replicate": (lambda L, F, x: F.pad(x, (2, 1), mode="replicate"), arrays((2, 3, 4))),
    "pad_reflect3d": (lambda L, F, x: F.pad(x, (1, 1, 1, 0, 0, 2), mode="reflect"),
                      arrays((1, 2, 3, 4, 3))),
    "pad_circular": (lambda L, F, x: F.pad(x, (2, 1, 1, 1), mode="circular"),
                     arrays((2, 3, 4, 5))),
    "mse_loss": (lambda L, F, x, t: F.mse_loss(x, t), arrays((3, 4), (3, 4))),
    "nll_loss": (lambda L, F, x: F.nll_loss(F.log_softmax(x, 1), L.tensor([1, 0, 3])),
                 arrays((3, 4))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    fn, data = CASES[name]
    grad_idx = [i for i, a in enumerate(data) if a is not None]
    if name == "conv_reflect":  # the module's random init: copy torch's parameters
        m = torch.nn.Conv2d(3, 2, 3, padding=1, padding_mode="reflect")
        md = dt.nn.Conv2d(3, 2, 3, padding=1, padding_mode="reflect")
        md.weight.data = dt.tensor(m.weight.detach().numpy())
        md.bias.data = dt.tensor(m.bias.detach().numpy())
        a = data[0].astype(np.float32)
        xs = [torch.tensor(a, requires_grad=True), dt.tensor(a, requires_grad=True)]
        ys = [m(xs[0]), md(xs[1])]
        assert chain(ys[1]) == chain(ys[0])
        np.testing.assert_allclose(ys[1].detach().numpy(), ys[0].detach().numpy(), atol=1e-5)
        return
    torch.manual_seed(0)
    state = RNG.bit_generator.state
    yt, gt = run(torch, TF, fn, data, grad_idx)
    RNG.bit_generator.state = state
    dt.manual_seed(0)
    yd, gd = run(dt, DF, fn, data, grad_idx)
    assert chain(yd) == chain(yt)  # circular: PyTorch's chain of copies (CopySlices) too
    np.testing.assert_allclose(yd.detach().numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-10)
    for a, b in zip(gd, gt, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    if name.endswith("indices"):
        it = fn(torch, TF, torch.tensor(data[0]))[1]
        idd = fn(dt, DF, dt.tensor(data[0]))[1]
        assert idd.dtype == dt.int64
        np.testing.assert_array_equal(idd.numpy(), it.numpy())


@pytest.mark.parametrize("name", ["conv2d", "layer_norm", "group_norm", "batch_norm",
                                  "instance_norm", "avg_pool2d", "pad_reflect", "pad_circular"])
def test_second_order_matches_pytorch(name):
    """``create_graph`` through a composite node replays the layer: double backward as torch."""
    fn, data = CASES[name]
    res = []
    for lib, F in ((torch, TF), (dt, DF)):
        ts = [lib.tensor(a, requires_grad=True) for a in data]
        y = fn(lib, F, *ts)
        gs = lib.autograd.grad((y * y).sum(), ts, create_graph=True)
        total = sum((g * g).sum() for g in gs)
        total.backward()
        res.append([t.grad.numpy() for t in ts])
    for a, b in zip(res[1], res[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def test_second_backward_raises_and_retain_graph_works():
    x = dt.tensor(RNG.standard_normal((1, 2, 4, 4)), requires_grad=True)
    w = dt.tensor(RNG.standard_normal((2, 2, 3, 3)), requires_grad=True)
    y = DF.conv2d(x, w).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_inplace_change_of_saved_input_is_caught():
    x = dt.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    h = x * 1.0
    y = DF.layer_norm(h, (3,))
    h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


PAD_ERRORS = [((2, 3, 4, 5), (1, 2), "reflect", None), ((2, 3, 4, 5), (1, 2, 3), "constant", None),
              ((2, 3, 4, 5), (1,) * 10, "constant", None), ((2, 3, 4, 5), (9, 9, 1, 1), "reflect",
                                                            None),
              ((2, 3, 4, 5), (1, 1, 1, 1), "foo", None), ((4,), (1, 1), "reflect", None),
              ((2, 3, 4, 5), (9, 1, 1, 1), "circular", None),
              ((2, 3, 4, 5), (1, 1, 1, 1), "reflect", 2.0)]


@pytest.mark.parametrize("shape,pad,mode,value", PAD_ERRORS)
def test_pad_errors_match_pytorch(shape, pad, mode, value):
    a = np.zeros(shape)
    with pytest.raises(Exception) as et:
        TF.pad(torch.tensor(a), pad, mode=mode, value=value)
    with pytest.raises(type(et.value)) as ed:
        DF.pad(dt.tensor(a), pad, mode=mode, value=value)
    assert str(ed.value) == str(et.value)


def test_new_modules_match_functional():
    x = dt.tensor(RNG.standard_normal((1, 2, 4, 4, 4)))
    np.testing.assert_array_equal(dt.nn.MaxPool3d(2)(x).numpy(), DF.max_pool3d(x, 2).numpy())
    np.testing.assert_array_equal(dt.nn.AvgPool3d(2)(x).numpy(), DF.avg_pool3d(x, 2).numpy())
    x2 = dt.tensor(RNG.standard_normal((1, 2, 5, 5)))
    y, i = dt.nn.AdaptiveMaxPool2d(2, return_indices=True)(x2)
    yt, it = torch.nn.AdaptiveMaxPool2d(2, return_indices=True)(torch.tensor(x2.numpy()))
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    np.testing.assert_allclose(y.numpy(), yt.numpy())
    x1 = dt.tensor(RNG.standard_normal((2, 7)))
    np.testing.assert_allclose(dt.nn.AdaptiveAvgPool1d(3)(x1).numpy(),
                               torch.nn.AdaptiveAvgPool1d(3)(torch.tensor(x1.numpy())).numpy())


def test_max_unpool2d_matches_pytorch():
    a = RNG.standard_normal((2, 3, 6, 7))
    res = []
    for lib, F in ((torch, TF), (dt, DF)):
        x = lib.tensor(a, requires_grad=True)
        y, i = F.max_pool2d(x, 2, return_indices=True)
        yd = y.detach().requires_grad_()
        u = lib.nn.MaxUnpool2d(2)(yd, i, output_size=(6, 7))
        (u * lib.tensor(np.arange(u.numel()).reshape(u.shape) * 1.0)).sum().backward()
        res.append((chain(u), u.detach().numpy(), yd.grad.numpy()))
    assert res[1][0] == res[0][0]
    np.testing.assert_array_equal(res[1][1], res[0][1])
    np.testing.assert_array_equal(res[1][2], res[0][2])


@pytest.mark.parametrize("case", ["dims", "dtype", "shape", "size", "index"])
def test_max_unpool2d_errors_match_pytorch(case):
    errs = []
    for lib, F in ((torch, TF), (dt, DF)):
        y, i = F.max_pool2d(lib.tensor(RNG.standard_normal((1, 1, 5, 5))), 2,
                            return_indices=True)
        args = {"dims": (y[0, 0], i[0, 0], 2), "dtype": (y, i.float(), 2),
                "shape": (y, i[..., :1], 2), "size": (y, i, 2, None, 0, (9, 9)),
                "index": (y, i * 0 + 99, 2)}[case]
        with pytest.raises(Exception) as e:
            F.max_unpool2d(*args)
        errs.append((type(e.value), str(e.value)))
    assert errs[1] == errs[0]


@pytest.mark.parametrize("layer,raises", [("pad_constant", False), ("pad_reflect", True),
                                          ("conv_bias", False), ("conv_weight", True)])
def test_inplace_change_fails_only_where_pytorch_saves(layer, raises):
    """PyTorch's node saves some inputs (reflect pad: the input; conv: input and weight, not
    the bias; constant pad: nothing): changing a saved one in place fails the backward."""
    outcomes = []
    for lib, F in ((torch, TF), (dt, DF)):
        x = lib.tensor(RNG.standard_normal((1, 2, 4, 4)), requires_grad=True)
        w = lib.tensor(RNG.standard_normal((2, 2, 3, 3)), requires_grad=True)
        b = lib.tensor(RNG.standard_normal(2), requires_grad=True)
        h, wh, bh = x * 1.0, w * 1.0, b * 1.0
        if layer.startswith("pad"):
            y = F.pad(h, (1, 1, 1, 1), mode=layer[4:])
            h.add_(1.0)
        else:
            y = F.conv2d(h, wh, bh)
            (bh if layer == "conv_bias" else wh).add_(1.0)
        try:
            y.sum().backward()
            outcomes.append(None)
        except RuntimeError as e:
            outcomes.append(str(e).split(":")[0])
    assert outcomes[1] == outcomes[0]
    assert (outcomes[0] is not None) == raises


def _dependent_inputs_case(kind, plain):
    """A layer whose inputs depend on each other, differentiated twice (create_graph)."""
    from dynamic.autograd import composite

    rng = np.random.default_rng(3)
    if plain:  # the layers record their plain ops (no composite node): the reference
        composite.REPLAYING[0] += 1
    try:
        if kind == "layer_norm":
            x = dt.tensor(rng.standard_normal((3, 4)), requires_grad=True)
            y = DF.layer_norm(x, (4,), weight=x[0] * 2, bias=x[1] - 1)
            leaf = x
        elif kind == "conv2d":
            w = dt.tensor(rng.standard_normal((2, 1, 2, 2)), requires_grad=True)
            x = (w.sum() * dt.tensor(rng.standard_normal((1, 1, 4, 4))))
            y = DF.conv2d(x, w, bias=w.sum((1, 2, 3)))
            leaf = w
        else:
            x = dt.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
            y = DF.group_norm(x, 2, weight=x[0, :, 0], bias=x[1, :, 1] * 3)
            leaf = x
        (g,) = dt.autograd.grad((y * y.detach().cos()).sum(), leaf, create_graph=True)
        (h,) = dt.autograd.grad((g * g).sum(), leaf)
    finally:
        if plain:
            composite.REPLAYING[0] -= 1
    return g.detach().numpy(), h.numpy()


@pytest.mark.parametrize("kind", ["layer_norm", "conv2d", "group_norm"])
def test_create_graph_through_a_layer_whose_inputs_depend_on_each_other(kind):
    """The composite node's ``create_graph`` replay took the layer's gradient with respect to
    inputs that reach each other (``weight=x[0] * 2`` of ``x``'s own layer_norm), adding the
    path through the other input twice (found by the attention work: k and v from q)."""
    got, want = _dependent_inputs_case(kind, False), _dependent_inputs_case(kind, True)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-10)
