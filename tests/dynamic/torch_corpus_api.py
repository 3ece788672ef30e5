# ruff: noqa: E501 - program text inside strings
"""Tutorial-style programs for the APIs of issue #15 (``torch.utils.data``, reflected operators,
``autograd.functional``, saved-tensor hooks, ``torch.func``, the device opening of the current
tutorials, keyword names), written for this project in the style of PyTorch's "Learn the
basics" and autograd tutorials. ``torch_oracle.py`` runs them under PyTorch (recording the
output in ``torch_expected.json``) and under ``dynamic`` with ``from torch... import`` lines
resolved to ``dynamic``."""

PROGRAMS: dict[str, str] = {}

PROGRAMS["data_custom_dataset"] = '''
from torch.utils.data import Dataset, DataLoader

class Squares(Dataset):
    """x -> x**2 for x = 0..n-1, with a label saying whether x is even."""
    def __init__(self, n):
        self.x = torch.arange(n, dtype=torch.float32)
    def __len__(self):
        return len(self.x)
    def __getitem__(self, idx):
        x = self.x[idx]
        return x.unsqueeze(0), x ** 2, int(idx % 2 == 0)

ds = Squares(10)
print(len(ds), ds[3])
loader = DataLoader(ds, batch_size=4)
print("batches:", len(loader))
for i, (x, y, even) in enumerate(loader):
    print(i, x.shape, y, even, even.dtype)
loader = DataLoader(ds, batch_size=4, drop_last=True)
print("batches with drop_last:", len(loader), [b[1].tolist() for b in loader])
x, y, even = next(iter(DataLoader(ds, batch_size=3)))
print(x.t(), y.sum().item())
print([b.tolist() for b in DataLoader(range(7), batch_size=3)])
'''

PROGRAMS["data_collate_structures"] = '''
from torch.utils.data import DataLoader, default_collate
from collections import namedtuple
import numpy as np

records = [{"features": torch.tensor([float(i), float(i) / 2]), "label": i % 3,
            "weight": 0.5 * i, "name": f"item{i}"} for i in range(5)]
for batch in DataLoader(records, batch_size=2):
    print(sorted(batch), batch["features"].shape, batch["label"], batch["weight"], batch["name"])
Point = namedtuple("Point", ["x", "y"])
print(default_collate([Point(1, 2.5), Point(3, 4.5)]))
print(default_collate([np.array([1, 2]), np.array([3, 4])]))
print(default_collate([[torch.zeros(2), 1], [torch.ones(2), 2]]))
print(default_collate([(1.0, "a"), (2.0, "b")]))
print(list(DataLoader([1, 2, 3], batch_size=None)))
def pad_collate(batch):
    longest = max(len(s) for s in batch)
    out = torch.zeros(len(batch), longest)
    for i, s in enumerate(batch):
        out[i, :len(s)] = s
    return out, torch.tensor([len(s) for s in batch])
seqs = [torch.ones(n) * n for n in (1, 3, 2, 4)]
for padded, lengths in DataLoader(seqs, batch_size=2, collate_fn=pad_collate):
    print(padded, lengths)
'''

PROGRAMS["data_shuffle_split"] = '''
from torch.utils.data import TensorDataset, DataLoader, random_split, Subset, ConcatDataset
X = torch.arange(24.).reshape(12, 2)
y = torch.arange(12)
ds = TensorDataset(X, y)
g = torch.Generator().manual_seed(42)
train, val = random_split(ds, [9, 3], generator=g)
print(len(train), len(val), train.indices, val.indices)
print(val[0])
parts = random_split(range(10), [0.5, 0.3, 0.2], generator=torch.Generator().manual_seed(0))
print([list(p) for p in parts])
loader = DataLoader(train, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(7))
for epoch in range(3):
    print("epoch", epoch, [yb.tolist() for _, yb in loader])
torch.manual_seed(0)
print([yb.tolist() for _, yb in DataLoader(ds, batch_size=6, shuffle=True)])
sub = Subset(ds, [0, 11, 5])
print(len(sub), sub[1], [int(t[1]) for t in sub])
both = ConcatDataset([sub, val])
print(len(both), both[3][1], both.cumulative_sizes)
print(len(ds + ds))
'''

