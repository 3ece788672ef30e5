# ruff: noqa: E501 - program text inside strings
"""Autograd-centred programs as a learner writes them from PyTorch's public material (issue #15,
third round): the autograd tutorial (``autograd.grad``, hooks, ``detach``, ``requires_grad_``),
"Learning PyTorch with examples" (a polynomial fit four ways), a custom ``autograd.Function``
checked with ``gradcheck``, and ``torch.func`` regression with per-sample gradients. Written
for this project, not copied; weights come from formulas. ``test_torch_corpus_learner.py``
checks them against PyTorch's recorded output."""

PROGRAMS: dict[str, str] = {}

PROGRAMS["autograd_tutorial_tour"] = '''
x = torch.ones(5)
y = torch.zeros(3)
w = torch.linspace(-1, 1, 15).reshape(5, 3).requires_grad_()
b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {z.grad_fn}"[:44])
print(f"Gradient function for loss = {loss.grad_fn}"[:70])
loss.backward()
print(w.grad)
print(b.grad)
try:
    loss.backward()
except RuntimeError as e:
    print(str(e)[:90])
z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)
z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad, z_det.grad_fn, z_det.is_leaf)
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nSecond call\\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nCall after zeroing gradients\\n{inp.grad}")
a = torch.tensor([2., 3.], requires_grad=True)
c = torch.tensor([6., 4.], requires_grad=True)
Q = 3 * a ** 3 - c ** 2
ga, gc = torch.autograd.grad(Q.sum(), (a, c), retain_graph=True)
print(ga, gc, 9 * a ** 2 == ga, -2 * c == gc)
external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)
print(a.grad, c.grad)
u = torch.tensor([1.0, 2.0], requires_grad=True)
v = torch.tensor([3.0, 4.0], requires_grad=True)
gu, gv = torch.autograd.grad((u * 2).sum(), (u, v), allow_unused=True)
print(gu, gv)
gu, gv = torch.autograd.grad((u * 2).sum(), (u, v), allow_unused=True, materialize_grads=True)
print(gu, gv)
try:
    torch.autograd.grad((u * 2).sum(), (u, v))
except RuntimeError as e:
    print(e)
seen = []
h = u.register_hook(lambda g: seen.append(g.clone()))
m = u * v
m.retain_grad()
m.register_hook(lambda g: g * 10)
(m ** 2).sum().backward()
print(seen, m.grad, u.grad, v.grad)
h.remove()
u.grad = None
(u * 3).sum().backward()
print(len(seen), u.grad)
p = torch.tensor([1.0, -1.0])
print(p.requires_grad, p.requires_grad_().requires_grad, p.is_leaf)
q = (p * 2).detach_()
print(q.requires_grad, q.grad_fn)
try:
    p.detach().requires_grad_(False); (p * 2).requires_grad_(False)
except RuntimeError as e:
    print(e)
r = p.sum() * 2
print(r.grad_fn.next_functions[0][0].next_functions, r.grad_fn.name())
with torch.set_grad_enabled(False):
    print((p * 2).requires_grad, torch.is_grad_enabled())
@torch.no_grad()
def doubler(t):
    return t * 2
print(doubler(p).requires_grad, torch.is_grad_enabled())
with torch.inference_mode():
    print((p + 1).requires_grad)
'''

PROGRAMS["poly_fit_four_ways"] = '''
import math
import numpy as np

x_np = np.linspace(-math.pi, math.pi, 200)
y_np = np.sin(x_np)
a, b, c, d = 0.1, -0.2, 0.05, 0.3
learning_rate = 1e-6
for t in range(300):
    y_pred = a + b * x_np + c * x_np ** 2 + d * x_np ** 3
    loss = np.square(y_pred - y_np).sum()
    grad_y_pred = 2.0 * (y_pred - y_np)
    a -= learning_rate * grad_y_pred.sum()
    b -= learning_rate * (grad_y_pred * x_np).sum()
    c -= learning_rate * (grad_y_pred * x_np ** 2).sum()
    d -= learning_rate * (grad_y_pred * x_np ** 3).sum()
print(f'numpy: y = {a:.4f} + {b:.4f} x + {c:.4f} x^2 + {d:.4f} x^3')

dtype = torch.float64
x = torch.linspace(-math.pi, math.pi, 200, dtype=dtype)
y = torch.sin(x)
a, b, c, d = (torch.tensor(v, dtype=dtype) for v in (0.1, -0.2, 0.05, 0.3))
for t in range(300):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum().item()
    if t % 100 == 99:
        print(t, f"{loss:.6f}")
    grad_y_pred = 2.0 * (y_pred - y)
    a -= learning_rate * grad_y_pred.sum()
    b -= learning_rate * (grad_y_pred * x).sum()
    c -= learning_rate * (grad_y_pred * x ** 2).sum()
    d -= learning_rate * (grad_y_pred * x ** 3).sum()
print(f'tensors: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3')

a, b, c, d = (torch.tensor(v, dtype=dtype, requires_grad=True) for v in (0.1, -0.2, 0.05, 0.3))
for t in range(300):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= learning_rate * p.grad
            p.grad = None
print(f'autograd: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3')

p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
print(xx.shape, xx.dtype)
model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1)).double()
with torch.no_grad():
    model[0].weight.copy_(torch.tensor([[-0.2, 0.05, 0.3]]))
    model[0].bias.fill_(0.1)
loss_fn = torch.nn.MSELoss(reduction='sum')
for t in range(300):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad
linear_layer = model[0]
print(f'nn: y = {linear_layer.bias.item():.4f} + {linear_layer.weight[:, 0].item():.4f} x + {linear_layer.weight[:, 1].item():.4f} x^2 + {linear_layer.weight[:, 2].item():.4f} x^3')

class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.1, dtype=dtype))
        self.b = torch.nn.Parameter(torch.tensor(-0.2, dtype=dtype))
        self.c = torch.nn.Parameter(torch.tensor(0.05, dtype=dtype))
        self.d = torch.nn.Parameter(torch.tensor(0.3, dtype=dtype))
    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
    def string(self):
        return f'y = {self.a.item():.4f} + {self.b.item():.4f} x + {self.c.item():.4f} x^2 + {self.d.item():.4f} x^3'

model = Polynomial3()
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
for t in range(300):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    if t % 100 == 99:
        print(t, f"{loss.item():.6f}")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f'Result: {model.string()}')
print(optimizer)

class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c, self.d, self.e = (torch.nn.Parameter(torch.tensor(v, dtype=dtype)) for v in (0.1, -0.2, 0.05, 0.3, 0.0))
    def forward(self, x, n_extra):
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, 4 + n_extra):
            y = y + self.e * x ** exp
        return y

model = DynamicNet()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
for t in range(60):
    loss = criterion(model(x, t % 3), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"dynamic: {loss.item():.6f} e={model.e.item():.3e}")
'''

