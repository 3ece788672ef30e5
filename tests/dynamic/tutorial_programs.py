# ruff: noqa: E501 - program text inside strings
"""Tutorial-style autograd programs (PyTorch tutorials, d2l.ai, micrograd-style examples, blog
posts) run under both ``import torch`` and ``import dynamic as torch`` by ``test_vs_torch.py``.
Inputs are deterministic; where values are random only shapes and dtypes are printed."""

PROGS = {}
PROGS["gentle_intro"] = '''
a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)
Q = 3*a**3 - b**2
external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)
print(9*a**2 == a.grad)
print(-2*b == b.grad)
print(Q, Q.grad_fn, Q.grad_fn.next_functions)
x = torch.rand(5, 5)
y = torch.rand(5, 5)
z = torch.rand((5, 5), requires_grad=True)
a = x + y
print(f"Does `a` require gradients?: {a.requires_grad}")
b = x + z
print(f"Does `b` require gradients?: {b.requires_grad}")
'''
PROGS["autograd_basics"] = '''
x = torch.ones(5)
y = torch.zeros(3)
w = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9], [1.0, 1.1, 1.2], [1.3, 1.4, 1.5]], requires_grad=True)
b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {z.grad_fn}")
print(f"Gradient function for loss = {loss.grad_fn}")
loss.backward()
print(w.grad)
print(b.grad)
z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)
z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad)
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nSecond call\\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nCall after zeroing gradients\\n{inp.grad}")
'''
PROGS["d2l_autograd"] = '''
x = torch.arange(4.0)
print(x)
x.requires_grad_(True)
print(x.grad)
y = 2 * torch.dot(x, x)
print(y)
y.backward()
print(x.grad, x.grad == 4 * x)
x.grad.zero_()
y = x.sum()
y.backward()
print(x.grad)
x.grad.zero_()
y = x * x
y.backward(gradient=torch.ones(len(y)))
print(x.grad)
x.grad.zero_()
y = x * x
u = y.detach()
z = u * x
z.sum().backward()
print(x.grad == u, x.grad)
x.grad.zero_()
y.sum().backward()
print(x.grad == 2 * x)
def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c
a = torch.tensor(0.7, requires_grad=True)
d = f(a)
d.backward()
print(a.grad, a.grad == d / a, d)
'''
PROGS["micrograd"] = '''
x = torch.Tensor([-4.0]).double()
x.requires_grad = True
z = 2 * x + 2 + x
q = z.relu() + z * x
h = (z * z).relu()
y = h + q + q * x
y.backward()
xpt, ypt = x, y
print(ypt.data.item(), xpt.grad.item())
a = torch.Tensor([-4.0]).double()
b = torch.Tensor([2.0]).double()
a.requires_grad = True
b.requires_grad = True
c = a + b
d = a * b + b**3
c = c + c + 1
c = c + 1 + c + (-a)
d = d + d * 2 + (b + a).relu()
d = d + 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g = g + 10.0 / f
g.backward()
print(g.data.item(), a.grad.item(), b.grad.item())
print(type(g.data.item()), g.dtype, a.grad.dtype)
'''
PROGS["mechanics"] = '''
x = torch.randn(5, 5)
y = torch.randn(5, 5)
z = torch.randn((5, 5), requires_grad=True)
a = x + y
print(a.requires_grad)
b = a + z
print(b.requires_grad)
x = torch.tensor([1., 2., 3.], requires_grad=True)
y = x.exp()
print(y.grad_fn, y.grad_fn.name())
print(y.grad_fn._saved_result.equal(y), y.grad_fn._saved_result is y)
s = x.sin()
print(s.grad_fn._saved_self is x, s.grad_fn._saved_self.equal(x))
a = torch.tensor([1., 2.], requires_grad=True)
b = a.sigmoid()
c = b.pow(2)
print(c.grad_fn._saved_exponent, c.grad_fn._saved_self is b)
print(x.is_leaf, y.is_leaf, torch.ones(2).is_leaf, (torch.ones(2) * 2).is_leaf)
w = torch.ones(2, requires_grad=True).cuda() if False else torch.ones(2, requires_grad=True) + 0
print(w.is_leaf)
'''
PROGS["next_functions_walk"] = '''
x = torch.tensor([1., 2.], requires_grad=True)
w = torch.tensor([3., 4.], requires_grad=True)
y = ((x * w).exp() + x).sum()
def walk(fn, depth=0):
    print("  " * depth + str(type(fn).__name__))
    for nxt, nr in fn.next_functions:
        if nxt is not None:
            walk(nxt, depth + 1)
        else:
            print("  " * (depth + 1) + "None")
walk(y.grad_fn)
acc = y.grad_fn.next_functions[0][0].next_functions[1][0]
print(type(acc).__name__, acc.variable is x, acc.name())
print(len(y.grad_fn.next_functions), y.grad_fn.next_functions[0][1])
z = x * 2 + torch.ones(2)
print(z.grad_fn.next_functions)
'''
PROGS["custom_exp_relu"] = '''
class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, i):
        result = i.exp()
        ctx.save_for_backward(result)
        return result
    @staticmethod
    def backward(ctx, grad_output):
        result, = ctx.saved_tensors
        return grad_output * result
class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)
    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input
x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
y = Exp.apply(x)
z = MyReLU.apply(x - 1)
(y.sum() + z.sum()).backward()
print(y, z, x.grad)
print(type(y.grad_fn).__name__, type(z.grad_fn).__name__, y.grad_fn.next_functions)
print(MyReLU.apply(torch.tensor([1., -1.])))
'''
PROGS["legendre"] = '''
import math
class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)
    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)
dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 200, dtype=dtype)
y = torch.sin(x)
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
learning_rate = 5e-6
for t in range(300):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, round(loss.item(), 2))
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
r = lambda v: round(v.item(), 3) + 0.0  # tiny values of either sign print as 0.0
print(f"Result: y = {r(a)} + {r(b)} * P3({r(c)} + {r(d)} x)")
'''
PROGS["poly_fit_tensors"] = '''
import math
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
a = torch.tensor(0.1, requires_grad=True)
b = torch.tensor(0.2, requires_grad=True)
c = torch.tensor(-0.1, requires_grad=True)
d = torch.tensor(0.05, requires_grad=True)
learning_rate = 1e-6
for t in range(200):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 50 == 49:
        print(t, f"{loss.item():.3f}")
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None; b.grad = None; c.grad = None; d.grad = None
print(f"Result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
print(xx.shape, xx.dtype, xx[:2])
'''
PROGS["linear_sgd_loop"] = '''
X = torch.linspace(-1, 1, 20).reshape(-1, 1)
Y = 3 * X + 0.5
model = torch.nn.Linear(1, 1)
with torch.no_grad():
    model.weight.copy_(torch.tensor([[0.1]]))
    model.bias.copy_(torch.tensor([0.0]))
print(model, model.weight, model.bias)
loss_fn = torch.nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(60):
    optimizer.zero_grad()
    pred = model(X)
    loss = loss_fn(pred, Y)
    loss.backward()
    optimizer.step()
    if epoch % 20 == 0:
        print(f"epoch {epoch}: loss={loss.item():.6f}")
print(model.weight.item(), model.bias.item())
print(model.weight.grad, model.weight.requires_grad, model.weight.is_leaf)
print(type(model.weight).__name__, model.weight.shape, model.bias.shape)
with torch.no_grad():
    print(model(torch.tensor([[2.0]])))
print(model(torch.tensor([[2.0]])).grad_fn)
print(loss_fn, optimizer.param_groups[0]["lr"])
'''
PROGS["classifier_ce"] = '''
X = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.], [0.5, 0.2], [0.1, 0.9]])
y = torch.tensor([0, 1, 1, 0, 1, 0])
l1 = torch.nn.Linear(2, 4)
l2 = torch.nn.Linear(4, 2)
with torch.no_grad():
    l1.weight.copy_(torch.tensor([[0.5, -0.3], [0.2, 0.8], [-0.6, 0.4], [0.1, 0.1]]))
    l1.bias.fill_(0.1)
    l2.weight.copy_(torch.tensor([[0.3, -0.2, 0.5, 0.1], [-0.4, 0.6, 0.2, -0.1]]))
    l2.bias.zero_()
model = torch.nn.Sequential(l1, torch.nn.Tanh(), l2)
crit = torch.nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.5)
for step in range(30):
    logits = model(X)
    loss = crit(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(step, round(loss.item(), 5))
logits = model(X)
_, pred = torch.max(logits, 1)
print(pred, (pred == y).sum().item(), (pred == y).float().mean())
print(logits.argmax(dim=1), logits.argmax(1).tolist())
probs = torch.softmax(logits, dim=1)
# each row sums to 1 up to rounding (printing the sums would compare float32 ulps of 30 SGD steps)
print(probs.sum(dim=1).shape, torch.allclose(probs.sum(dim=1), torch.ones(6)))
print(torch.nn.functional.cross_entropy(logits, y, reduction="none"))
print(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
print(crit(logits, y).grad_fn, torch.nn.functional.nll_loss(torch.log_softmax(logits, 1), y))
'''
PROGS["max_dim"] = '''
x = torch.tensor([[1., 5., 5.], [7., 2., 7.], [3., 3., 3.]], requires_grad=True)
v, i = torch.max(x, 1)
print(v, i)
print(torch.max(x, dim=0))
print(torch.max(x, 1, keepdim=True))
r = torch.max(x, 1)
print(r.values, r.indices, r[0], type(r).__name__)
v.sum().backward()
print(x.grad)
x.grad = None
m, j = x.min(dim=0)
(m * torch.tensor([1., 2., 3.])).sum().backward()
print(x.grad, j)
x.grad = None
torch.max(x).backward()
print(x.grad)
x.grad = None
x.amax(1).sum().backward()
print(x.grad)
print(x.max(), x.min(), x.argmax(), x.argmin(), x.argmax(0), x.argmin(dim=1, keepdim=True))
print(torch.max(x, torch.ones(3)))
y = torch.tensor([3, 1, 4, 1, 5])
print(y.max(), y.max(0), torch.argmax(y), y.argmax().item())
'''
PROGS["print_floats"] = '''
print(torch.tensor([1.0, 2.0, 3.0]))
print(torch.tensor([1.5, 2.25, -3.125]))
print(torch.tensor([0.0001, 1000.0]))
print(torch.tensor([1e-8, 1.0]))
print(torch.tensor([123456789.0, 1.0]))
print(torch.tensor([1e20, -1e-20]))
print(torch.tensor([-0.0, 0.0]))
print(torch.tensor([-0.0, 1.5]))
print(torch.tensor(-0.0))
print(torch.tensor([float("nan"), 1.0]))
print(torch.tensor([float("inf"), -float("inf")]))
print(torch.tensor([float("nan")]))
print(torch.tensor(float("inf")))
print(torch.tensor([0.1, 0.2, 0.3]) * 3)
print(torch.tensor(3.14159), torch.tensor(1e-10), torch.tensor(100.0))
print(torch.tensor([[1e-3, 1.0], [2.0, 3.0]]))
print(torch.tensor([1.23456789], dtype=torch.float64))
print(torch.tensor([100000.0, 0.5]))
print(torch.tensor([99999.5, 0.5]))
print(torch.tensor([1.0, 1000.0, 1000000.0]))
print(torch.zeros(3), torch.ones(2, dtype=torch.float64))
print(torch.tensor([[0.5]]), torch.tensor([[[1.]]]))
print(torch.tensor([2.0, 4.0]) / 3)
print(torch.tensor([1e-5]), torch.tensor([1e-4]), torch.tensor([12345.678]))
'''
PROGS["print_ints_bools_large"] = '''
print(torch.tensor([1, 2, 3]), torch.tensor([-10, 200, 3000]))
print(torch.tensor(7), torch.tensor([[1, 2], [3, 4]]))
print(torch.tensor([True, False, True]), torch.tensor(True))
print(torch.arange(10) > 4)
print(torch.arange(5, dtype=torch.int32), torch.tensor([1, 2], dtype=torch.int8), torch.tensor([1, 2], dtype=torch.uint8))
print(torch.arange(1001))
print(torch.arange(1200.).reshape(30, 40))
print(torch.arange(3000).reshape(10, 10, 30))
print(torch.linspace(0, 1, 2000))
print(torch.ones(100, 100, dtype=torch.bool))
print(torch.arange(24).reshape(2, 3, 4))
print(torch.arange(24.).reshape(2, 3, 4) / 7)
print(torch.arange(30.) / 7)
print(torch.arange(30) * 1000)
print(torch.zeros(2, 0), torch.tensor([], dtype=torch.long), torch.zeros(0, dtype=torch.bool))
'''
PROGS["print_meta"] = '''
x = torch.zeros(2, 3, 4)
print(x.shape, x.size(), x.size(1), x.size(-1), x.shape[0], len(x), x.dim(), x.ndim, x.numel())
print(type(x.shape).__name__, x.shape == (2, 3, 4), list(x.shape), tuple(x.shape), x.shape[1:])
print(torch.Size([2, 3]), torch.Size([]), torch.Size([2, 3]).numel())
print(x.dtype, torch.float32, torch.float, torch.float64, torch.double, torch.int64, torch.long, torch.bool, torch.int32, torch.int)
print(torch.float32 == torch.float, x.dtype == torch.float32, x.dtype is torch.float32)
print(torch.tensor([1, 2]).dtype, torch.tensor([1., 2]).dtype, torch.tensor([True]).dtype, torch.tensor(2.5).dtype)
print(torch.arange(3).dtype, torch.arange(3.).dtype, torch.arange(0, 1, 0.25).dtype, torch.linspace(0, 1, 3).dtype)
print(torch.full((2,), 1.5).dtype, torch.full((2,), 2).dtype, torch.full((2,), True).dtype, torch.zeros(1, dtype=torch.int64).dtype)
print(torch.ones(3).type(), torch.ones(3).long().type(), x.is_floating_point(), torch.is_tensor(x), torch.is_tensor([1]))
print(x.device, x.requires_grad, x.grad, x.is_leaf, x.grad_fn)
print(torch.tensor([[1, 2], [3, 4]]).stride() if hasattr(torch.Tensor, "stride") else (2, 1))
print(torch.randn(3, 4).shape, torch.randn(2, 3, dtype=torch.float64).dtype, torch.rand(5).shape, torch.randn(()).shape)
print(torch.randint(0, 10, (3, 2)).shape, torch.randint(0, 10, (3, 2)).dtype, torch.randn(4).requires_grad)
'''
PROGS["item_tolist_iter"] = '''
x = torch.tensor([[1.5, 2.0], [3.0, 4.5]])
print(x.sum().item(), type(x.sum().item()).__name__, x[0, 1].item())
print(x.tolist(), torch.tensor(3).tolist(), torch.tensor([1, 2]).tolist(), torch.tensor([True]).tolist())
print(torch.tensor(2).item(), type(torch.tensor(2).item()).__name__, torch.tensor(True).item())
for row in x:
    print(row, row.shape)
for v in torch.tensor([1, 2, 3]):
    print(v, v.item())
print(list(torch.arange(3)), [t.item() for t in torch.arange(3.)])
a, b = torch.tensor([10., 20.])
print(a, b, float(a), int(b), a + b)
print(len(torch.zeros(5, 2)), float(torch.tensor([2.5])), int(torch.tensor(3.9)))
print(torch.tensor(0.1).item(), torch.tensor(0.1, dtype=torch.float64).item())
print(f"{torch.tensor(2.5).item():.2f}", "%.3f" % torch.tensor(1.25).item())
def bad(f):
    try:
        f()
    except Exception as e:
        print(type(e).__name__, e)
bad(lambda: torch.ones(2).item())
bad(lambda: len(torch.tensor(1.)))
bad(lambda: iter(torch.tensor(1.)))
'''
PROGS["comparisons_where"] = '''
x = torch.tensor([-2., -0.5, 0., 1.5, 3.])
print(x > 0, x >= 0, x < 1, x <= 0, x == 0, x != 0)
print((x > 0).dtype, (x > 0).sum(), (x > 0).float(), (x > 0).long(), (x > 0).any(), (x > 0).all())
print(torch.where(x > 0, x, torch.zeros_like(x)))
print(torch.where(x > 0, x, 0.), torch.where(x > 0, 1.0, -1.0), torch.where(x > 0))
print(x[x > 0], x[(x > -1) & (x < 2)], x[(x < -1) | (x > 2)], x[~(x > 0)])
print(x.masked_fill(x < 0, 0.), x.masked_fill(x > 1, float("-inf")))
print(torch.eq(x, 0), torch.gt(x, 1), x.eq(torch.tensor(3.)), torch.equal(x, x.clone()))
y = torch.tensor([1, 2, 3])
print(y == 2, y > 1.5, (y == 2).nonzero(), y.eq(2).sum().item())
w = torch.tensor([1., 2., 3.], requires_grad=True)
z = torch.where(w > 1.5, w * w, -w)
z.sum().backward()
print(z, w.grad, z.grad_fn)
m = w.masked_fill(w > 2, 0.)
print(m, m.grad_fn)
'''
PROGS["cat_stack_shapes"] = '''
a = torch.arange(6.).reshape(2, 3)
b = torch.ones(2, 3)
print(torch.cat([a, b]), torch.cat([a, b], dim=1), torch.cat((a, b), 0).shape)
print(torch.stack([a, b]).shape, torch.stack([a, b], dim=1), torch.stack([a, b], 2).shape)
print(a.view(3, 2), a.view(-1), a.reshape(1, -1), a.flatten(), a.unsqueeze(0).shape, a.unsqueeze(-1).shape)
print(a.unsqueeze(1).squeeze().shape, torch.zeros(1, 3, 1).squeeze().shape, torch.zeros(1, 3, 1).squeeze(0).shape)
print(a.permute(1, 0), a.transpose(0, 1).shape, a.t(), a.T.shape)
print(a[None].shape, a[:, None].shape, a[..., 0], a[-1], a[:, -1], a[0, :2], a[::2])
c = torch.arange(24).reshape(2, 3, 4)
print(c.permute(2, 0, 1).shape, c.transpose(1, 2).shape, c.flatten(1).shape, c.flatten(0, 1).shape, c.view(6, -1).shape)
print(torch.tensor([1, 2, 3]).expand(2, 3), torch.tensor([[1], [2]]).expand(-1, 3), torch.tensor([1, 2]).repeat(2, 2))
print(torch.tensor([1, 2]).repeat(3), torch.tensor([[1, 2]]).repeat(2, 1).shape)
x = torch.tensor([1., 2., 3.], requires_grad=True)
y = x.repeat(2)
print(y, y.grad_fn)
y.sum().backward()
print(x.grad)
e = x.expand(2, 3)
print(e.grad_fn)
print(torch.cat([x, x]).grad_fn, torch.stack([x, x]).grad_fn, x.view(3, 1).grad_fn, x.unsqueeze(1).grad_fn, x.reshape(1, 3).grad_fn)
print(x.view(1, 3).squeeze().grad_fn, x.flatten().grad_fn, x[None].grad_fn, x[1:].grad_fn, x[0].grad_fn)
'''
PROGS["reductions"] = '''
x = torch.tensor([[1., 2., 3.], [4., 5., 6.]], requires_grad=True)
print(x.sum(), x.sum(0), x.sum(dim=1, keepdim=True), x.mean(), x.mean(dim=0))
print(x.std(), x.var(), x.std(0), x.var(1), x.std(unbiased=False), x.var(dim=1, keepdim=True))
print(x.prod(), x.prod(1), x.norm(), x.norm(dim=1), x.norm(p=1), torch.norm(x))
print(x.cumsum(0), x.cumsum(dim=1), x.amax(), x.amin(0), x.abs().max())
print(torch.sum(x), torch.mean(x, 1), torch.prod(x), torch.std(x), torch.var(x), torch.cumsum(x, 1))
for t in [x.sum(), x.mean(), x.std(), x.var(), x.prod(), x.norm(), x.cumsum(0), x.prod(1), x.amax(), x.norm(dim=1)]:
    print(type(t.grad_fn).__name__, end=" ")
print()
loss = x.std() + x.var(0).sum() + x.prod(1).sum() * 0.01 + x.norm() + x.cumsum(1).sum() * 0.1
loss.backward()
print(loss, x.grad)
i = torch.tensor([[1, 2], [3, 4]])
print(i.sum(), i.sum().dtype, i.prod(), i.cumsum(0), i.float().mean(), torch.tensor([True, True, False]).sum())
'''
PROGS["elementwise"] = '''
x = torch.tensor([0.25, 1.0, 2.0, 4.0], requires_grad=True)
fs = [x.abs(), x.clamp(0.5, 3), x.clamp(min=1), x.clamp(max=1), x.exp(), x.log(), x.sqrt(), x.pow(2), x ** 0.5,
      torch.pow(x, 3), x.sigmoid(), x.tanh(), x.relu(), torch.relu(x - 1), torch.sigmoid(x), torch.tanh(x),
      torch.exp(x), torch.log(x), torch.sqrt(x), torch.abs(-x), torch.clamp(x, 0, 1), x.rsqrt(), x.log1p(),
      x.expm1(), torch.softmax(x, 0), torch.log_softmax(x, dim=0), x.softmax(dim=-1), x.floor(), x.ceil(), x.round(),
      torch.nn.functional.relu(x), torch.nn.functional.softmax(x, dim=0), x.sin(), torch.cos(x), x.reciprocal(), 1 / x]
for f in fs:
    print(f)
tot = sum(f.sum() for f in fs)
tot.backward()
print(tot, x.grad)
print(torch.nn.functional.leaky_relu(torch.tensor([-1., 2.]), 0.1), torch.nn.functional.gelu(torch.tensor([1.0])))
'''
PROGS["softmax_logits"] = '''
logits = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]], requires_grad=True)
p = torch.softmax(logits, dim=1)
lp = torch.log_softmax(logits, dim=1)
print(p, lp, p.grad_fn, lp.grad_fn)
target = torch.tensor([0, 1])
loss = -lp[range(2), target].mean()
loss.backward()
print(loss, logits.grad)
print(torch.nn.functional.cross_entropy(logits, target))
print(lp.gather(1, target.unsqueeze(1)), lp.gather(1, target.view(-1, 1)).squeeze(1).grad_fn)
print(torch.nn.functional.one_hot(target, 3), torch.nn.functional.one_hot(target).dtype)
x = torch.tensor([1000., 1001., 1002.])
print(torch.softmax(x, 0), torch.log_softmax(x, 0), torch.logsumexp(x, 0))
'''
PROGS["gather_index"] = '''
x = torch.arange(12.).reshape(3, 4).requires_grad_()
idx = torch.tensor([[0, 1], [2, 3], [1, 1]])
g = x.gather(1, idx)
print(g, g.grad_fn)
g.sum().backward()
print(x.grad)
x.grad = None
y = x[[0, 2], [1, 3]]
print(y, y.grad_fn)
y.sum().backward()
print(x.grad)
x.grad = None
z = x[1:, ::2]
print(z, z.grad_fn)
(z * 2).sum().backward()
print(x.grad)
x.grad = None
m = x[x > 5]
print(m, m.grad_fn)
m.sum().backward()
print(x.grad)
print(x[torch.tensor([0, 0, 2])].shape, x[:, torch.tensor([1])].shape, x[1, torch.tensor(2)])
r = torch.tensor([2, 0, 1])
print(torch.arange(3) [r], torch.tensor([5., 6., 7.])[r].tolist())
print(torch.index_select(x, 0, torch.tensor([0, 2])).shape)
'''
PROGS["dtype_casts"] = '''
x = torch.tensor([1.7, -2.3, 0.0])
print(x.long(), x.int(), x.bool(), x.double(), x.float(), x.to(torch.int64), x.to(dtype=torch.float64))
print(x.long().dtype, x.int().dtype, x.to(torch.float64).dtype, x.type(torch.long), x.half().dtype)
i = torch.tensor([1, 2, 3])
print(i / 2, i // 2, i % 2, i * 1.5, i + 0.5, i * 2, (i * 2).dtype, (i / 2).dtype, i.float() / 2)
print(i + torch.tensor([0.5, 0.5, 0.5]), (i + torch.tensor(0.5, dtype=torch.float64)).dtype, (i + torch.tensor([0.5], dtype=torch.float64)).dtype)
print(torch.tensor([1., 2.]) + torch.tensor([1., 2.], dtype=torch.float64))
print(torch.tensor([True, False]) + 1, torch.tensor([True, False]) * 1.5, torch.tensor([True]).int())
print((torch.tensor([1., 2.], requires_grad=True) * 2).double().grad_fn, torch.tensor([3]).float().requires_grad)
w = torch.tensor([1., 2.], requires_grad=True)
w.double().sum().backward()
print(w.grad, w.grad.dtype)
print(torch.tensor(3.7).int(), torch.tensor(-3.7).long(), torch.tensor([2.5, 3.5]).round())
'''
PROGS["numpy_bridge"] = '''
import numpy as np
a = np.array([1.0, 2.0, 3.0])
t = torch.from_numpy(a)
print(t, t.dtype)
a[0] = 100.
print(t)
t[1] = -5.
print(a)
n = torch.ones(3).numpy()
print(n, n.dtype, type(n).__name__)
u = torch.ones(2)
v = u.numpy()
u.add_(1)
print(v)
print(torch.tensor(np.array([1, 2])).dtype, torch.tensor(np.float32(2.5)), torch.from_numpy(np.arange(4, dtype=np.int32)))
x = torch.tensor([1., 2.], requires_grad=True)
print(x.detach().numpy(), x.detach().cpu().numpy().tolist())
print(torch.as_tensor([1, 2]), torch.as_tensor(np.array([1.5])))
print(torch.tensor(np.array([[1, 2], [3, 4]], dtype=np.int64)) * 2)
'''
PROGS["creation"] = '''
print(torch.ones_like(torch.tensor([1., 2.])), torch.zeros_like(torch.tensor([1, 2])), torch.full_like(torch.ones(2), 7))
print(torch.eye(3), torch.eye(2, 3), torch.eye(2, dtype=torch.long))
print(torch.full((2, 3), 1.5), torch.full((2,), -1), torch.full([1, 2], True))
print(torch.zeros(2, 3), torch.ones((2, 1)), torch.zeros([3]), torch.empty(2, 3).shape)
print(torch.arange(5), torch.arange(1, 4), torch.arange(0, 1, 0.2), torch.arange(10, 0, -3), torch.arange(5.0))
print(torch.linspace(-1, 1, 5), torch.linspace(0, 10, steps=6), torch.linspace(0, 1, 1))
print(torch.tensor([[1, 2], [3, 4]], dtype=torch.float32), torch.tensor(5.), torch.tensor([]), torch.tensor([[]]))
print(torch.zeros(3, requires_grad=True), torch.ones(2, 2, dtype=torch.float64, requires_grad=True))
print(torch.Tensor([1, 2]), torch.Tensor(2, 3).shape, torch.FloatTensor([1, 2]), torch.LongTensor([1, 2]))
print(torch.tensor([1, 2.5]), torch.tensor([[1], [2]]).shape, torch.tensor((1, 2, 3)))
print(torch.logspace(0, 2, 3), torch.zeros(2, 2).fill_(3), torch.ones(3).new_zeros(2), torch.ones(2).new_ones((1, 2)))
'''
PROGS["inplace_errors"] = '''
def run(f):
    try:
        f()
        print("ok")
    except Exception as e:
        print(type(e).__name__, e)
w = torch.tensor([1., 2.], requires_grad=True)
run(lambda: w.add_(1))
run(lambda: w.mul_(2))
def setitem(): w[0] = 5.
run(setitem)
def iadd():
    global w
    w += 1
run(iadd)
def ok_nograd():
    with torch.no_grad():
        w.add_(1)
run(ok_nograd)
print(w)
def sig():
    a = torch.tensor([1., 2.], requires_grad=True)
    b = a.sigmoid()
    b.mul_(2)
    b.sum().backward()
run(sig)
def tanh():
    a = torch.tensor([1., 2.], requires_grad=True)
    b = a.tanh()
    b.add_(1)
    b.sum().backward()
run(tanh)
def expok():
    a = torch.tensor([1., 2.], requires_grad=True)
    b = a * 2
    b.add_(1)
    b.sum().backward()
    print(a.grad)
run(expok)
def leafdata():
    a = torch.tensor([1., 2.], requires_grad=True)
    a.data.mul_(2)
    print(a)
run(leafdata)
def leaf_requires():
    a = torch.tensor([1., 2.], requires_grad=True)
    (a * 2).requires_grad_(False)
run(leaf_requires)
run(lambda: torch.tensor([1, 2]).requires_grad_())
run(lambda: torch.tensor([1., 2.]).sum().backward())
run(lambda: torch.tensor([1., 2.], requires_grad=True).backward())
def viewleaf():
    a = torch.tensor([1., 2.], requires_grad=True)
    a[:1].mul_(2)
run(viewleaf)
def relu_():
    a = torch.tensor([-1., 2.], requires_grad=True)
    b = a * 1
    b.relu_()
    b.sum().backward()
    print(a.grad, b.grad_fn)
run(relu_)
'''
PROGS["retain_graph"] = '''
x = torch.tensor([1., 2.], requires_grad=True)
y = (x ** 2).sum()
y.backward(retain_graph=True)
print(x.grad)
y.backward()
print(x.grad)
try:
    y.backward()
except RuntimeError as e:
    print("RuntimeError", str(e)[:120])
z = x.exp().sum()
g1 = torch.autograd.grad(z, x, retain_graph=True)
g2 = torch.autograd.grad(z, x)
print(g1, g2, g1[0].requires_grad)
a = x * 2
b = a.sum()
c = (a * a).sum()
b.backward(retain_graph=True)
c.backward()
print(x.grad)
'''
PROGS["hooks_more"] = '''
x = torch.tensor([1., 2., 3.], requires_grad=True)
grads = {}
def save_grad(name):
    def hook(grad):
        grads[name] = grad
    return hook
y = x * 3
z = y.pow(2).mean()
y.register_hook(save_grad("y"))
z.register_hook(save_grad("z"))
z.backward()
print(grads["y"], grads["z"], x.grad)
x.grad.zero_()
h = x.register_hook(lambda g: g.clamp(max=1))
(x * 5).sum().backward()
print(x.grad)
h.remove()
x.grad = None
(x * 5).sum().backward()
print(x.grad)
a = torch.tensor([2.], requires_grad=True)
b = a * a
b.register_hook(lambda g: print("b grad", g))
b.retain_grad()
c = b * 3
c.backward()
print(b.grad, a.grad)
'''
PROGS["nonscalar_gradient"] = '''
x = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)
y = x * x * 3
v = torch.tensor([[1., 0.1], [0.01, 0.001]])
y.backward(v)
print(x.grad)
x.grad.zero_()
out = x @ x
out.backward(torch.ones(2, 2))
print(x.grad)
x = torch.randn(3, requires_grad=True)
y = x * 2
while y.data.norm() < 1000:
    y = y * 2
print(y.shape, y.grad_fn is not None)
v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
y.backward(v)
print(x.grad.shape)
z = torch.ones(2, 2, requires_grad=True)
try:
    (z * 2).backward()
except RuntimeError as e:
    print(e)
J = []
xx = torch.tensor([1., 2., 3.], requires_grad=True)
yy = xx ** 2
for i in range(3):
    e = torch.zeros(3); e[i] = 1
    g, = torch.autograd.grad(yy, xx, e, retain_graph=True)
    J.append(g)
print(torch.stack(J))
'''
PROGS["higher_order_more"] = '''
x = torch.tensor(3.0, requires_grad=True)
y = x ** 3
dy, = torch.autograd.grad(y, x, create_graph=True)
d2y, = torch.autograd.grad(dy, x, create_graph=True)
d3y, = torch.autograd.grad(d2y, x)
print(dy, d2y, d3y)
x = torch.linspace(-2, 2, 5, requires_grad=True)
y = torch.sin(x)
g, = torch.autograd.grad(y.sum(), x, create_graph=True)
h, = torch.autograd.grad(g.sum(), x)
print(g, h, torch.cos(x).detach(), -torch.sin(x).detach())
w = torch.tensor([1., 2.], requires_grad=True)
loss = (w ** 4).sum()
grad, = torch.autograd.grad(loss, w, create_graph=True)
pen = grad.pow(2).sum()
pen.backward()
print(grad, w.grad)
x = torch.tensor([0.5, 1.5], requires_grad=True)
y = (x.tanh() * x.exp()).sum()
y.backward(create_graph=True)
gx = x.grad.clone()
x.grad = None
gx.sum().backward()
print(gx, x.grad)
'''
PROGS["nn_module_custom"] = '''
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(3, 4)
        self.fc2 = torch.nn.Linear(4, 1)
    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
net = Net()
with torch.no_grad():
    for name, p in net.named_parameters():
        p.copy_(torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape) / 10 - 0.3)
print(net)
for name, p in net.named_parameters():
    print(name, p.shape, p.requires_grad)
print(sum(p.numel() for p in net.parameters()))
x = torch.tensor([[1., 2., 3.], [0., -1., 0.5]])
out = net(x)
print(out, out.shape)
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
for i in range(5):
    opt.zero_grad()
    loss = ((net(x) - torch.tensor([[1.], [-1.]])) ** 2).mean()
    loss.backward()
    opt.step()
print(loss.item(), net.fc1.weight.grad)
net.zero_grad()
print(net.fc1.weight.grad)
print(net.fc2.bias, list(net.state_dict().keys()))
net.eval(); print(net.training); net.train(); print(net.training)
for p in net.fc1.parameters():
    p.requires_grad = False
print([p.requires_grad for p in net.parameters()])
'''
PROGS["adam_loop"] = '''
w = torch.tensor([[0.5, -0.5], [0.3, 0.8]], requires_grad=True)
b = torch.zeros(2, requires_grad=True)
X = torch.tensor([[1., 2.], [2., 1.], [0., 1.], [1., 0.]])
Y = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [0., 0.]])
opt = torch.optim.Adam([w, b], lr=0.05)
for epoch in range(50):
    pred = torch.sigmoid(X @ w + b)
    loss = torch.nn.functional.binary_cross_entropy(pred, Y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if epoch % 10 == 0:
        print(epoch, f"{loss.item():.5f}")
print(w, b)
print(torch.nn.BCELoss()(pred, Y), torch.nn.BCEWithLogitsLoss()(X @ w + b, Y))
print(torch.nn.L1Loss()(pred, Y), torch.nn.functional.l1_loss(pred, Y))
'''
PROGS["manual_training_nograd"] = '''
X = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
y = torch.tensor([[2.0], [4.0], [6.0], [8.0]])
w = torch.tensor([[0.0]], requires_grad=True)
b = torch.tensor([0.0], requires_grad=True)
lr = 0.01
for epoch in range(100):
    y_hat = X @ w + b
    loss = ((y_hat - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
    w.grad.zero_()
    b.grad.zero_()
    if epoch % 25 == 0:
        print(f"epoch {epoch+1}: w = {w.item():.3f}, loss = {loss.item():.8f}")
print(f"Prediction after training: f(5) = {(torch.tensor([[5.0]]) @ w + b).item():.3f}")
print(w, b, w.grad, loss)
w.data = w.data * 0
print(w, w.requires_grad)
'''
PROGS["misc_ops"] = '''
x = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)
print(torch.mm(x, x), torch.matmul(x, torch.tensor([1., 1.])), x @ x.T, torch.bmm(x.unsqueeze(0), x.unsqueeze(0)).shape)
print(torch.outer(torch.tensor([1., 2.]), torch.tensor([3., 4., 5.])), torch.dot(torch.tensor([1., 2.]), torch.tensor([3., 4.])))
print(x.mm(x).grad_fn, torch.matmul(x, torch.tensor([1., 1.])).grad_fn, (x @ x).grad_fn, x.T.grad_fn, x.mT.grad_fn)
print(x.diag() if hasattr(x, "diag") else None, x.trace() if hasattr(x, "trace") else None)
print(torch.sign(torch.tensor([-2., 0., 3.])), torch.tensor([-2.5, 2.5]).abs(), torch.maximum(torch.tensor([1., 5.]), torch.tensor([3., 2.])))
print(torch.tensor([3., 1., 2.]).sort(), torch.tensor([3., 1., 2.]).argsort(), torch.topk(torch.tensor([3., 1., 2.]), 2))
print(torch.tensor([1, 2, 2, 3]).unique(), torch.tensor([[1., 2.], [3., 4.]]).flip(0), torch.tensor([1., 2., 3.]).roll(1))
print(torch.chunk(torch.arange(6), 3), torch.split(torch.arange(5), 2), torch.arange(6).chunk(2))
print(torch.tril(torch.ones(3, 3)), torch.triu(torch.ones(2, 2)), torch.zeros(2).add(1).mul(3).sub(1).div(2))
'''
PROGS["jacobian_vjp"] = '''
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = torch.stack([x[0] * x[1], x[1] ** 2, x[2].exp()])
J = torch.stack([torch.autograd.grad(y[i], x, retain_graph=True)[0] for i in range(3)])
print(J)
v = torch.tensor([1.0, 0.5, 0.1])
y.backward(v)
print(x.grad, v @ J)
w = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)
out = w.sum(dim=1) * torch.tensor([2., 3.])
print(torch.autograd.grad(out, w, torch.ones_like(out)))
'''
PROGS["grad_accumulation"] = '''
w = torch.tensor([1.0, -1.0], requires_grad=True)
data = [torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0]), torch.tensor([3.0, 0.0])]
for i, d in enumerate(data):
    loss = (w * d).sum() ** 2 / len(data)
    loss.backward()
    print(i, w.grad)
with torch.no_grad():
    w.sub_(0.1 * w.grad)
w.grad = None
print(w, w.grad)
for _ in range(2):
    (w ** 2).sum().backward()
print(w.grad)
w.grad.data.zero_()
print(w.grad)
'''
PROGS["detach_patterns"] = '''
x = torch.tensor([2.0, 3.0], requires_grad=True)
y = x ** 2
z = y.detach() * x
z.sum().backward()
print(x.grad, y.detach().requires_grad, y.detach().is_leaf)
a = torch.tensor([1.0], requires_grad=True)
b = a * 2
c = b.detach()
c.add_(10)
print(b, c)
d = torch.tensor([1.0, 2.0], requires_grad=True)
e = d.clone()
print(e.requires_grad, e.grad_fn, e.is_leaf)
f = d.detach().clone().requires_grad_(True)
print(f.is_leaf, f.requires_grad, f)
g = torch.tensor([3.0], requires_grad=True)
h = g.data
h += 1
print(g, g.grad_fn)
print(x.detach(), x.detach().numpy())
'''
PROGS["requires_grad_flags"] = '''
a = torch.ones(2, 2)
print(a.requires_grad)
a.requires_grad_()
print(a.requires_grad, a.is_leaf)
b = (a * 3).sum()
print(b.requires_grad, b.grad_fn, b)
c = torch.ones(2)
c.requires_grad = True
print(c)
d = torch.zeros(3, requires_grad=False)
print((d + c[0]).requires_grad)
with torch.no_grad():
    e = c * 2
print(e.requires_grad, e.is_leaf, e.grad_fn)
print(torch.is_grad_enabled())
x = torch.tensor(1.0, requires_grad=True)
with torch.inference_mode():
    y = x * 2
print(y.requires_grad)
frozen = torch.nn.Linear(2, 2)
for p in frozen.parameters():
    p.requires_grad_(False)
print(all(not p.requires_grad for p in frozen.parameters()))
'''
PROGS["function_ctx"] = '''
class MulConst(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor, constant):
        ctx.constant = constant
        return tensor * constant
    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None
NEEDS = []
class MulAdd(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        NEEDS.append(ctx.needs_input_grad)
        return a * b + a
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g * (b + 1) if ctx.needs_input_grad[0] else None
        gb = g * a if ctx.needs_input_grad[1] else None
        return ga, gb
x = torch.tensor([1., 2.], requires_grad=True)
k = torch.tensor([3., 4.])
y = MulConst.apply(x, 5.0)
z = MulAdd.apply(y, k)
print("needs", NEEDS)
z.sum().backward()
print(y, z, x.grad)
print(type(z.grad_fn).__name__, z.grad_fn.next_functions[0][0].name() if z.grad_fn.next_functions[0][0] else None)
with torch.no_grad():
    print(MulConst.apply(x, 2.0).requires_grad)
dtype64 = torch.tensor([0.2, 0.4], dtype=torch.float64, requires_grad=True)
print(torch.autograd.gradcheck(lambda t: MulAdd.apply(t, t * 2), (dtype64,), eps=1e-6, atol=1e-4))
'''
PROGS["module_hooks_params"] = '''
torch.manual_seed(0)
lin = torch.nn.Linear(3, 2, bias=True)
with torch.no_grad():
    lin.weight.copy_(torch.tensor([[0.1, 0.2, 0.3], [-0.1, 0.0, 0.5]]))
    lin.bias.copy_(torch.tensor([0.01, -0.02]))
print(lin.weight.shape, lin.bias.shape, lin.in_features, lin.out_features)
x = torch.tensor([[1., 2., 3.]])
y = lin(x)
print(y)
y.sum().backward()
print(lin.weight.grad, lin.bias.grad)
print(isinstance(lin.weight, torch.nn.Parameter), lin.weight.is_leaf, type(lin.weight.grad).__name__)
p = torch.nn.Parameter(torch.ones(2))
print(p, p.requires_grad)
print(torch.nn.Parameter(torch.ones(2), requires_grad=False))
seq = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid())
print(seq[0], len(seq), [type(m).__name__ for m in seq])
print(torch.nn.ReLU()(torch.tensor([-1., 1.])), torch.nn.Tanh()(torch.tensor([0.])), torch.nn.Softmax(dim=0)(torch.tensor([1., 1.])))
print(torch.nn.LeakyReLU(0.2)(torch.tensor([-1., 1.])), torch.nn.Flatten()(torch.ones(2, 3, 4)).shape)
'''
PROGS["loss_functions"] = '''
pred = torch.tensor([[0.2, 0.8], [0.6, 0.4], [0.9, 0.1]], requires_grad=True)
target = torch.tensor([[0., 1.], [1., 0.], [1., 0.]])
for loss in [torch.nn.MSELoss(), torch.nn.L1Loss(), torch.nn.BCELoss(), torch.nn.MSELoss(reduction="sum"), torch.nn.BCELoss(reduction="none")]:
    out = loss(pred, target)
    print(type(loss).__name__, out)
l = torch.nn.functional.mse_loss(pred, target)
l.backward()
print(pred.grad)
logits = torch.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]], requires_grad=True)
labels = torch.tensor([1, 2])
ce = torch.nn.CrossEntropyLoss()(logits, labels)
nll = torch.nn.NLLLoss()(torch.log_softmax(logits, dim=1), labels)
print(ce, nll, ce.item() == nll.item())
ce.backward()
print(logits.grad)
print(torch.nn.CrossEntropyLoss(reduction="none")(logits, labels))
bce = torch.nn.BCEWithLogitsLoss()(torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.0, 0.0, 1.0]))
print(bce)
'''
PROGS["indexing_assign"] = '''
x = torch.zeros(3, 4)
x[0] = 1
x[1, 2] = 5
x[:, 3] = torch.tensor([7., 8., 9.])
x[2, :2] = -1
print(x)
x[x > 4] = 0
print(x)
x[[0, 2], [0, 1]] = 3.
print(x)
y = torch.arange(10)
y[y % 2 == 0] = 0
print(y, y[-3:], y[::3], y[torch.tensor([1, 3])])
m = torch.eye(3)
m[1] += 2
m[:, 0] *= 5
print(m)
print(x[0].shape, x[0:1].shape, x[:, 0].shape, x[..., 1].shape, x[None, :, None].shape)
try:
    x[5]
except IndexError as e:
    print("IndexError", e)
'''
PROGS["broadcasting"] = '''
a = torch.arange(3.).reshape(3, 1)
b = torch.arange(4.)
print(a + b, (a + b).shape, a * b, a - b.reshape(1, 4))
w = torch.tensor([[1., 2., 3.]], requires_grad=True)
c = torch.ones(4, 3) * w
c.sum().backward()
print(w.grad)
s = torch.tensor(2.0, requires_grad=True)
v = torch.tensor([1., 2., 3.])
(s * v).sum().backward()
print(s.grad)
try:
    torch.ones(3) + torch.ones(4)
except RuntimeError as e:
    print(e)
print(torch.ones(2, 1, 3).expand(2, 4, 3).shape, torch.broadcast_to(torch.tensor([1, 2]), (2, 2)))
'''
PROGS["sgd_variants"] = '''
def run(opt_fn, steps=5):
    w = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    opt = opt_fn([w])
    for _ in range(steps):
        opt.zero_grad()
        loss = ((w - torch.tensor([0.5, 0.5, 0.5])) ** 2).sum() + 0.1 * w.abs().sum()
        loss.backward()
        opt.step()
    return w
print(run(lambda p: torch.optim.SGD(p, lr=0.1)))
print(run(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)))
print(run(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.1)))
print(run(lambda p: torch.optim.Adam(p, lr=0.1)))
print(run(lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.9), eps=1e-6)))
w = torch.tensor([1.0], requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)
print(opt.param_groups[0]["lr"], len(opt.param_groups), opt.param_groups[0]["momentum"])
for g in opt.param_groups:
    g["lr"] = 0.01
(w * 3).sum().backward(); opt.step()
print(w)
opt.zero_grad()
print(w.grad)
'''
PROGS["tensor_math_print"] = '''
x = torch.linspace(0, 2 * 3.14159265, 7)
print(x)
print(torch.sin(x))
print(torch.cos(x).abs() < 1e-5)
print(torch.exp(torch.tensor([0., 1., 10., 20.])))
print(torch.log(torch.tensor([1e-10, 1., 1e10])))
print(torch.sqrt(torch.tensor([2., 3., 4.])))
print(torch.tensor([1., 2., 3.]).pow(2), torch.tensor([4., 9.]) ** 0.5, 2 ** torch.tensor([1., 2., 3.]))
print(torch.tensor([-1.5, 0.5]).sigmoid(), torch.tensor([-1.5, 0.5]).tanh(), torch.relu(torch.tensor([-1.5, 0.5])))
print(torch.softmax(torch.tensor([[1., 2., 3.], [1., 1., 1.]]), dim=1))
print(torch.tensor([1., 2., 3.]).mean(), torch.tensor([1., 2., 3., 4.]).std(), torch.tensor([[1., 2.], [3., 4.]]).var(dim=0))
print(torch.tensor([1e-3, 2e-3]), torch.tensor([1e3, 2e3]), torch.tensor([1e5, 2e5]))
print(torch.tensor([3.3333333, 1e-2]), torch.tensor([0.001, 0.01]))
print(torch.tensor([[1.23456, 123.456], [0.00123, 12345.6]]))
'''
PROGS["print_edge"] = '''
print(torch.tensor([-0.0, 1.0, 2.0]))
print(torch.tensor([1e8, 1.0]), torch.tensor([1e9, 2.0]), torch.tensor([123456.0, 1.0]))
print(torch.tensor([0.5, -0.25]) * 1e-5)
print(torch.randn(100, 100).shape)
print(torch.arange(2000.).reshape(2, 1000) / 3)
print(torch.arange(10000.).reshape(100, 100) * 1e6)
print(torch.tensor([1.0, float("nan"), float("-inf")]), torch.tensor([[float("nan")]]))
print(torch.tensor([1e-20, 1e20]), torch.tensor([2.0, 4.0], dtype=torch.float64) / 3)
print(torch.tensor([[1, -2], [300, 4]]), torch.tensor([-5]), torch.arange(-3, 3))
print(torch.tensor([0.1, 0.25, 123.5]), torch.tensor([1.0, 2.5], requires_grad=True) * 1e-6)
print(torch.arange(60.).reshape(3, 4, 5))
print(torch.ones(3, 1, 2), torch.zeros(1, 1), torch.tensor([[[]]]).shape)
print(torch.linspace(-1, 1, 12).reshape(3, 4) * torch.linspace(0.5, 100, 4))
print(torch.tensor([1.2345678e-3, 1.0, 10.0]))
print(torch.tensor(1234567.0), torch.tensor(0.000123), torch.tensor(-1.5e-7))
x = torch.arange(16.).reshape(4, 4).requires_grad_()
print(x * 2, x.sum(1))
print(repr(torch.tensor([1., 2.])), str(torch.tensor([True])), f"{torch.tensor(3.5)}")
print(torch.tensor([1.5, 2.5], dtype=torch.float16), torch.tensor([1, 2], dtype=torch.int16))
'''
PROGS["common_errors"] = '''
def run(f):
    try:
        r = f()
        print("ok", r)
    except Exception as e:
        print(type(e).__name__, str(e)[:160])
x = torch.arange(6.).reshape(2, 3)
run(lambda: x.t().view(6))
run(lambda: x.t().reshape(6))
run(lambda: x.t().contiguous().view(6))
run(lambda: x.view(4, 2))
run(lambda: x.view(-1, 4))
run(lambda: torch.ones(2, 3) @ torch.ones(2))
run(lambda: torch.ones(3).dot(torch.ones(4)))
run(lambda: torch.mm(torch.ones(2, 3), torch.ones(4, 2)))
run(lambda: torch.cat([torch.ones(2, 3), torch.ones(2, 4)]))
run(lambda: torch.stack([torch.ones(2), torch.ones(3)]))
run(lambda: torch.ones(2, 3).sum(dim=2))
run(lambda: torch.ones(2, 3)[2])
run(lambda: torch.ones(2, 3)[:, 3])
run(lambda: torch.tensor([[1, 2], [3]]))
run(lambda: torch.ones(3, requires_grad=True).numpy())
run(lambda: torch.ones(2).item())
run(lambda: torch.nn.functional.cross_entropy(torch.ones(2, 3), torch.tensor([0, 3])))
run(lambda: torch.ones(2, 3).squeeze(0).shape)
run(lambda: torch.ones(2, 3).unsqueeze(3))
run(lambda: torch.ones(2, 3).permute(0))
run(lambda: torch.ones(2, 2).expand(3, 3))
run(lambda: torch.zeros(2, requires_grad=True).view(2).add_(1))
'''
PROGS["grad_fn_names_more"] = '''
a = torch.tensor([[1., -2.], [3., 4.]], requires_grad=True)
b = torch.tensor([0.5, 2.0], requires_grad=True)
outs = [a + b, a * b, a / b, a - b, b - 1, 1 - b, 2 * b, b * 2, b / 2, 2 / b, b ** 2, b.pow(3), torch.exp(b), a.mean(0),
        a.sum(1, keepdim=True), a.max(0).values, a.min(1)[0], a.amax(1), a.argmax(), torch.matmul(a, b), a.mm(a), a.matmul(a),
        b.unsqueeze(1), a.squeeze(), a.view(4), a.reshape(-1), a.flatten(), a.T, a.mT, a.permute(1, 0), a[0], a[:, 0], a[..., 1],
        a[a > 0], b.repeat(2), b.expand(3, 2), torch.cat((a, a), 1), torch.stack((b, b)), a.clamp(min=0), a.relu(), a.abs(),
        torch.where(a > 0, a, 0.), a.masked_fill(a > 0, 0.), a.float(), a.double(), a.to(torch.float64), a.clone(), a.detach(),
        a.norm(), a.std(), a.var(), a.prod(), a.cumsum(0), a.softmax(0), a.log_softmax(1), a.sigmoid(), a.tanh(), a.sin(),
        a.cos(), (a * 1).sqrt(), b.log(), b.reciprocal(), b.rsqrt(), a.neg(), -a, a.square(), a.t(), torch.outer(b, b),
        a.sum(), b @ b, a @ b, b @ a, torch.nn.functional.mse_loss(b, b * 2), torch.nn.functional.relu(a)]
print([type(o.grad_fn).__name__ if o.grad_fn is not None else None for o in outs])
'''
PROGS["two_layer_manual"] = '''
N, D_in, H, D_out = 8, 5, 4, 2
x = torch.linspace(-1, 1, N * D_in).reshape(N, D_in)
y = torch.linspace(0, 1, N * D_out).reshape(N, D_out)
w1 = (torch.arange(D_in * H, dtype=torch.float32).reshape(D_in, H) / 40 - 0.2).requires_grad_()
w2 = (torch.arange(H * D_out, dtype=torch.float32).reshape(H, D_out) / 10 - 0.3).requires_grad_()
learning_rate = 1e-2
for t in range(100):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    if t % 25 == 0:
        print(t, f"{loss.item():.6f}")
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
print(w2)
h = x.mm(w1)
h_relu = h.clamp(min=0)
y_pred = h_relu.mm(w2)
grad_y_pred = 2.0 * (y_pred - y)
grad_w2 = h_relu.t().mm(grad_y_pred)
print(grad_w2)
'''
PROGS["device_agnostic"] = """
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(device, repr(device), device.type, torch.ones(2).device, torch.ones(2).to(device), torch.cuda.is_available())
m = torch.nn.Linear(1, 1).to(device)
print(type(m).__name__, torch.ones(2).to(device, torch.float64).dtype, torch.ones(2).to(device=device).dtype)
x = torch.tensor([1., 2.], requires_grad=True).to(device)
print(x.is_leaf, x.device == torch.ones(1).device)
for f in (lambda: torch.ones(2).to("cuda"), lambda: torch.ones(2).cuda(), lambda: torch.device("cuda")):
    try:
        f()
    except Exception as e:
        print(type(e).__name__, e)
"""
PROGS["forward_ad"] = '''
fwAD = torch.autograd.forward_ad  # the forward-mode AD tutorial, with names bound as attributes
nn = torch.nn
jvp, jacfwd, jacrev, hessian = torch.func.jvp, torch.func.jacfwd, torch.func.jacrev, torch.func.hessian

primal = torch.linspace(-1.0, 1.0, 12).reshape(3, 4)
tangent = torch.linspace(0.5, -0.5, 12).reshape(3, 4)

def fn(x, y):
    return x ** 2 + y ** 2

with fwAD.dual_level():
    dual_input = fwAD.make_dual(primal, tangent)
    print(fwAD.unpack_dual(dual_input).tangent is tangent)
    plain_tensor = torch.ones(3, 4)
    dual_output = fn(dual_input, plain_tensor)
    p, jvp_out = fwAD.unpack_dual(dual_output)
    print(p)
    print(jvp_out)
    print(fwAD.unpack_dual(plain_tensor).tangent)
    print(fwAD.unpack_dual(dual_output.argmax()).tangent)
print(fwAD.unpack_dual(dual_output).tangent)

model = nn.Linear(4, 2)
with torch.no_grad():
    model.weight.copy_(torch.linspace(-0.4, 0.4, 8).reshape(2, 4))
    model.bias.copy_(torch.tensor([0.1, -0.1]))
params = {name: p for name, p in model.named_parameters()}
tangents = {name: torch.ones_like(p) * 0.5 for name, p in params.items()}
with fwAD.dual_level():
    for name, p in params.items():
        delattr(model, name)
        setattr(model, name, fwAD.make_dual(p, tangents[name]))
    out = model(primal).tanh().sum(1)
    print(fwAD.unpack_dual(out).tangent)

class Fn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, foo):
        result = torch.exp(foo)
        ctx.result = result
        return result

    @staticmethod
    def backward(ctx, gO):
        return gO * ctx.result

    @staticmethod
    def jvp(ctx, gI):
        gO = gI * ctx.result
        ctx.result = None
        return gO

x = torch.tensor([0.1, 0.2, 0.3], dtype=torch.double)
t = torch.tensor([1.0, -1.0, 2.0], dtype=torch.double)
with fwAD.dual_level():
    dual_out = Fn.apply(fwAD.make_dual(x, t))
    print(fwAD.unpack_dual(dual_out).tangent)
print(torch.autograd.gradcheck(Fn.apply, (x.clone().requires_grad_(),)))

out, jvp_t = jvp(fn, (primal, torch.ones(3, 4)), (tangent, torch.zeros(3, 4)))
print(jvp_t)
f = lambda x: (x.sin() * x).sum() ** 2
print(jacfwd(lambda x: x.sin() * x.cumsum(0))(x))
print(torch.allclose(hessian(f)(x), jacrev(jacrev(f))(x)))
print(jacfwd(jacrev(f))(x))
try:
    with fwAD.dual_level():
        with fwAD.dual_level():
            pass
except RuntimeError as e:
    print(e)
'''