PROGRAMS["data_errors"] = '''
from torch.utils.data import Dataset, TensorDataset, DataLoader, SequentialSampler, random_split
def show(fn):
    try:
        fn()
        print("no error")
    except Exception as e:
        print(type(e).__name__ + ":", e)
ds = TensorDataset(torch.zeros(4, 2), torch.zeros(4))
show(lambda: TensorDataset(torch.zeros(4, 2), torch.zeros(3)))
show(lambda: DataLoader(ds, shuffle=True, sampler=SequentialSampler(ds)))
show(lambda: DataLoader(ds, batch_size=None, drop_last=True))
show(lambda: DataLoader(ds, batch_size=0))
show(lambda: DataLoader(ds, batch_size=2, drop_last=1))
show(lambda: DataLoader(ds, num_workers=-1))
show(lambda: DataLoader(ds, prefetch_factor=2))
show(lambda: Dataset()[0])
show(lambda: random_split(ds, [3, 3]))
show(lambda: next(iter(DataLoader([object()], batch_size=1))))
show(lambda: next(iter(DataLoader([[1, 2], [3]], batch_size=2))))
loader = DataLoader(ds, batch_size=2)
show(lambda: setattr(loader, "batch_size", 3))
'''

PROGRAMS["learn_basics_training"] = '''
from torch import nn
from torch.utils.data import TensorDataset, DataLoader
device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"Using {device} device")
# a small "FashionMNIST": 3 classes of 4-pixel images, made deterministically
X = torch.tensor([[(i * 7 + j * 3) % 10 / 10.0 for j in range(4)] for i in range(24)])
y = torch.tensor([(i * 5) % 3 for i in range(24)])
training_data = TensorDataset(X[:18], y[:18])
test_data = TensorDataset(X[18:], y[18:])
train_dataloader = DataLoader(training_data, batch_size=6, shuffle=True, generator=torch.Generator().manual_seed(1))
test_dataloader = DataLoader(test_data, batch_size=6)
for Xb, yb in test_dataloader:
    print(f"Shape of X [N, C]: {Xb.shape}")
    print(f"Shape of y: {yb.shape} {yb.dtype}")
    break

class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))

model = NeuralNetwork().to(device)
with torch.no_grad():
    for k, p in enumerate(model.parameters()):
        p.copy_(torch.linspace(-0.5, 0.5, p.numel()).reshape(p.shape) * (1 + 0.1 * k))
print(model)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (Xb, yb) in enumerate(dataloader):
        Xb, yb = Xb.to(device), yb.to(device)
        loss = loss_fn(model(Xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 2 == 0:
            print(f"loss: {loss.item():>.4f}  [{(batch + 1) * len(Xb):>3d}/{size:>3d}]")

def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for Xb, yb in dataloader:
            pred = model(Xb)
            test_loss += loss_fn(pred, yb).item()
            correct += (pred.argmax(1) == yb).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>.4f}")

for t in range(3):
    print(f"Epoch {t+1}")
    train(train_dataloader, model, loss_fn, optimizer)
    test(test_dataloader, model, loss_fn)
print("Done!")
'''

PROGRAMS["reflected_operators_graph"] = '''
b = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
def edges(t):
    return [(None if fn is None else fn.name(), i) for fn, i in t.grad_fn.next_functions]
for label, t in [("2*b", 2 * b), ("b*2", b * 2), ("1+b", 1 + b), ("1-b", 1 - b),
                 ("b-1", b - 1), ("2/b", 2 / b), ("2**b", 2 ** b), ("0.5*b.exp()", 0.5 * b.exp())]:
    print(f"{label:>12}", t.grad_fn.name(), edges(t))
Q = 3 * b ** 3 - 1 / b
print(Q.grad_fn.name(), edges(Q))
print(Q.grad_fn.next_functions[0][0].name(), [(None if f is None else f.name()) for f, _ in Q.grad_fn.next_functions[0][0].next_functions])
def walk(fn, depth=0):
    if fn is None:
        return
    print("  " * depth + fn.name())
    for nxt, _ in fn.next_functions:
        walk(nxt, depth + 1)
walk((1 - 2 * b).sum().grad_fn)
(10 - b * b).sum().backward()
print(b.grad)
'''

