# ruff: noqa: E501 - program text inside strings
"""Tutorial-style programs for ``torch.save``/``load``, ``lr_scheduler``, ``Conv2d``/pooling,
``Dropout`` and ``BatchNorm`` (issue #15, second part), written for this project in the style
of PyTorch's "Learn the basics", "Saving and loading models" and the classic CNN/MNIST
tutorials, on small made-up data. Weights are set deterministically (PyTorch's random initial
values are not reproduced). ``torch_oracle.py`` records them against PyTorch."""

PROGRAMS: dict[str, str] = {}

_INIT = '''
def init_weights(model, scale=0.5):
    with torch.no_grad():
        for k, p in enumerate(model.parameters()):
            p.copy_(torch.linspace(-scale, scale, p.numel()).reshape(p.shape) * (1 + 0.1 * k) * (-1) ** k)
'''

PROGRAMS["quickstart_save_load"] = _INIT + '''
import os, tempfile
from torch import nn
from torch.utils.data import TensorDataset, DataLoader
X = torch.tensor([[(i * 7 + j * 3) % 10 / 10.0 for j in range(6)] for i in range(30)])
y = torch.tensor([(i * 5) % 3 for i in range(30)])
loader = DataLoader(TensorDataset(X[:24], y[:24]), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(3))
class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))
model = NeuralNetwork()
init_weights(model)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
for epoch in range(2):
    for Xb, yb in loader:
        loss = loss_fn(model(Xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch} loss {loss.item():.4f}")
path = os.path.join(tempfile.mkdtemp(), "model.pth")
torch.save(model.state_dict(), path)
print("Saved PyTorch Model State to model.pth")
print(list(model.state_dict().keys()))
model2 = NeuralNetwork()
print(model2.load_state_dict(torch.load(path, weights_only=True)))
model2.eval()
classes = ["T-shirt/top", "Trouser", "Pullover"]
with torch.no_grad():
    pred = model2(X[24:])
    for p, t in zip(pred.argmax(1), y[24:]):
        print(f'Predicted: "{classes[p]}", Actual: "{classes[t]}"')
    print(torch.equal(pred, model(X[24:])))
ck = os.path.join(os.path.dirname(path), "ck.tar")
torch.save({"epoch": 2, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(), "loss": loss}, ck)
checkpoint = torch.load(ck, weights_only=True)
opt2 = torch.optim.SGD(model2.parameters(), lr=0.01, momentum=0.5)
opt2.load_state_dict(checkpoint["optimizer_state_dict"])
print(checkpoint["epoch"], f"{checkpoint['loss'].item():.4f}", opt2.param_groups[0]["lr"], opt2.param_groups[0]["momentum"])
print(sorted(checkpoint["optimizer_state_dict"]["state"]), checkpoint["optimizer_state_dict"]["param_groups"][0]["params"])
model2.train()
for m, o in ((model, optimizer), (model2, opt2)):
    o.zero_grad()
    loss_fn(m(X[:8]), y[:8]).backward()
    o.step()
print(all(torch.equal(a, b) for a, b in zip(model.parameters(), model2.parameters())))
try:
    model2.load_state_dict({"flatten.weight": torch.zeros(1)})
except RuntimeError as e:
    print(e)
bad = dict(model.state_dict()); bad["linear_relu_stack.2.bias"] = torch.zeros(4)
try:
    model2.load_state_dict(bad)
except RuntimeError as e:
    print(e)
print(model2.load_state_dict({k: v for k, v in model.state_dict().items() if "bias" not in k}, strict=False))
'''

