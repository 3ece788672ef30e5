"""In-place shape methods (``t_``, ``transpose_``, ``swapdims_``, ``squeeze_``, ``unsqueeze_``,
``resize_``): shapes, values, gradients, ``grad_fn`` names, version counters and error texts as
PyTorch 2.13's (recorded here; compared live where PyTorch is installed)."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic

LEAF = "a leaf Variable that requires grad is being used in an in-place operation."

# (method, args, shape after, grad_fn name, a.grad of sum(b * arange) after the call)
METHODS = [
    ("t_", (), (3, 2), "TBackward1", [[0, 2, 4], [1, 3, 5]]),
    ("transpose_", (0, 1), (3, 2), "TransposeBackward1", [[0, 2, 4], [1, 3, 5]]),
    ("transpose_", (1, -2), (3, 2), "TransposeBackward1", [[0, 2, 4], [1, 3, 5]]),
    ("swapdims_", (0, 1), (3, 2), "TransposeBackward1", [[0, 2, 4], [1, 3, 5]]),
    ("swapaxes_", (1, 0), (3, 2), "TransposeBackward1", [[0, 2, 4], [1, 3, 5]]),
    ("squeeze_", (), (2, 3), "SqueezeBackward3", [[0, 1, 2], [3, 4, 5]]),
    ("unsqueeze_", (0,), (1, 2, 3), "UnsqueezeBackward1", [[0, 1, 2], [3, 4, 5]]),
    ("unsqueeze_", (-1,), (2, 3, 1), "UnsqueezeBackward1", [[0, 1, 2], [3, 4, 5]]),
]


def _leaf(lib):
    return lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)


@pytest.mark.parametrize("name,args,shape,node,grad", METHODS)
def test_method_changes_shape_records_node_and_bumps_version(name, args, shape, node, grad):
    a = _leaf(dynamic)
    b = a * 1
    before = b._version
    assert getattr(b, name)(*args) is b
    assert tuple(b.shape) == shape and b._version == before + 1
    assert type(b.grad_fn).__name__ == node
    assert type(b.grad_fn.next_functions[0][0]).__name__ == "MulBackward0"
    weights = dynamic.tensor(np.arange(6.0).reshape(shape))
    (b * weights).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), grad)
    with pytest.raises(RuntimeError, match="^" + LEAF + "$"):
        getattr(a, name)(*args)
    assert tuple(a.shape) == (2, 3) and a._version == 0  # state left intact


@pytest.mark.parametrize("args,shape,node", [((), (3,), "SqueezeBackward3"),
                                             ((0,), (3, 1), "SqueezeBackward4"),
                                             (((0, 2),), (3,), "SqueezeBackward5"),
                                             ((-1,), (1, 3), "SqueezeBackward4")])
def test_squeeze_variants(args, shape, node):
    c = dynamic.ones(1, 3, 1, requires_grad=True) * 1
    c.squeeze_(*args)
    assert (tuple(c.shape), type(c.grad_fn).__name__) == (shape, node)


def test_view_stays_a_view_and_writes_through():
    a = _leaf(dynamic)
    b = a * 1
    v = b[0:2]
    v.t_()
    assert v._base is b and b._version == 1 and type(b.grad_fn).__name__ == "MulBackward0"
    assert type(v.grad_fn.next_functions[0][0]).__name__ == "SliceBackward0"
    v.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.ones((2, 3)))
    a.grad = None
    b = a * 1
    v = b.view(6)
    v.unsqueeze_(0)
    assert tuple(v.shape) == (1, 6) and v._base is b
    v.mul_(2)  # written through the grown view chain into b
    assert type(b.grad_fn).__name__ == "CopySlices"
    assert b.tolist() == [[0, 2, 4], [6, 8, 10]]
    b.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((2, 3), 2.0))


def test_view_of_a_leaf_is_refused():
    a = _leaf(dynamic)
    for call in (lambda: a[0:2].t_(), lambda: a.view(6).unsqueeze_(0)):
        with pytest.raises(RuntimeError, match="^a view of a leaf Variable that requires grad"):
            call()
    assert tuple(a.shape) == (2, 3) and a._version == 0


def test_saved_tensor_changed_by_shape_method_refuses_backward():
    b = _leaf(dynamic) * 1
    y = b * b
    b.t_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_view_taken_before_the_base_changed_shape_refuses_a_recorded_write():
    b = _leaf(dynamic) * 1
    v = b[0]
    b.t_()
    assert v.tolist() == [0, 1, 2]  # same memory, still readable
    with pytest.raises(RuntimeError, match="changed shape in place"):
        v.mul_(2)
    assert v.tolist() == [0, 1, 2]


@pytest.mark.parametrize("call,err,msg", [
    (lambda t: t.transpose_(0, 5), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 5)"),
    (lambda t: t.squeeze_(5), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 5)"),
    (lambda t: t.unsqueeze_(7), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got 7)"),
    (lambda t: t.swapdims_(-3, 0), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got -3)"),
    (lambda t: t.unsqueeze(0).t_(), RuntimeError,
     "t_() expects a tensor with <= 2 dimensions, but self is 3D"),
])
def test_errors(call, err, msg):
    b = _leaf(dynamic) * 1
    with pytest.raises(err) as e:
        call(b)
    assert str(e.value) == msg and tuple(b.shape) == (2, 3)


def test_no_grad_leaf_and_small_ranks():
    a = _leaf(dynamic)
    with dynamic.no_grad():
        a.t_()
    assert tuple(a.shape) == (3, 2) and a._version == 1 and a.grad_fn is None
    c = dynamic.zeros(3, requires_grad=True) * 1
    c.t_()
    assert tuple(c.shape) == (3,) and type(c.grad_fn).__name__ == "TBackward1"
    c = dynamic.zeros((), requires_grad=True) * 1
    c.unsqueeze_(0)
    assert tuple(c.shape) == (1,) and type(c.grad_fn).__name__ == "UnsqueezeBackward1"


def test_resize_reinterprets_the_storage():
    w = dynamic.arange(6.0)
    v = w[1:]
    w.resize_(2, 2)
    assert w.tolist() == [[0, 1], [2, 3]] and w._version == 1 and v.tolist() == [1, 2, 3, 4, 5]
    w.resize_(3, 3)
    assert tuple(w.shape) == (3, 3) and w.flatten()[:6].tolist() == [0, 1, 2, 3, 4, 5]
    w = dynamic.arange(6.0).view(2, 3).t()
    assert w.resize_(3, 2).tolist() == [[0, 3], [1, 4], [2, 5]] and w._version == 0  # no-op
    assert w.resize_(2, 3).tolist() == [[0, 1, 2], [3, 4, 5]]  # the storage's order
    w = dynamic.arange(6.0)[2:]
    assert w.resize_(2).tolist() == [2, 3]
    w = dynamic.arange(6.0)
    assert tuple(w.resize_([3, 2]).shape) == (3, 2)
    assert tuple(w.resize_as_(dynamic.zeros(6)).shape) == (6,)


@pytest.mark.parametrize("call,msg", [
    (lambda: dynamic.zeros(2, requires_grad=True).resize_(3),
     "cannot resize variables that require grad"),
    (lambda: (dynamic.zeros(2, requires_grad=True) * 1).resize_(2),
     "cannot resize variables that require grad"),
    (lambda: dynamic.zeros(2).resize_(-1), "numel: integer multiplication overflow"),
])
def test_resize_errors(call, msg):
    with pytest.raises(RuntimeError) as e:
        call()
    assert str(e.value) == msg


@pytest.mark.parametrize("name", ["as_strided_", "set_"])  # as_strided: test_torch_api_strided
def test_storage_methods_say_they_are_not_supported(name):
    t = dynamic.zeros(2)
    assert not hasattr(t, name)
    with pytest.raises(NotImplementedError, match=f"^torch.Tensor.{name} is not supported by "
                                                  "this project"):
        getattr(t, name)


def _trace(lib):
    """What the tests above check, as one list, for a live comparison with PyTorch."""
    out = []
    for name, args, *_ in METHODS:
        a = _leaf(lib)
        b = a * 1
        getattr(b, name)(*args)
        w = lib.tensor(np.arange(6.0).reshape(tuple(b.shape)))
        (b * w).sum().backward()
        out.append((name, tuple(b.shape), type(b.grad_fn).__name__, b._version, a.grad.tolist()))
        try:
            getattr(a, name)(*args)
        except RuntimeError as e:
            out.append(str(e))
    b = _leaf(lib) * 1
    v = b.view(6)
    v.unsqueeze_(0)
    v.mul_(3)
    out.append((type(b.grad_fn).__name__, b.tolist(), tuple(v.shape)))
    w = lib.arange(6.0).view(2, 3).t()
    out.append((w.resize_(3, 2).tolist(), w._version, w.resize_(2, 3).tolist(), w._version))
    return out


def test_equal_to_pytorch():
    torch = pytest.importorskip("torch")
    assert _trace(dynamic) == _trace(torch)


def test_out_of_place_node_names():
    y = dynamic.ones(3, requires_grad=True) * 1
    r = y.t()  # an alias with its own node, as PyTorch's
    assert r is not y and type(r.grad_fn).__name__ == "TBackward0"
    x = dynamic.ones(1, 3, 1, requires_grad=True) * 1
    assert type(x.squeeze((0,)).grad_fn).__name__ == "SqueezeBackward2"
    assert tuple(x.squeeze([0, 2]).shape) == (3,)
    assert type(x.squeeze(0).grad_fn).__name__ == "SqueezeBackward1"
    assert type(x.swapdims(0, 2).grad_fn).__name__ == "TransposeBackward0"
    assert tuple(x.swapaxes(0, 1).shape) == (3, 1, 1)


def test_retained_grad_stays_with_the_old_layout():
    a = dynamic.ones(2, 3, requires_grad=True)
    b = a * 2
    b.retain_grad()
    b.t_()  # PyTorch keeps the retained gradient at the node before the shape change
    (b * dynamic.arange(6.0).view(3, 2)).sum().backward()
    assert b.grad.tolist() == [[0, 2, 4], [1, 3, 5]]
    assert a.grad.tolist() == [[0, 4, 8], [2, 6, 10]]
