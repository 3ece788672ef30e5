# ruff: noqa: E501 - program text inside strings
"""PyTorch programs over ``torch.nn`` and autograd (the autograd tutorial's flags, no_grad,
retain_graph and gradient accumulation): regression and classification losses (MSE, L1,
SmoothL1, Huber, BCEWithLogits with pos_weight, NLL with log_softmax, cross-entropy with
weight / ignore_index / label_smoothing / probabilities, KL divergence), nn.Embedding with
RNN/GRU/LSTM and their cells, nn.init and module bookkeeping (containers, named_*, state_dict
keys, train/eval, reprs) and learning-rate scheduler loops. Written for this project; weights
set from formulas so the printed values are PyTorch's (recorded in torch_expected.json)."""

PROGRAMS: dict[str, str] = {}
PROGRAMS['regression_losses'] = r'''
import torch
import torch.nn as nn
import torch.nn.functional as F

x = torch.linspace(-2, 2, 9).unsqueeze(1)
y = 3 * x - 1 + 0.1 * torch.cos(5 * x)
model = nn.Linear(1, 1)
nn.init.constant_(model.weight, 0.5)
nn.init.zeros_(model.bias)
for name, crit in [("mse", nn.MSELoss()), ("l1", nn.L1Loss()), ("smooth", nn.SmoothL1Loss()),
                   ("smooth_beta", nn.SmoothL1Loss(beta=0.5)), ("huber", nn.HuberLoss(delta=2.0))]:
    with torch.no_grad():
        model.weight.fill_(0.5)
        model.bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(20):
        opt.zero_grad()
        loss = crit(model(x), y)
        loss.backward()
        opt.step()
    print(name, crit, f"{loss.item():.5f}", loss.grad_fn.name(), model.weight.item().__round__(4), round(model.bias.item(), 4))
pred = torch.tensor([0.5, 1.5, -2.0, 4.0], requires_grad=True)
tgt = torch.tensor([1.0, 1.0, 0.0, 1.0])
for red in ["none", "sum", "mean"]:
    print(F.mse_loss(pred, tgt, reduction=red), F.l1_loss(pred, tgt, reduction=red))
    print(F.smooth_l1_loss(pred, tgt, reduction=red), F.huber_loss(pred, tgt, reduction=red, delta=1.5))
l = F.smooth_l1_loss(pred, tgt)
l.backward()
print(pred.grad)
logits = torch.tensor([[1.0, -1.0], [0.2, 0.3], [-3.0, 2.0]], requires_grad=True)
target = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
crit = nn.BCEWithLogitsLoss()
loss = crit(logits, target)
print(crit, loss, loss.grad_fn)
loss.backward()
print(logits.grad)
print(nn.BCEWithLogitsLoss(reduction="sum")(logits, target), nn.BCELoss()(torch.sigmoid(logits), target))
print(nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 0.5]))(logits, target))
scores = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [1.0, 1.0, 1.0], [-1.0, 2.0, 0.0]], requires_grad=True)
labels = torch.tensor([0, 2, 1, 1])
logp = F.log_softmax(scores, dim=1)
nll = nn.NLLLoss()
out = nll(logp, labels)
print(logp, out, out.grad_fn)
print(nn.CrossEntropyLoss()(scores, labels), F.nll_loss(logp, labels, reduction="none"))
out.backward()
print(scores.grad)
m = nn.LogSoftmax(dim=1)
print(m, nn.NLLLoss(reduction="sum")(m(scores), labels))
print(nn.CrossEntropyLoss(label_smoothing=0.1)(scores, labels))
print(nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5]))(scores, labels))
print(nn.CrossEntropyLoss(ignore_index=1)(scores, labels))
print(nn.NLLLoss(weight=torch.tensor([1.0, 2.0, 0.5]))(logp, labels))
probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3], [0.0, 1.0, 0.0]])
print(F.cross_entropy(scores, probs))
print(nn.KLDivLoss(reduction="batchmean")(logp, probs))
'''
PROGRAMS['embed_rnn'] = r'''
import torch
import torch.nn as nn

torch.manual_seed(0)
def fill(module):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            p.copy_(torch.linspace(-0.5, 0.5, p.numel()).reshape(p.shape) * (1 + 0.1 * i))

emb = nn.Embedding(10, 3)
fill(emb)
print(emb, emb.weight.shape)
idx = torch.tensor([[1, 2, 4, 5], [4, 3, 2, 9]])
out = emb(idx)
print(out.shape, out[0, 0], out.grad_fn)
out.sum().backward()
print(emb.weight.grad)
emb0 = nn.Embedding(10, 3, padding_idx=0)
print(emb0, emb0.weight[0])
e2 = nn.Embedding.from_pretrained(torch.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]]))
print(e2(torch.tensor([1])), e2.weight.requires_grad)
for cls in (nn.RNN, nn.GRU, nn.LSTM):
    rnn = cls(3, 4, num_layers=1, batch_first=True)
    fill(rnn)
    print(rnn)
    print([(n, tuple(p.shape)) for n, p in rnn.named_parameters()])
    x = torch.sin(torch.arange(2 * 5 * 3, dtype=torch.float32)).reshape(2, 5, 3)
    res = rnn(x)
    output, hidden = res
    print(output.shape, output[:, -1])
    if cls is nn.LSTM:
        print(hidden[0], hidden[1].shape)
    else:
        print(hidden)
    output.pow(2).sum().backward()
    print(rnn.weight_hh_l0.grad.sum(), rnn.bias_ih_l0.grad)
rnn2 = nn.LSTM(3, 2, num_layers=2)
fill(rnn2)
x = torch.cos(torch.arange(4 * 1 * 3, dtype=torch.float32)).reshape(4, 1, 3)
h0 = torch.zeros(2, 1, 2)
c0 = torch.ones(2, 1, 2) * 0.1
out, (h, c) = rnn2(x, (h0, c0))
print(rnn2, out.detach(), h, c)
cell = nn.LSTMCell(3, 2)
fill(cell)
hx, cx = cell(x[0])
print(cell, hx, cx)
gcell = nn.GRUCell(3, 2)
fill(gcell)
print(gcell, gcell(x[0]))
rcell = nn.RNNCell(3, 2, nonlinearity="relu")
fill(rcell)
print(rcell, rcell(x[0]))

class CharModel(nn.Module):
    def __init__(self, vocab, dim, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):
        h, _ = self.gru(self.embed(x))
        return self.head(h)

model = CharModel(6, 3, 5)
fill(model)
print(model)
seq = torch.tensor([[0, 1, 2, 3, 4, 5, 0, 1]])
opt = torch.optim.Adam(model.parameters(), lr=0.05)
for step in range(15):
    logits = model(seq[:, :-1])
    loss = nn.functional.cross_entropy(logits.reshape(-1, 6), seq[:, 1:].reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 5 == 0:
        print(step, round(loss.item(), 4))
print(model(seq).argmax(-1))
'''
PROGRAMS['init_params_repr'] = r'''
import math
import torch
from torch import nn

class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.act = nn.GELU()
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return self.drop(self.act(self.fc(x))) + x

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(4, 8, bias=False)
        self.blocks = nn.ModuleList([Block(8) for _ in range(2)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(8, 3), "reg": nn.Linear(8, 1)})
        self.scale = nn.Parameter(torch.ones(1))
        self.extras = nn.ParameterList([nn.Parameter(torch.zeros(2)), nn.Parameter(torch.ones(3))])
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.norm = nn.BatchNorm1d(8)

    def forward(self, x):
        h = self.stem(x)
        for b in self.blocks:
            h = b(h)
        h = self.norm(h)
        return self.heads["cls"](h) * self.scale, self.heads["reg"](h)

def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.constant_(m.bias, 0.01)

torch.manual_seed(1)
net = Net()
net.apply(init_weights)
print(net)
print([n for n, _ in net.named_parameters()])
print(list(net.state_dict().keys()))
print([n for n, _ in net.named_buffers()])
print([n for n, _ in net.named_children()])
print([n for n, _ in net.named_modules()])
print(sum(p.numel() for p in net.parameters()), sum(p.numel() for p in net.parameters() if p.requires_grad))
print(net.training, net.blocks[0].training)
net.eval()
print(net.training, net.blocks[0].drop.training, net.heads.cls.training)
net.train()
print(net.norm.training)
w = torch.empty(3, 5)
print(nn.init.calculate_gain("relu"), nn.init.calculate_gain("leaky_relu", 0.2), nn.init.calculate_gain("tanh"), nn.init.calculate_gain("selu"))
for fn in [nn.init.uniform_, nn.init.normal_, nn.init.xavier_uniform_, nn.init.xavier_normal_,
           nn.init.kaiming_uniform_, nn.init.kaiming_normal_, nn.init.trunc_normal_, nn.init.orthogonal_]:
    out = fn(w)
    print(fn.__name__, out is w, tuple(w.shape), w.requires_grad)
nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
print(nn.init.eye_(torch.empty(2, 3)))
print(nn.init.ones_(torch.empty(2)), nn.init.zeros_(torch.empty(2)), nn.init.constant_(torch.empty(2), 0.3))
print(nn.init.dirac_(torch.empty(2, 2, 3)))
q = nn.init.orthogonal_(torch.empty(4, 4))
print(torch.allclose(q @ q.T, torch.eye(4), atol=1e-5))
t = nn.init.trunc_normal_(torch.empty(1000), std=0.02, a=-0.04, b=0.04)
print(bool(t.abs().max() <= 0.04))
try:
    nn.init.xavier_uniform_(torch.empty(3))
except ValueError as e:
    print("ValueError:", e)
lin = nn.Linear(3, 2)
print(lin.weight.shape, lin.bias.shape, lin.weight.requires_grad, lin.weight.is_leaf, type(lin.weight).__name__)
bound = 1 / math.sqrt(3)
print(bool(lin.weight.abs().max() <= bound), bool(lin.bias.abs().max() <= bound))
lin.weight.requires_grad_(False)
print([n for n, p in lin.named_parameters() if p.requires_grad])
print(nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Sigmoid(), nn.Softmax(dim=-1), nn.LeakyReLU(0.2), nn.ELU(), nn.SiLU(), nn.Mish(), nn.Hardtanh(), nn.ReLU6(), nn.PReLU(), nn.Softplus(), nn.LogSigmoid(), nn.Dropout(p=0.3), nn.Identity(), nn.Flatten(0), nn.Unflatten(0, (1, 2))))
print(nn.Embedding(5, 2), nn.BatchNorm2d(3), nn.Conv2d(1, 2, 3), nn.MaxPool2d(2))
p = nn.Parameter(torch.tensor([1.0, 2.0]))
print(p)
print(repr(nn.Parameter(torch.ones(2), requires_grad=False)))
'''
PROGRAMS['schedulers_loop'] = r'''
import torch
from torch import nn, optim
from torch.optim import lr_scheduler

def make():
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.fill_(0.1)
        model.bias.fill_(0.0)
    return model

x = torch.tensor([[1.0, 2.0], [2.0, 1.0], [0.0, 1.0]])
y = torch.tensor([[1.0], [2.0], [0.5]])
scheds = {
    "step": lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
    "multistep": lambda o: lr_scheduler.MultiStepLR(o, milestones=[1, 3], gamma=0.1),
    "exp": lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
    "cos": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.001),
    "lambda": lambda o: lr_scheduler.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e),
    "linear": lambda o: lr_scheduler.LinearLR(o, start_factor=0.5, total_iters=3),
}
for name, mk in scheds.items():
    model = make()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    try:
        sched = mk(opt)
    except Exception as e:
        print(name, type(e).__name__, isinstance(e, AttributeError))
        continue
    lrs = []
    for epoch in range(6):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        lrs.append(round(sched.get_last_lr()[0], 6))
        sched.step()
    print(name, lrs, round(loss.item(), 5))
model = make()
opt = optim.Adam(model.parameters(), lr=0.1)
plateau = lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
for epoch in range(8):
    plateau.step(1.0)
    print(epoch, opt.param_groups[0]["lr"])
print(plateau.state_dict()["num_bad_epochs"])
opt = optim.SGD(make().parameters(), lr=0.1)
s = lr_scheduler.StepLR(opt, 3)
print(s.state_dict())
print(opt.state_dict())
'''
PROGRAMS['autograd_tour'] = r'''
import torch

x = torch.tensor([1.0, 2.0, 3.0])
print(x.requires_grad, x.is_leaf, x.grad_fn)
x.requires_grad_()
y = x * 2
print(y.requires_grad, y.is_leaf, y.grad_fn)
z = y.detach()
print(z.requires_grad, z.is_leaf, z)
y.retain_grad()
out = (y ** 2).sum()
out.backward(retain_graph=True)
print(x.grad, y.grad)
out.backward()
print(x.grad, y.grad)
x.grad = None
with torch.no_grad():
    w = x * 3
print(w.requires_grad)
with torch.set_grad_enabled(False):
    w = x * 3
print(w.requires_grad, torch.is_grad_enabled())
with torch.enable_grad():
    print(torch.is_grad_enabled())
with torch.inference_mode():
    w = x * 3
print(w.requires_grad)
@torch.no_grad()
def f(a):
    return a * 2
print(f(x).requires_grad)
a = torch.tensor(2.0, requires_grad=True)
b = a * a
try:
    b.backward()
    b.backward()
except RuntimeError as e:
    print("RuntimeError:", str(e).splitlines()[0])
try:
    torch.tensor([1.0, 2.0], requires_grad=True).pow(2).backward()
except RuntimeError as e:
    print("RuntimeError:", e)
try:
    torch.tensor([1, 2], requires_grad=True)
except RuntimeError as e:
    print("RuntimeError:", e)
lin = torch.nn.Linear(2, 1)
with torch.no_grad():
    lin.weight.copy_(torch.tensor([[0.5, -0.5]]))
    lin.bias.fill_(0.1)
data = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
target = torch.tensor([[1.0], [0.0], [1.0], [0.0]])
opt = torch.optim.SGD(lin.parameters(), lr=0.01)
accum = 2
for i in range(4):
    loss = torch.nn.functional.mse_loss(lin(data[i:i + 1]), target[i:i + 1]) / accum
    loss.backward()
    if (i + 1) % accum == 0:
        print(i, lin.weight.grad, lin.bias.grad)
        opt.step()
        opt.zero_grad()
print(lin.weight, lin.bias)
print(lin.weight.grad)
x = torch.tensor(3.0, requires_grad=True)
y = x ** 3
g, = torch.autograd.grad(y, x, create_graph=True)
g2, = torch.autograd.grad(g, x)
print(g, g2)
h = torch.tensor([1.0, 2.0], requires_grad=True)
k = h.exp()
k.register_hook(lambda grad: print("hook", grad))
k.sum().backward()
print(h.grad)
v = torch.ones(3, requires_grad=True)
u = v.clone()
u[0] = 5.0
u.sum().backward()
print(u, v.grad, u.grad_fn)
print(torch.tensor([1.0], requires_grad=True).detach_().requires_grad)
t = torch.tensor([1.0, 2.0], requires_grad=True)
print(t.data, t.numpy() if not t.requires_grad else t.detach().numpy())
try:
    t.numpy()
except RuntimeError as e:
    print("RuntimeError:", e)
'''