PROGRAMS["cnn_fake_mnist"] = _INIT + '''
import torch.nn as nn
import torch.nn.functional as F
# 12 fake 8x8 "digits": class 0 has a vertical bar, class 1 a horizontal bar, class 2 a diagonal
imgs, labels = [], []
for i in range(12):
    c = i % 3
    img = torch.zeros(1, 8, 8) + 0.05 * ((i * 13) % 7)
    if c == 0: img[0, :, 2 + i % 4] = 1.0
    elif c == 1: img[0, 2 + i % 4, :] = 1.0
    else: img[0] += torch.eye(8)
    imgs.append(img); labels.append(c)
X, y = torch.stack(imgs), torch.tensor(labels)
print(X.shape, y)
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 6, kernel_size=3)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(6 * 1 * 1, 3)
    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc1(x)
net = Net()
init_weights(net, 0.3)
print(net)
out = net(X)
print(out.shape, out.grad_fn.name() if hasattr(out.grad_fn, "name") else type(out.grad_fn).__name__)
h = net.conv1(X)
print(type(h.grad_fn).__name__, h.shape, type(net.pool(h).grad_fn).__name__, net.pool(h).shape)
print(F.avg_pool2d(h, 2).shape, type(F.avg_pool2d(h, 2).grad_fn).__name__)
print(nn.Conv2d(1, 2, 3, stride=2, padding="valid"), nn.Conv2d(2, 2, (3, 1), padding="same", bias=False), nn.AvgPool2d(2), nn.MaxPool2d(3, stride=1, padding=1))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for epoch in range(4):
    running = 0.0
    for b in range(0, 12, 4):
        optimizer.zero_grad()
        loss = criterion(net(X[b:b + 4]), y[b:b + 4])
        loss.backward()
        optimizer.step()
        running += loss.item()
    print(f"[{epoch + 1}] loss: {running / 3:.4f}")
with torch.no_grad():
    pred = net(X).argmax(1)
print("accuracy", (pred == y).float().mean().item())
print(f"{net.conv1.weight.grad.abs().sum().item():.4f}", net.conv1.weight.grad.shape)
x = torch.arange(32.).reshape(1, 2, 4, 4)
print(F.conv2d(x, torch.ones(3, 2, 2, 2), stride=2))
print(F.max_pool2d(x, 3, stride=2, padding=1), F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False))
print(F.max_pool2d(x[0], 2, ceil_mode=True, stride=3).shape, F.conv2d(x[0], torch.ones(1, 2, 3, 3), padding="same").shape)
def show(fn):
    try:
        fn()
    except (RuntimeError, ValueError) as e:
        print(type(e).__name__, e)
show(lambda: net(torch.zeros(2, 3, 8, 8)))
show(lambda: F.conv2d(x, torch.ones(1, 2, 5, 5)))
show(lambda: nn.Conv2d(1, 1, 3, stride=2, padding="same"))
show(lambda: F.max_pool2d(x, 2, padding=2))
show(lambda: F.max_pool2d(x, 5))
'''

