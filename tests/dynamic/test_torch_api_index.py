"""Index writes (``index_add_``, ``index_copy_``, ``index_fill_``, ``index_put_``, ``put_``,
``masked_scatter_``), ``diagonal`` as a view, the layout queries (``stride``,
``storage_offset``, ``element_size``, ``data_ptr``) and the new methods' errors: values and
gradients against numpy references (torch, when installed, as a second oracle), version
counters, and PyTorch's messages."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as dt

R = np.random.default_rng(5)
A = R.standard_normal((5, 2))
S = R.standard_normal((3, 2))


def _np_index_add(a, idx, s, alpha=1.0):
    out = a.copy()
    np.add.at(out, idx, alpha * s)
    return out


def _np_copy(a, idx, s):
    out = a.copy()
    out[idx] = s
    return out


def _np_fill(a, idx, v):
    out = a.copy()
    out[:, idx] = v
    return out


def _np_put(a, idx, s):
    out = a.copy().reshape(-1)
    out[idx] = s
    return out.reshape(a.shape)


def _np_mscatter(a, s):
    out = a.copy()
    out[a > 0] = s.reshape(-1)[:int((a > 0).sum())]
    return out


# name, in-place call on (T, x, src), numpy reference (a, s), grad_fn, src row mask with gradient
ROWS = [
    ("index_add_", lambda T, x, s: x.index_add_(0, T.tensor([0, 2, 2]), s, alpha=1.5),
     lambda a, s: _np_index_add(a, [0, 2, 2], s, 1.5), "IndexAddBackward0"),
    ("index_copy_", lambda T, x, s: x.index_copy_(0, T.tensor([4, 1, 3]), s),
     lambda a, s: _np_copy(a, [4, 1, 3], s), "IndexCopyBackward0"),
    ("index_fill_", lambda T, x, s: x.index_fill_(1, T.tensor([1]), -1.0),
     lambda a, s: _np_fill(a, [1], -1.0), "IndexFillBackward0"),
    ("index_put_acc", lambda T, x, s: x.index_put_((T.tensor([0, 0, 3]), T.tensor([1, 1, 0])),
                                                   s[:, 0], accumulate=True),
     None, "IndexPutBackward0"),
    ("put_", lambda T, x, s: x.put_(T.tensor([0, 9, 3]), s[:, 1]),
     lambda a, s: _np_put(a, [0, 9, 3], s[:, 1]), "PutBackward0"),
    ("masked_scatter_", lambda T, x, s: x.masked_scatter_(x > 0, s * 3),
     lambda a, s: _np_mscatter(a, s * 3), "MaskedScatterBackward0"),
]


def _run(T, row):
    a = T.tensor(A.copy(), requires_grad=True)
    s = T.tensor(S.copy(), requires_grad=True)
    x = a.clone()
    v0 = x._version
    out = row[1](T, x, s)
    assert out is x and x._version > v0
    (x * x).sum().backward()
    grads = [t.grad.numpy() if t.grad is not None else None for t in (a, s)]
    return x.detach().numpy(), grads, type(x.grad_fn).__name__


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_index_writes(row):
    val, grads, name = _run(dt, row)
    if row[2] is not None:
        np.testing.assert_allclose(val, row[2](A, S), rtol=1e-12)
    assert name == row[3]
    # d/da of sum(x^2): 2x where a's value survived, else 0
    assert grads[0] is not None


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_index_writes_against_torch(row):
    torch = pytest.importorskip("torch")
    v1, g1, n1 = _run(dt, row)
    v2, g2, n2 = _run(torch, row)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    for x, y in zip(g1, g2, strict=True):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_allclose(x, y, rtol=1e-12)
    assert n1 == n2


def test_index_add_gradients_by_finite_differences():
    a = dt.tensor(A.copy(), requires_grad=True)
    s = dt.tensor(S.copy(), requires_grad=True)
    idx = dt.tensor([0, 2, 2])
    assert dt.autograd.gradcheck(lambda a, s: a.index_add(0, idx, s, alpha=0.5).sin(), (a, s))
    assert dt.autograd.gradcheck(lambda a, s: a.index_copy(0, dt.tensor([4, 1, 3]), s).sin(),
                                 (a, s))


def test_diagonal_is_a_view_written_in_place():
    a = dt.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    x = a.clone()
    d = x.diagonal()
    assert d._version == x._version
    d.add_(1)  # writes x, bumps the shared counter, rebases x's history (CopySlices)
    assert x._version == d._version == 1
    want = np.arange(12.0).reshape(3, 4) + np.eye(3, 4)
    np.testing.assert_array_equal(x.detach().numpy(), want)
    assert type(x.grad_fn).__name__ == "CopySlices"
    (x * x).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * want)
    y = dt.zeros(2, 3, 4)
    y.diagonal(1, 0, 2).fill_(7)
    ref = np.zeros((2, 3, 4))
    ref[0, :, 1] = ref[1, :, 2] = 7
    np.testing.assert_array_equal(y.numpy(), ref)


def test_diagonal_view_of_leaf_write_is_refused():
    a = dt.ones(3, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        a.diagonal().mul_(2)


def test_layout_queries():
    x = dt.zeros(3, 4)
    assert x.stride() == (4, 1) and x.stride(0) == 4 and x.t().stride() == (1, 4)
    assert x.diagonal().stride() == (5,) and x.diagonal(1).storage_offset() == 1
    assert x[1:].storage_offset() == 4 and x[1:][1].storage_offset() == 8
    assert x.unsqueeze(0).expand(2, 3, 4).stride() == (0, 4, 1)
    assert x.element_size() == 4 and dt.zeros(2, dtype=dt.float64).element_size() == 8
    assert x[1:].data_ptr() - x.data_ptr() == 16


@pytest.mark.parametrize("call,err,msg", [
    (lambda x: x.index_add_(0, dt.tensor([5]), dt.ones(1, 2)), IndexError, "index out of range"),
    (lambda x: x.index_add_(0, dt.tensor([0.0]), dt.ones(1, 2)), RuntimeError,
     "Expected dtype int32/int64 for index"),
    (lambda x: x.index_copy_(0, dt.tensor([0]), dt.ones(1, 3)), RuntimeError,
     "Source/destination tensor must have same slice shapes"),
    (lambda x: x.masked_scatter_(x > -10, dt.ones(3)), RuntimeError,
     "at least as many elements as ones in mask"),
    (lambda x: x.put_(dt.tensor([10]), dt.ones(1)), IndexError, "put_"),
    (lambda x: x.diagonal(0, 1, 1), RuntimeError, "diagonal dimensions cannot be identical"),
    (lambda x: x.diagonal(0, 0, 2), IndexError, "Dimension out of range"),
    (lambda x: x.movedim((0, 1), 0), RuntimeError, "movedim: Invalid source or destination"),
    (lambda x: x.unflatten(1, (3, 3)), RuntimeError, "don't multiply up to the size of dim 1"),
    (lambda x: x.repeat_interleave(-1), RuntimeError, "repeats can not be negative"),
    (lambda x: x.take(dt.tensor([10])), IndexError, "out of range"),
    (lambda x: x.masked_select(x), RuntimeError, "expected BoolTensor for mask"),
    (lambda x: dt.addmm(x, x, x), RuntimeError, "mat1 and mat2 shapes cannot be multiplied"),
    (lambda x: dt.einsum("ij,jk->ik", x), RuntimeError, "fewer operands"),
    (lambda x: dt.einsum("ijk->i", x), RuntimeError, "number of subscripts in the equation"),
    (lambda x: dt.einsum("ij,jk->ik", x, x), RuntimeError, "operands do not broadcast"),
    (lambda x: dt.einsum("i1->i", x), RuntimeError, "subscripts must be in"),
    (lambda x: dt.isclose(x, x.long()), RuntimeError, "did not match"),
    (lambda x: dt.meshgrid(x, x), RuntimeError, "Expected 0D or 1D tensor"),
    (lambda x: dt.tensordot(x, x, dims=([0], [1])), RuntimeError, "contracted dimensions need"),
    (lambda x: dt.cross(x, x), RuntimeError, "no dimension of size 3"),
])
def test_errors_leave_the_tensor_intact(call, err, msg):
    x = dt.tensor(A.copy())
    v = x._version
    with pytest.raises(err, match=msg):
        call(x)
    np.testing.assert_array_equal(x.numpy(), A)
    assert x._version == v
