"""One test per autograd behaviour and per error message (PyTorch's semantics)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import dynamic as torch


def t(*v, **kw):
    return torch.tensor(list(v), **kw)


def test_requires_grad_propagates_and_leaves():
    x = t(1.0, 2.0, requires_grad=True)
    c = t(3.0, 4.0)
    y = x * c
    assert y.requires_grad and not y.is_leaf and x.is_leaf and c.is_leaf
    assert not (c * 2).requires_grad and (c * 2).grad_fn is None
    c.requires_grad_()
    assert c.requires_grad and c.is_leaf


def test_grad_fn_names_and_next_functions():
    x = t(1.0, 2.0, requires_grad=True)
    y = x * 2
    assert type(y.grad_fn).__name__ == "MulBackward0" and y.grad_fn.name() == "MulBackward0"
    (acc, nr), (none, _) = y.grad_fn.next_functions
    assert type(acc).__name__ == "AccumulateGrad" and acc.variable is x and nr == 0
    assert none is None
    z = (y + x).sum()
    assert z.grad_fn.name() == "SumBackward0"
    add = z.grad_fn.next_functions[0][0]
    assert add.name() == "AddBackward0"
    assert add.next_functions[0][0] is y.grad_fn
    assert add.next_functions[1][0] is acc  # one AccumulateGrad per leaf
    assert (x ** 2).grad_fn.name() == "PowBackward0"
    assert len((x ** 2).grad_fn.next_functions) == 1


def test_grad_accumulates_and_zero():
    x = t(1.0, 2.0, requires_grad=True)
    for _ in range(2):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    g = x.grad
    (x * 1).sum().backward()
    assert x.grad is g  # accumulated in place
    x.grad.zero_()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0])


def test_vector_jacobian_product_on_non_scalar_output():
    x = t(1.0, 2.0, 3.0, requires_grad=True)
    y = x ** 2
    y.backward(gradient=t(1.0, 0.1, 0.01))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.4, 0.06], rtol=1e-6)


def test_nonleaf_grad_is_none_unless_retained():
    x = t(1.0, 2.0, requires_grad=True)
    y = x * 3
    z = y * 3
    z.retain_grad()
    (z * z).sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None
    np.testing.assert_allclose(z.grad.numpy(), [18.0, 36.0])
    assert z.retains_grad and not y.retains_grad


def test_retain_graph_allows_second_backward():
    x = t(1.0, 2.0, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.clone()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first.numpy())


def test_graph_without_saved_tensors_can_run_twice():
    x = t(1.0, 2.0, requires_grad=True)
    y = (x + 1).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_autograd_grad_arguments():
    x = t(1.0, 2.0, requires_grad=True)
    w = t(3.0, 4.0, requires_grad=True)
    u = t(5.0, requires_grad=True)
    y = x * w
    gx, gw = torch.autograd.grad(y, (x, w), grad_outputs=t(1.0, 2.0), retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), [3.0, 8.0])
    np.testing.assert_allclose(gw.numpy(), [1.0, 4.0])
    assert x.grad is None and w.grad is None  # grad() does not touch .grad
    gx, gu = torch.autograd.grad(y.sum(), [x, u], allow_unused=True, retain_graph=True)
    assert gu is None
    _, gu = torch.autograd.grad(y.sum(), [x, u], materialize_grads=True, retain_graph=True)
    np.testing.assert_allclose(gu.numpy(), [0.0])
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        torch.autograd.grad(y.sum(), [x, u], retain_graph=True)
    with pytest.raises(ValueError, match="allow_unused"):
        torch.autograd.grad(y.sum(), [u], allow_unused=False, materialize_grads=True)
    (gy,) = torch.autograd.grad(y.sum(), y)  # gradient w.r.t. a non-leaf
    np.testing.assert_allclose(gy.numpy(), [1.0, 1.0])


def test_backward_inputs_restricts_accumulation():
    x = t(1.0, 2.0, requires_grad=True)
    w = t(3.0, 4.0, requires_grad=True)
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 2.0])
    torch.autograd.backward([(x * w).sum(), (x * x).sum()], inputs=[x])
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 8.0])
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (x * w).sum().backward(inputs=[])


def test_higher_order_derivatives():
    x = torch.tensor(2.0, requires_grad=True)
    y = x ** 4
    (d1,) = torch.autograd.grad(y, x, create_graph=True)
    (d2,) = torch.autograd.grad(d1, x, create_graph=True)
    (d3,) = torch.autograd.grad(d2, x)
    assert (d1.item(), d2.item(), d3.item()) == (32.0, 48.0, 48.0)
    assert d1.grad_fn is not None and d3.grad_fn is None


def test_backward_create_graph_makes_grad_differentiable():
    x = t(0.5, 1.0, requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = torch.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(g2.numpy(), [3.0, 6.0])


def test_hooks_replace_gradient_and_remove():
    x = t(1.0, 2.0, requires_grad=True)
    y = x * 2
    h = y.register_hook(lambda g: g * 10)
    seen = []
    hx = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 20.0])
    np.testing.assert_allclose(seen[0], [20.0, 20.0])
    h.remove()
    hx.remove()
    x.grad = None
    y2 = x * 2
    y2.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    assert len(seen) == 1
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        t(1.0).register_hook(lambda g: g)


def test_node_hooks():
    x = t(1.0, 2.0, requires_grad=True)
    y = x * 3
    calls = []
    y.grad_fn.register_prehook(lambda go: calls.append(("pre", go[0].tolist())))
    y.grad_fn.register_hook(lambda gi, go: calls.append(("post", gi[0].tolist())))
    y.sum().backward()
    assert calls == [("pre", [1.0, 1.0]), ("post", [3.0, 3.0])]


def test_no_grad_enable_grad_set_grad_enabled():
    x = t(1.0, requires_grad=True)
    with torch.no_grad():
        assert not (x * 2).requires_grad and not torch.is_grad_enabled()
        with torch.enable_grad():
            assert (x * 2).requires_grad
    assert torch.is_grad_enabled()

    @torch.no_grad()
    def f(a):
        return a * 2

    @torch.no_grad
    def g(a):
        return a * 2

    assert not f(x).requires_grad and not g(x).requires_grad and torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    torch.set_grad_enabled(True)
    with torch.set_grad_enabled(False):
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()

    @torch.set_grad_enabled(False)
    def h(a):
        return a * 2

    assert torch.is_grad_enabled() and not h(x).requires_grad


def test_detach_and_data_share_storage():
    x = t(1.0, 2.0, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    d[0] = 5.0
    assert x[0].item() == 5.0 and x._version == 1  # detach shares the version counter
    x.data[1] = 7.0
    assert x.tolist() == [5.0, 7.0] and x._version == 1  # .data does not
    x.data = t(0.0, 0.0)
    assert x.tolist() == [0.0, 0.0] and x.requires_grad


def test_failed_backward_leaves_grads_untouched():
    a = t(1.0, 2.0, requires_grad=True)
    b = t(3.0, 4.0, requires_grad=True)
    (a * b).sum().backward()
    before = (a.grad.clone(), b.grad.clone())
    z = a.clone()
    y = (z * b).sum() + (a * 2).sum()
    z.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    np.testing.assert_array_equal(a.grad.numpy(), before[0].numpy())
    np.testing.assert_array_equal(b.grad.numpy(), before[1].numpy())


def test_saved_values_are_freed_and_unsaved_inputs_not_kept():
    x = t(1.0, 2.0, requires_grad=True)
    big = x * 2
    ref = weakref.ref(big)
    y = (big + 1).sum()  # add saves nothing: `big` need not stay alive
    del big
    gc.collect()
    assert ref() is None
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("prog,exc,msg", [
    ("(x * 2).backward()", RuntimeError, "grad can be implicitly created only for scalar outputs"),
    ("torch.ones(2).sum().backward()", RuntimeError,
     "element 0 of tensors does not require grad and does not have a grad_fn"),
    ("s = (x * x).sum(); s.backward(); s.backward()", RuntimeError,
     "Trying to backward through the graph a second time"),
    ("x.add_(1)", RuntimeError,
     "a leaf Variable that requires grad is being used in an in-place operation."),
    ("x[0] = 1.0", RuntimeError, "a leaf Variable that requires grad"),
    ("y = x.exp(); y.add_(1); y.sum().backward()", RuntimeError,
     r"modified by an inplace operation: \[torch.FloatTensor \[3\]\], which is output 0 of Exp, "
     r"is at version 1; expected version 0 instead"),
    ("z = x.clone(); y = z * z; z.mul_(2); y.sum().backward()", RuntimeError,
     r"\[torch.FloatTensor \[3\]\], which is output 0 of Mul, is at version 1"),
    ("w = x * 1; y = w.sigmoid(); w.zero_(); y.sum().backward()", RuntimeError, "no error"),
    ("torch.tensor([1, 2], requires_grad=True)", RuntimeError,
     "Only Tensors of floating point and complex dtype can require gradients"),
    ("torch.autograd.grad((x * 2).sum(), [torch.ones(2)])", RuntimeError,
     "One of the differentiated Tensors does not require grad"),
    ("(x * 2).backward(torch.ones(2))", RuntimeError,
     r"Mismatch in shape: grad_output\[0\] has a shape of torch.Size\(\[2\]\) and output\[0\] has "
     r"a shape of torch.Size\(\[3\]\)"),
    ("x.numpy()", RuntimeError, "Can't call numpy\\(\\) on Tensor that requires grad"),
    ("torch.ones(3, dtype=torch.long).add_(1.5)", RuntimeError,
     "result type Float can't be cast to the desired output type Long"),
    ("torch.ones(2, 3) @ torch.ones(2, 3)", RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"),
    ("torch.ones(2, 3) + torch.ones(2, 4)", RuntimeError,
     r"The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton"),
    ("bool(torch.ones(3))", RuntimeError, "Boolean value of Tensor with more than one value"),
    ("(x * 2).requires_grad_(False)", RuntimeError, "only change requires_grad flags of leaf"),
    ("torch.ones(3).sum(dim=5)", IndexError, "Dimension out of range"),
    ("torch.ones(3)[5]", IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ("torch.arange(3).mean()", RuntimeError, "Got: Long"),
    ("torch.ones(2).item()", RuntimeError, "a Tensor with 2 elements cannot be converted"),
    ("len(torch.tensor(1.0))", TypeError, "len\\(\\) of a 0-d tensor"),
])
def test_errors(prog, exc, msg):
    x = torch.ones(3, requires_grad=True)
    if msg == "no error":  # sigmoid saves its output, not its input: modifying w is fine
        exec(prog, {"torch": torch, "x": x})
        return
    with pytest.raises(exc, match=msg):
        exec(prog, {"torch": torch, "x": x})


def test_creation_functions_and_dtypes():
    torch.manual_seed(3)
    a = torch.rand(2, 3)
    torch.manual_seed(3)
    assert torch.equal(a, torch.rand(2, 3))
    assert a.dtype is torch.float32 and repr(torch.float64) == "torch.float64"
    assert torch.zeros(2, 3).shape == torch.Size([2, 3]) and repr(torch.Size([2])) == \
        "torch.Size([2])"
    assert torch.ones((2,), dtype=torch.int64).dtype is torch.int64
    assert torch.full((2,), 7).tolist() == [7, 7] and torch.full((1,), 0.5).dtype is torch.float32
    assert torch.arange(3).dtype is torch.int64 and torch.arange(0, 1, 0.25).tolist() == \
        [0.0, 0.25, 0.5, 0.75]
    assert torch.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]
    assert torch.randn(4, 5).shape == (4, 5) and torch.zeros_like(a).dtype is a.dtype
    assert torch.ones_like(a, dtype=torch.float64).dtype is torch.float64
    assert torch.randint(0, 5, (10,)).dtype is torch.int64
    assert torch.tensor(3).item() == 3 and isinstance(torch.tensor(2.5).item(), float)
    assert torch.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert torch.Tensor([1, 2]).dtype is torch.float32
    assert isinstance(a, torch.Tensor) and a.size(1) == 3 and a.dim() == 2 and a.numel() == 6
    b = torch.tensor([1.0, 2.0])
    c = b.clone()
    c[0] = 9.0
    assert b.tolist() == [1.0, 2.0]
    assert b.double().dtype is torch.float64 and b.long().tolist() == [1, 2]
    assert b.to(torch.float64).dtype is torch.float64 and b.to(b) is b


def test_max_min_with_dim_return_values_and_indices():
    x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    values, indices = x.max(1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert values.grad_fn.name() == "MaxBackward0"
    r = x.min(dim=0)
    assert r.values.tolist() == [1.0, 0.0, 2.0] and r.indices.tolist() == [0, 1, 0]
    assert repr(r).startswith("torch.return_types.min(\nvalues=tensor([1., 0., 2.]")
    values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert torch.max(x, torch.zeros(2, 3)).grad_fn.name() == "MaximumBackward0"


def test_ties_share_gradient_evenly():
    x = torch.tensor([3.0, 1.0, 3.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.5, 0.0, 0.5]


def test_make_dot_describes_graph():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    y = (w * x).sum()
    dot = torch.viz.make_dot(y, params={"w": w}).source
    assert dot.startswith("digraph {") and dot.rstrip().endswith("}")
    for label in ("SumBackward0", "MulBackward0", "AccumulateGrad", "fillcolor=lightblue",
                  '"w\n (2)"', "darkolivegreen1"):
        assert label in dot
    assert dot.count("->") == 4  # w->Acc, Acc->Mul, Mul->Sum, Sum->y
    saved = torch.viz.make_dot(y, show_saved=True).source
    assert "orange" in saved
    if not __import__("shutil").which("dot"):
        with pytest.raises(RuntimeError, match="Graphviz"):
            torch.viz.make_dot(y).render("/tmp/never")