PROGRAMS["scheduler_training_loop"] = _INIT + '''
import os, tempfile
from torch import nn
from torch.optim.lr_scheduler import StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LambdaLR, LinearLR, ReduceLROnPlateau
X = torch.linspace(-1, 1, 16).reshape(8, 2)
y = (X[:, :1] * 2 - X[:, 1:] * 0.5) + 0.1
model = nn.Linear(2, 1)
init_weights(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
for epoch in range(6):
    loss = nn.functional.mse_loss(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    print(epoch, f"{loss.item():.5f}", scheduler.get_last_lr())
print(sorted(scheduler.state_dict()))
print(scheduler.state_dict()["last_epoch"], scheduler.state_dict()["base_lrs"], scheduler.state_dict()["_step_count"])
def lrs(make, n=8, **kw):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1, **kw)
    s = make(opt)
    out = [s.get_last_lr()[0]]
    for _ in range(n):
        opt.step(); s.step(); out.append(s.get_last_lr()[0])
    return out
print(lrs(lambda o: MultiStepLR(o, milestones=[2, 4], gamma=0.1)))
print(lrs(lambda o: ExponentialLR(o, gamma=0.9)))
print(lrs(lambda o: CosineAnnealingLR(o, T_max=4)))
print(lrs(lambda o: LambdaLR(o, lambda epoch: 0.95 ** epoch)))
print(lrs(lambda o: LinearLR(o, start_factor=0.5, total_iters=3), momentum=0.9))
opt = torch.optim.Adam([{"params": model.weight}, {"params": model.bias, "lr": 0.01}], lr=0.1)
sched = CosineAnnealingLR(opt, T_max=3, eta_min=0.001)
for _ in range(4):
    opt.step(); sched.step()
print(sched.get_last_lr(), [g["initial_lr"] for g in opt.param_groups])
opt = torch.optim.SGD(model.parameters(), lr=0.1)
plateau = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2)
for epoch, val_loss in enumerate([1.0, 0.9, 0.95, 0.93, 0.92, 0.91, 0.95, 0.96, 0.5, 0.6, 0.7, 0.8]):
    plateau.step(val_loss)
    print(epoch, plateau.get_last_lr(), plateau.num_bad_epochs, plateau.best)
ck = os.path.join(tempfile.mkdtemp(), "sched.pt")
torch.save({"scheduler": scheduler.state_dict(), "optimizer": optimizer.state_dict()}, ck)
back = torch.load(ck)
opt2 = torch.optim.SGD(model.parameters(), lr=1.0)
opt2.load_state_dict(back["optimizer"])
s2 = StepLR(opt2, step_size=99)
s2.load_state_dict(back["scheduler"])
for _ in range(3):
    opt2.step(); s2.step()
    print(s2.get_last_lr(), s2.last_epoch)
def show(fn):
    try:
        fn()
    except (TypeError, ValueError, KeyError) as e:
        print(type(e).__name__, e)
show(lambda: StepLR(model, 2))
show(lambda: ReduceLROnPlateau(opt, factor=1.5))
show(lambda: LinearLR(opt, start_factor=0))
show(lambda: StepLR(torch.optim.SGD(model.parameters(), lr=0.1), 2, last_epoch=3))
'''

PROGRAMS["dropout_batchnorm_train_eval"] = _INIT + '''
from torch import nn
import torch.nn.functional as F
X = torch.tensor([[(i * 7 + j * 3) % 10 / 10.0 for j in range(4)] for i in range(12)])
y = torch.tensor([(i * 5) % 3 for i in range(12)])
model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.25), nn.Linear(6, 3))
init_weights(model)
print(model)
print(list(model.state_dict()))
print(model[1].running_mean, model[1].running_var, model[1].num_batches_tracked)
drop = model[3]
x = torch.ones(200)
out = drop(x)
print(bool(((out == 0) | (out == 1 / 0.75)).all()), out.shape, type(out.grad_fn).__name__ if out.grad_fn else None)
model.eval()
print(drop(x) is x, drop.training, model.training, model[1].training)
with torch.no_grad():
    print(model(X[:3]))
model.train()
bn_only = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))
init_weights(bn_only)
opt = torch.optim.SGD(bn_only.parameters(), lr=0.1)
for step in range(5):
    loss = F.cross_entropy(bn_only(X), y)
    opt.zero_grad(); loss.backward(); opt.step()
    print(step, f"{loss.item():.4f}")
print(bn_only[1].running_mean)
print(bn_only[1].running_var)
print(bn_only[1].num_batches_tracked)
h = bn_only[1](bn_only[0](X))
print(type(h.grad_fn).__name__, f"{h.mean().item():.4f}", f"{h.std(unbiased=False).item():.4f}")
bn_only.eval()
with torch.no_grad():
    print(bn_only(X[:4]))
bn2 = nn.BatchNorm2d(2, momentum=None, affine=False)
imgs = torch.arange(48.).reshape(3, 2, 2, 4) / 10
for _ in range(2):
    o = bn2(imgs)
print(bn2, bn2.running_mean, bn2.running_var, bn2.num_batches_tracked)
print(o[0, 0], list(bn2.state_dict()))
print(F.dropout(torch.ones(3), p=0.5, training=False), F.dropout(torch.ones(4), p=1.0))
print(nn.Dropout(), nn.Dropout(p=0.1, inplace=True), nn.BatchNorm1d(3, eps=1e-3, track_running_stats=False))
def show(fn):
    try:
        fn()
    except (RuntimeError, ValueError) as e:
        print(type(e).__name__, e)
show(lambda: nn.Dropout(p=1.5))
show(lambda: nn.BatchNorm1d(6)(torch.zeros(1, 6)))
show(lambda: nn.BatchNorm2d(3)(torch.zeros(3, 5)))
show(lambda: nn.BatchNorm1d(3)(torch.zeros(2, 4)))
'''

