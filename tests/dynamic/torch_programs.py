# ruff: noqa: E501 - program text inside strings
"""Small autograd programs run under both ``import torch`` and ``import dynamic as torch`` by
``test_vs_torch.py``: their printed output (values, grads, grad_fn names, error types and
messages) must be identical."""

PROGS = {}
PROGS["basic"] = '''
x = torch.tensor([1., 2., 3.], requires_grad=True)
w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
y = (x * w).sum()
print(y, y.grad_fn, y.grad_fn.next_functions[0][0].name())
y.backward()
print(x.grad, w.grad)
z = (x ** 2 + 3 * x).mean()
z.backward()
print(x.grad)
print(x.is_leaf, y.is_leaf, y.requires_grad, x.dtype, x.shape, x.size(0), x.dim())
'''
PROGS["repr"] = '''
print(torch.tensor([0.1, 0.2]), torch.tensor([1e-5, 1.0]), torch.tensor([1., 2.], dtype=torch.float64))
print(torch.tensor([]), torch.zeros(0, 3), torch.tensor(3), torch.tensor([True, False]))
print(torch.tensor([[1.5, 2], [3, 4]], requires_grad=True))
print(torch.arange(2000.).reshape(40, 50))
print(torch.arange(12).reshape(3, 4), torch.tensor([1e10, 1.]), torch.tensor([float('nan'), float('inf'), 1.]))
print(torch.tensor([-1.25, 100.5]), torch.tensor(2.5, dtype=torch.float64, requires_grad=True) * 2)
print(torch.linspace(0, 1, 5), torch.ones(2, 2, 2))
print(torch.tensor([1, 2], dtype=torch.int32), torch.full((2,), 7))
'''
PROGS["names"] = '''
a = torch.tensor([[1., -2., 3.], [4., 5., -6.]], requires_grad=True)
b = torch.tensor([[0.5, 1.], [2., 3.], [1., 1.]], requires_grad=True)
for t in [a + 1, 1 - a, a - a, a * 2, a / 2, -a, a ** 2, a ** a, 2 ** a, a.exp(), a.abs().log(), a.abs().sqrt(),
          a.sin(), a.cos(), a.tanh(), a.sigmoid(), a.relu(), a.abs(), a.sum(), a.sum(0), a.mean(), a.mean(1),
          a.max(), a.min(), a.max(1).values, a @ b, a.t(), a.T, a.transpose(0, 1), a.permute(1, 0), a.reshape(3, 2),
          a.view(-1), a.unsqueeze(0), a.unsqueeze(0).squeeze(), a.unsqueeze(0).squeeze(0), a[0], a[:, 1], a[0, 1], a[1:],
          a[a > 0], a[[0, 1, 0]], torch.cat([a, a]), torch.stack([a, a]), torch.where(a > 0, a, a * 2),
          torch.maximum(a, a * 2), torch.clamp(a, -1, 1), a.clamp(min=0), a.softmax(1), a.log_softmax(0), a.clone(),
          a.double(), a.expand(2, 2, 3), a[0] @ b, a @ b[:, 0], a.square(), a.logsumexp(1)]:
    print(type(t.grad_fn).__name__, t.shape)
'''
PROGS["grads"] = '''
a = torch.tensor([[1., -2., 3.], [4., 5., -6.]], requires_grad=True)
b = torch.tensor([[0.5, 1.], [2., 3.], [1., 1.]], requires_grad=True)
c = torch.tensor([0.5, -0.25, 2.0], requires_grad=True)
loss = ((a @ b).tanh().sum() + (a * c).sigmoid().mean() + (a - c).abs().max() + torch.softmax(a, 1)[:, 0].sum()
        + (a ** 2).sum(0).sqrt().sum() + torch.cat([a, c.unsqueeze(0)]).exp().sum() * 0.01)
loss.backward()
print(loss)
print(a.grad)
print(b.grad)
print(c.grad)
'''
PROGS["errors"] = '''
x = torch.ones(3, requires_grad=True)
def run(f):
    try:
        f()
        print("ok")
    except Exception as e:
        print(type(e).__name__, str(e)[:200])
run(lambda: (x * 2).backward())
run(lambda: torch.ones(2).sum().backward())
def twice():
    s = (x * x).sum(); s.backward(); s.backward()
run(twice)
run(lambda: x.add_(1))
def ver():
    y = x.exp(); y.add_(1); y.sum().backward()
run(ver)
def ver2():
    z = x.clone(); y = z * z; z.mul_(2); y.sum().backward()
run(ver2)
run(lambda: torch.tensor([1, 2], requires_grad=True))
run(lambda: torch.autograd.grad((x * 2).sum(), [x, torch.ones(2, requires_grad=True)]))
run(lambda: torch.autograd.grad((x * 2).sum(), [torch.ones(2)]))
run(lambda: (x * 2).backward(torch.ones(2)))
run(lambda: x.numpy())
run(lambda: torch.ones(3, dtype=torch.long).add_(1.5))
run(lambda: torch.ones(2, 3) @ torch.ones(2, 3))
run(lambda: torch.ones(2, 3) + torch.ones(2, 4))
run(lambda: bool(torch.ones(3)))
run(lambda: (x * 2).requires_grad_(False))
run(lambda: torch.ones(3).mean(dim=5))
run(lambda: torch.ones(3)[5])
run(lambda: torch.arange(3).mean())
print(x.grad)
'''
PROGS["inplace"] = '''
x = torch.tensor([1., 2., 3.], requires_grad=True)
y = x * 2
y.add_(1)
print(y, y._version)
y[0] = 10.
print(y, y.grad_fn.name())
y *= x
y.sum().backward()
print(x.grad)
a = torch.zeros(4)
w = torch.tensor([2.], requires_grad=True)
a[1:2] = w * 3
print(a)
a.sum().backward()
print(w.grad)
with torch.no_grad():
    x -= 0.1 * x.grad
print(x, x.requires_grad, x._version)
h = x.clone()
v = h[1:]
v.mul_(3)
print(h, h.grad_fn.name())
h.sum().backward()
print(x.grad)
p = x.detach(); p.zero_(); print(x, x._version)
'''
PROGS["higher"] = '''
x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
y = (x ** 3 * x.sin()).sum()
g, = torch.autograd.grad(y, x, create_graph=True)
print(g)
h, = torch.autograd.grad(g.sum(), x)
print(h)
z = x.tanh().sum()
z.backward(create_graph=True)
print(x.grad)
gg = torch.autograd.grad(x.grad.sum(), x)
print(gg)
u = torch.tensor(2.0, requires_grad=True)
f = u.exp() * u
d1, = torch.autograd.grad(f, u, create_graph=True)
d2, = torch.autograd.grad(d1, u, create_graph=True)
d3, = torch.autograd.grad(d2, u)
print(d1, d2, d3)
'''
PROGS["grad_api"] = '''
x = torch.tensor([1., 2.], requires_grad=True)
w = torch.tensor([3., 4.], requires_grad=True)
y = x * w
print(torch.autograd.grad(y, [x, w], grad_outputs=torch.tensor([1., 0.5]), retain_graph=True))
u = torch.tensor([1.], requires_grad=True)
print(torch.autograd.grad(y.sum(), [x, u], allow_unused=True, retain_graph=True))
print(torch.autograd.grad(y.sum(), [x, u], materialize_grads=True, retain_graph=True))
y.sum().backward(inputs=[w], retain_graph=True)
print(x.grad, w.grad)
torch.autograd.backward([y.sum(), (x * x).sum()], inputs=[x])
print(x.grad, w.grad)
y2 = x * 2
y2.backward(torch.tensor([1., 1.]))
print(x.grad)
x.grad.zero_()
print(x.grad)
m = x * 3
m.retain_grad()
n = (m * m).sum()
n.backward()
print(m.grad, m.retains_grad, x.grad)
'''
PROGS["hooks"] = '''
x = torch.tensor([1., 2., 3.], requires_grad=True)
y = x * 2
h = y.register_hook(lambda g: g * 10)
hx = x.register_hook(lambda g: print("leaf hook", g))
y.sum().backward()
print(x.grad)
h.remove(); hx.remove()
x.grad = None
y = x * 2
y.sum().backward()
print(x.grad)
seen = []
z = x.exp(); z.register_hook(lambda g: seen.append(g.clone()))
(z * z).sum().backward()
print(seen)
'''
PROGS["nograd"] = '''
x = torch.ones(2, requires_grad=True)
with torch.no_grad():
    y = x * 2
print(y.requires_grad, torch.is_grad_enabled())
@torch.no_grad()
def f(a): return a * 2
print(f(x).requires_grad)
with torch.no_grad():
    with torch.enable_grad():
        print((x * 2).requires_grad)
torch.set_grad_enabled(False)
print((x * 2).requires_grad)
torch.set_grad_enabled(True)
with torch.set_grad_enabled(False):
    print((x * 2).requires_grad)
print((x * 2).requires_grad)
d = x.detach(); print(d.requires_grad, d.is_leaf)
print(x.data, x.data.requires_grad)
'''
PROGS["function"] = '''
class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x ** 3 * k
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x ** 2 * ctx.k, None
x = torch.tensor([1., 2.], requires_grad=True)
y = Cube.apply(x, 2.0)
print(y, type(y.grad_fn).__name__)
y.sum().backward(create_graph=True)
print(x.grad)
g2, = torch.autograd.grad(x.grad.sum(), x)
print(g2)
print(torch.autograd.gradcheck(lambda t: Cube.apply(t, 1.5), (torch.tensor([0.3, 0.7], dtype=torch.float64, requires_grad=True),)))
'''
PROGS["nn"] = '''
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
print(model)
print([(n, tuple(p.shape)) for n, p in model.named_parameters()])
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.linspace(-1, 1, p.numel()).reshape(p.shape))
x = torch.tensor([[1., 2.], [3., -1.]])
out = model(x)
print(out, out.grad_fn)
loss = torch.nn.MSELoss()(out, torch.tensor([[1.], [0.]]))
loss.backward()
print(loss, [p.grad for p in model.parameters()])
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
for _ in range(3):
    opt.zero_grad()
    l = torch.nn.functional.mse_loss(model(x), torch.tensor([[1.], [0.]]))
    l.backward(); opt.step()
print(l, list(model.parameters())[0])
opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.1)
for _ in range(3):
    opt.zero_grad()
    l = torch.nn.CrossEntropyLoss()(torch.cat([model(x), -model(x)], 1), torch.tensor([0, 1]))
    l.backward(); opt.step()
print(l, l.grad_fn, list(model.parameters())[2])
print(model.state_dict().keys())
'''
PROGS["checkpoint_optim"] = '''
w = torch.tensor([[0.5, -0.2], [0.1, 0.3]], requires_grad=True)
x = torch.tensor([[1.0, 2.0], [-1.0, 0.5]], requires_grad=True)
def seg(a, b):
    return (a @ b).tanh().exp()
y = torch.utils.checkpoint.checkpoint(seg, x, w, use_reentrant=True).sum()
y.backward()
print(y, x.grad, w.grad)
p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
opt = torch.optim.Adam([p], lr=0.1, amsgrad=True, weight_decay=0.01)
for g in ([0.5, -1.0, 2.0], [0.1, 0.3, -0.2], [-1.0, 0.0, 1.0]):
    opt.zero_grad()
    (p * torch.tensor(g)).sum().backward()
    opt.step()
print(p)
q = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
opt = torch.optim.SGD([q], lr=0.1, momentum=0.9, dampening=0.1)
for _ in range(3):
    opt.zero_grad(); (q ** 2).sum().backward(); opt.step()
print(q)
'''
PROGS["views_detach"] = '''
x = torch.arange(6.).reshape(2, 3).requires_grad_()
print(x)
y = x * 1
r = y[1]
r[0] = 0.
print(y, y._version, r._version)
d = y.detach()
print(d.requires_grad, d._version)
z = (y ** 2).sum()
z.backward()
print(x.grad)
print(x.T.shape, x.t().is_leaf, x.flatten(), x.view(3, 2)[1:, :1])
print(torch.tensor([[1., 2.], [3., 4.]]).max(dim=1))
'''
