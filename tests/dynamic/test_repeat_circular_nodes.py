"""``Tensor.repeat`` records ONE ``RepeatBackward0`` node over its input, and circular ``F.pad``
records PyTorch's own chain of ``CopySlices`` / ``SliceBackward0`` nodes: graphs, values, first
and second derivatives as PyTorch 2.13's (recorded here; compared live where it is installed)."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
import dynamic.nn.functional as DF


def _graph(fn, depth=12):
    if fn is None or depth == 0:
        return None
    return (type(fn).__name__, [_graph(c, depth - 1) for c, _ in fn.next_functions])


def _grads(lib, make, shape):
    """``make(x)``, first and second derivatives of a weighted square sum of it."""
    x = lib.tensor(np.arange(float(np.prod(shape))).reshape(shape) / 7 - 1, requires_grad=True)
    y = make(x)
    w = lib.tensor(np.arange(float(y.numel())).reshape(tuple(y.shape)))
    g, = lib.autograd.grad((y * y * w).sum(), x, create_graph=True)
    gg, = lib.autograd.grad((g * g).sum(), x)
    return y, g.detach().numpy(), gg.numpy()


REPEATS = [(2, 1), (2, 1, 1), (1, 3), (3, 2, 2), (1, 1)]


@pytest.mark.parametrize("reps", REPEATS)
def test_repeat_is_one_node_over_the_input(reps):
    y, g, gg = _grads(dynamic, lambda x: x.repeat(*reps), (2, 3))
    assert _graph(y.grad_fn) == ("RepeatBackward0", [("AccumulateGrad", [])])
    x0 = np.arange(6.0).reshape(2, 3) / 7 - 1
    tiled = np.tile(x0, reps)
    np.testing.assert_array_equal(y.detach().numpy(), tiled)
    w = np.arange(float(tiled.size)).reshape(tiled.shape)
    # d/dx sum(w * tile(x)^2) = sum over the copies of 2 * w * tile(x)
    lead = len(reps) - 2
    per_copy = (2 * w * tiled).reshape(reps[:lead] + (reps[lead], 2, reps[lead + 1], 3))
    expect = per_copy.sum(axis=tuple(range(lead)) + (lead, lead + 2))
    np.testing.assert_allclose(g, expect, rtol=1e-12)


def test_repeat_saves_no_input_and_keeps_the_plain_path():
    x = dynamic.ones(2, 2, requires_grad=True)
    b = x * 1
    y = b.repeat(2, 1)
    b.mul_(2)  # PyTorch's RepeatBackward0 saves only sizes: no version error
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 2.0))
    with dynamic.no_grad():
        assert x.repeat(2, 1).grad_fn is None
    s = dynamic.tensor(3.0, requires_grad=True)
    s.repeat(2, 2).sum().backward()
    assert s.grad.item() == 4.0
    with pytest.raises(RuntimeError, match="^Number of dimensions of repeat dims can not be "
                                           "smaller than number of dimensions of tensor$"):
        x.repeat(2)


PADS = [((1, 2, 5), (2, 1)), ((1, 2, 4, 5), (2, 1, 1, 1)), ((2, 5), (1, 2)),
        ((1, 1, 4, 4), (-1, 2, 0, 1)), ((1, 1, 2, 3, 4), (1, 1, 2, 0, 1, 2)), ((1, 2, 3), (0, 0))]


def test_circular_pad_chain_and_values():
    y, g, _ = _grads(dynamic, lambda x: DF.pad(x * 1, (2, 1), mode="circular"), (1, 2, 5))
    # torch 2.13's graph: the input copied in (CopySlices over Slice over x), then the left
    # border copied from the right end, then the right border from the left end
    inner = ("CopySlices", [None, ("SliceBackward0", [("MulBackward0", [("AccumulateGrad", []),
                                                                         None])])])
    left = ("CopySlices", [inner, ("SliceBackward0", [inner])])
    assert _graph(y.grad_fn) == ("CopySlices", [left, ("SliceBackward0", [left])])
    x0 = np.arange(10.0).reshape(1, 2, 5) / 7 - 1
    np.testing.assert_allclose(y.detach().numpy(), np.pad(x0, ((0, 0), (0, 0), (2, 1)), "wrap"))
    w = np.arange(16.0).reshape(1, 2, 8)
    dy = 2 * w * y.detach().numpy()
    expect = dy[..., 2:7].copy()
    expect[..., 3:5] += dy[..., 0:2]
    expect[..., 0:1] += dy[..., 7:8]
    np.testing.assert_allclose(g, expect, rtol=1e-12)


@pytest.mark.parametrize("shape,pad", PADS)
def test_equal_to_pytorch(shape, pad):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    got = _grads(dynamic, lambda x: DF.pad(x * 1, pad, mode="circular"), shape)
    want = _grads(torch, lambda x: TF.pad(x * 1, pad, mode="circular"), shape)
    assert _graph(got[0].grad_fn) == _graph(want[0].grad_fn)
    np.testing.assert_array_equal(got[0].detach().numpy(), want[0].detach().numpy())
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12)


@pytest.mark.parametrize("reps", REPEATS)
def test_repeat_equal_to_pytorch(reps):
    torch = pytest.importorskip("torch")
    got = _grads(dynamic, lambda x: x.repeat(*reps), (2, 3))
    want = _grads(torch, lambda x: x.repeat(*reps), (2, 3))
    assert _graph(got[0].grad_fn) == _graph(want[0].grad_fn)
    for a, b in zip(got[1:], want[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