PROGRAMS["conv_family_norm_layers"] = _INIT + '''
import torch.nn.functional as F
from torch import nn
# a 1-D signal classifier: Conv1d, GroupNorm, a depthwise conv, LayerNorm over features
sig = torch.stack([torch.sin(torch.linspace(0, 6.28 * (1 + i % 3), 24)) * (1 + 0.1 * i) for i in range(9)]).unsqueeze(1)
labels = torch.tensor([i % 3 for i in range(9)])
class SignalNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 4, 5, padding=2, padding_mode="reflect")
        self.gn = nn.GroupNorm(2, 4)
        self.depthwise = nn.Conv1d(4, 8, 3, groups=4, dilation=2, padding="same")
        self.pool = nn.MaxPool1d(2)
        self.ln = nn.LayerNorm(8 * 12)
        self.fc = nn.Linear(8 * 12, 3)
    def forward(self, x):
        x = F.relu(self.gn(self.conv(x)))
        x = self.pool(F.relu(self.depthwise(x)))
        return self.fc(self.ln(torch.flatten(x, 1)))
net = SignalNet()
init_weights(net, 0.4)
print(net)
out = net(sig)
print(out.shape, type(out.grad_fn).__name__ if not hasattr(out.grad_fn, "name") else out.grad_fn.name())
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
for epoch in range(6):
    opt.zero_grad()
    loss = F.cross_entropy(net(sig), labels)
    loss.backward()
    opt.step()
    print(f"epoch {epoch} loss {loss.item():.4f}")
print("accuracy", (net(sig).argmax(1) == labels).float().mean().item())
# an image decoder: ConvTranspose2d, Conv3d, InstanceNorm2d, AdaptiveAvgPool2d
z = torch.linspace(-1, 1, 2 * 3 * 2 * 2).reshape(2, 3, 2, 2)
up = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)
init_weights(up, 0.3)
img = up(z)
print(img.shape, [round(v, 4) for v in img[0, 0, 0].tolist()])
print(nn.InstanceNorm2d(2)(img).std(dim=(2, 3), unbiased=False).round(decimals=3))
print(F.adaptive_avg_pool2d(img, (3, 2)).round(decimals=4)[1, 1])
print(nn.AdaptiveAvgPool2d(1)(img).flatten(1).round(decimals=4))
vol = torch.arange(2 * 4 * 4 * 4, dtype=torch.float32).reshape(1, 2, 4, 4, 4) / 100
c3 = nn.Conv3d(2, 3, 2, stride=2, bias=False)
init_weights(c3, 0.2)
print(c3, c3(vol).shape, c3(vol).sum().item() == c3(vol).sum().item())
print(F.conv3d(vol, torch.ones(1, 2, 2, 2, 2), stride=2)[0, 0, 0])
print(F.conv1d(sig[:2], torch.ones(2, 1, 3), stride=3)[1, 1, :4], F.avg_pool1d(sig[:1], 4)[0, 0, :3])
print(nn.LayerNorm(4)(torch.tensor([[1., 2., 3., 5.]])).detach(), F.group_norm(torch.arange(8.).reshape(1, 4, 2), 2).flatten())
def show(fn):
    try:
        fn()
    except (RuntimeError, ValueError) as e:
        print(type(e).__name__, e)
show(lambda: nn.Conv1d(3, 4, 3, groups=2))
show(lambda: F.conv1d(sig, torch.ones(4, 2, 3)))
show(lambda: nn.GroupNorm(3, 4))
show(lambda: nn.LayerNorm(5)(torch.zeros(2, 4)))
show(lambda: nn.Conv2d(1, 1, 3, padding=4, padding_mode="reflect")(torch.zeros(1, 1, 4, 4)))
show(lambda: F.conv_transpose2d(z, torch.ones(3, 1, 3, 3), stride=2, output_padding=2))
'''