PROGRAMS["custom_function_gradcheck"] = '''
from torch.autograd import Function, gradcheck

class LegendrePolynomial3(Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)

class MulConstant(Function):
    @staticmethod
    def forward(tensor, constant):
        return tensor * constant

    @staticmethod
    def setup_context(ctx, inputs, output):
        tensor, constant = inputs
        ctx.constant = constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None

class LinearFunction(Function):
    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias

P3 = LegendrePolynomial3.apply
x = torch.linspace(-1, 1, 5, dtype=torch.double, requires_grad=True)
y = P3(x)
print(y, y.grad_fn.__class__.__name__)
y.sum().backward()
print(x.grad)
print(gradcheck(P3, (x,), eps=1e-6, atol=1e-4))
print(MulConstant.apply(x, 3.0).sum().item(), gradcheck(lambda t: MulConstant.apply(t, 3.0), (x,)))
linear = LinearFunction.apply
inp = (torch.linspace(-1, 1, 6, dtype=torch.double).reshape(2, 3).requires_grad_(),
       torch.linspace(0, 1, 12, dtype=torch.double).reshape(4, 3).requires_grad_(),
       torch.linspace(-0.5, 0.5, 4, dtype=torch.double).requires_grad_())
print(gradcheck(linear, inp, eps=1e-6, atol=1e-4))
out = linear(*inp)
print(out)
out.sum().backward()
print(inp[2].grad, inp[0].grad)
print(linear(inp[0].detach(), inp[1]).grad_fn is not None, linear(inp[0].detach(), inp[1].detach()).requires_grad)

class BadGrad(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2
    @staticmethod
    def backward(ctx, g):
        return g * 3

try:
    gradcheck(BadGrad.apply, (x,))
except Exception as e:
    print(type(e).__name__, str(e).splitlines()[0])
print(gradcheck(BadGrad.apply, (x,), raise_exception=False))
'''

PROGRAMS["func_regression_per_sample"] = '''
from torch.func import grad, vmap, grad_and_value

xs = torch.linspace(-1, 1, 8).unsqueeze(1)
ys = 3 * xs.squeeze(1) - 0.5 + 0.1 * torch.cos(xs.squeeze(1) * 7)
w = torch.tensor([0.5])
b = torch.tensor(0.0)

def predict(w, b, x):
    return x @ w + b

def loss_fn(w, b, x, y):
    return ((predict(w, b, x) - y) ** 2).mean()

for step in range(50):
    gw, gb = grad(loss_fn, argnums=(0, 1))(w, b, xs, ys)
    w, b = w - 0.2 * gw, b - 0.2 * gb
    if step % 10 == 9:
        print(step, f"{loss_fn(w, b, xs, ys).item():.6f}", f"{w.item():.4f}", f"{b.item():.4f}")
gl, lv = grad_and_value(loss_fn)(w, b, xs, ys)
print(gl, f"{lv.item():.6f}")
print(grad(lambda t: t.sin().sum())(torch.tensor([0.0, 1.0])))
print(grad(grad(lambda t: t ** 3))(torch.tensor(2.0)))
batched = vmap(torch.dot)(torch.ones(3, 2), torch.arange(6.).reshape(3, 2))
print(batched)
print(vmap(lambda r: r * 2 + 1, in_dims=1)(torch.arange(6.).reshape(2, 3)))
print(vmap(torch.mul, in_dims=(0, None))(torch.arange(3.), torch.tensor(5.)))

def sample_loss(w, b, x, y):
    return (predict(w, b, x.unsqueeze(0)) - y.unsqueeze(0)).pow(2).mean()

per_sample = vmap(grad(sample_loss), in_dims=(None, None, 0, 0))(w, b, xs, ys)
print(per_sample.shape, per_sample[:3])
manual = torch.stack([grad(sample_loss)(w, b, xs[i], ys[i]) for i in range(8)])
print(torch.allclose(per_sample, manual), torch.allclose(per_sample.mean(0), grad(loss_fn)(w, b, xs, ys)))
model = torch.nn.Linear(1, 1)
with torch.no_grad():
    model.weight.fill_(w.item())
    model.bias.fill_(b.item())
out = model(xs).squeeze(1)
loss = ((out - ys) ** 2).mean()
loss.backward()
print(torch.allclose(model.weight.grad.reshape(1), gl, atol=1e-6))
jac = torch.func.jacrev(lambda t: torch.stack([t[0] * t[1], t[0] + t[1] ** 2]))(torch.tensor([2.0, 3.0]))
print(jac)
print(torch.func.hessian(lambda t: (t ** 3).sum())(torch.tensor([1.0, 2.0])))
'''