PROGRAMS["autograd_functional_tour"] = '''
from torch.autograd.functional import jacobian, hessian, vjp, jvp, hvp, vhp
def exp_reducer(x):
    return x.exp().sum(dim=1)
inputs = torch.tensor([[0.1, 0.2], [0.3, -0.4]])
print(jacobian(exp_reducer, inputs))
print(jacobian(exp_reducer, inputs, create_graph=True))
def exp_adder(x, y):
    return 2 * x.exp() + 3 * y
print(jacobian(exp_adder, (torch.tensor([0.5, 1.0]), torch.tensor([1.0, 2.0]))))
def pow_reducer(x):
    return x.pow(3).sum()
x = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
print(hessian(pow_reducer, x))
def pow_adder_reducer(x, y):
    return (2 * x.pow(2) + 3 * y.pow(2)).sum()
print(hessian(pow_adder_reducer, (torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]))))
v = torch.ones(2)
print(vjp(exp_reducer, inputs, v))
print(jvp(exp_reducer, inputs, torch.ones(2, 2)))
print(vhp(pow_reducer, x, torch.ones(2, 2)))
print(hvp(pow_reducer, x, torch.ones(2, 2)))
w = torch.tensor([0.5, -1.0], requires_grad=True)
out, g = vjp(lambda a: (a ** 3).sum(), w, create_graph=True)
print(out, g)
g.sum().backward()
print(w.grad)
def show(fn):
    try:
        print(fn())
    except Exception as e:
        print(type(e).__name__ + ":", e)
show(lambda: vjp(exp_reducer, inputs))
show(lambda: jacobian(lambda a, b: a * 2, (v, v), strict=True))
show(lambda: hessian(lambda a: (a * 2).sum(), v, strict=True))
show(lambda: hessian(lambda a: a * 2, v))
show(lambda: jvp(exp_reducer, inputs, torch.ones(3)))
show(lambda: jacobian(exp_reducer, [1.0]))
'''

PROGRAMS["newton_with_hessian"] = '''
from torch.autograd.functional import hessian, hvp
def rosen(p):
    return (1 - p[0]) ** 2 + 10 * (p[1] - p[0] ** 2) ** 2
def solve2(H, g):
    det = H[0, 0] * H[1, 1] - H[0, 1] * H[1, 0]
    return torch.stack([H[1, 1] * g[0] - H[0, 1] * g[1], H[0, 0] * g[1] - H[1, 0] * g[0]]) / det
p = torch.tensor([-0.5, 0.5])
for step in range(6):
    pr = p.clone().requires_grad_(True)
    f = rosen(pr)
    (g,) = torch.autograd.grad(f, pr)
    p = p - solve2(hessian(rosen, p), g)
    print(step, round(f.item(), 4), p)
A = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 3.0]])
def quad(z):
    return 0.5 * z @ A @ z - z.sum()
x = torch.tensor([1.0, 2.0, -1.0])
_, Hv = hvp(quad, x, torch.tensor([1.0, 0.0, 0.0]))
print(Hv)
# conjugate gradient with Hessian-vector products only: solve H d = -g
xr = x.clone().requires_grad_(True)
(g,) = torch.autograd.grad(quad(xr), xr)
d = torch.zeros(3)
r = -g
s = r.clone()
for it in range(3):
    _, Hs = hvp(quad, x, s)
    alpha = (r @ r) / (s @ Hs)
    d = d + alpha * s
    r_new = r - alpha * Hs
    s = r_new + (r_new @ r_new) / (r @ r) * s
    r = r_new
    print(it, round((r @ r).item(), 4))
print(x + d)
'''

PROGRAMS["saved_tensors_hooks_tutorial"] = '''
def pack_hook(x):
    print("Packing", x)
    return x
def unpack_hook(x):
    print("Unpacking", x)
    return x
a = torch.ones(5, requires_grad=True)
b = torch.ones(5, requires_grad=True) * 2
with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
    y = a * b
y.sum().backward()
print(a.grad)
# keep saved tensors in a side store, as an offloading hook would
store = []
def pack_to_store(t):
    store.append(t.detach().clone())
    return len(store) - 1
def unpack_from_store(i):
    return store[i]
x = torch.tensor([0.5, 1.0, 2.0], requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(pack_to_store, unpack_from_store):
    z = (x.exp().sin() * x).sum()
    w = x.pow(2).sum()
print("saved:", len(store))
z.backward()
print(x.grad)
x.grad = None
with torch.autograd.graph.save_on_cpu(pin_memory=False):
    q = (x.sigmoid() * x.tanh()).sum()
q.backward()
print(x.grad)
class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, i):
        ctx.save_for_backward(i)
        return i * i
    @staticmethod
    def backward(ctx, grad):
        (i,) = ctx.saved_tensors
        return 2 * i * grad
calls = []
with torch.autograd.graph.saved_tensors_hooks(lambda t: calls.append("pack") or t, lambda t: calls.append("unpack") or t):
    r = Square.apply(x)
r.sum().backward()
print(calls, x.grad)
with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
    y = a * b
try:
    y.sum().backward()
except TypeError as e:
    print("TypeError:", e)
'''

PROGRAMS["func_transforms"] = '''
from torch.func import grad, grad_and_value, vjp, jacrev, jacfwd, hessian, vmap
f = lambda x: (x.sin() * x).sum()
x = torch.tensor([0.5, 1.0, 2.0])
print(grad(f)(x))
print(grad(grad(lambda a: a ** 3))(torch.tensor(2.0)))
print(grad(lambda a, b: (a * b ** 2).sum(), argnums=(0, 1))(x, x + 1))
print(grad_and_value(f)(x))
print(grad(lambda a: ((a ** 2).sum(), a.mean()), has_aux=True)(x))
out, vjp_fn = vjp(torch.sin, x)
print(out, vjp_fn(torch.ones(3)))
print(jacrev(lambda a: a.sin() * 2)(x))
print(jacfwd(lambda a: a ** 2)(x))
print(hessian(lambda a: (a ** 3).sum())(x))
# per-sample gradients of a linear model's squared error
w = torch.tensor([0.5, -1.0])
data = torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]])
targets = torch.tensor([1.0, 0.0, 2.0])
def loss(w, xi, ti):
    return (xi @ w - ti) ** 2
per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(w, data, targets)
print(per_sample)
print(torch.stack([grad(loss)(w, data[i], targets[i]) for i in range(3)]))
print(vmap(torch.dot)(data, data))
try:
    grad(lambda a: a * 2)(x)
except RuntimeError as e:
    print("RuntimeError:", e)
'''

PROGRAMS["tutorial_opening_and_keywords"] = '''
device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"Using {device} device", torch.accelerator.is_available(), torch.accelerator.device_count())
torch.set_default_device("cpu")
print(torch.get_default_device(), torch.ones(2).device)
torch.set_default_device(None)
old_style = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print(old_style)
torch.manual_seed(0)
torch.cuda.manual_seed_all(0)
torch.backends.cudnn.deterministic = True
a = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
b = torch.tensor([[0.5], [1.0]])
y = torch.matmul(input=a, other=b)
print(y, torch.add(a, a, alpha=2))
print(torch.mul(input=a, other=2), torch.sub(a, other=1), torch.pow(a, exponent=2))
print(torch.div(a, other=2), torch.maximum(a, other=a.t()), torch.sum(input=a, dim=0))
print(torch.mm(a, mat2=a), torch.outer(a[0], vec2=a[1]))
from torch.autograd.profiler import profile, record_function
with profile() as prof:
    with record_function("model_inference"):
        loss = (y ** 2).sum()
print("model_inference" in [e.key for e in prof.key_averages()])
print(type(prof.key_averages().table(sort_by="cpu_time_total", row_limit=5)).__name__)
loss.backward()
print(a.grad)
try:
    torch.set_default_device("cuda")
    torch.ones(1)
except AssertionError as e:
    print("AssertionError:", e)
torch.set_default_device(None)
try:
    torch.ones(1).to("cuda")
except AssertionError as e:
    print("AssertionError:", e)
'''
