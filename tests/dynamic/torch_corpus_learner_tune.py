# ruff: noqa: E501 - program text inside strings
"""Fine-tuning programs as a learner writes them from PyTorch's public material (issue #15, third
round): transfer-learning parameter freezing (``requires_grad = False``, a replaced head,
``StepLR``, then per-group learning rates and ``add_param_group``) and gradient clipping
(``torch.nn.utils``) with weight decay across the optimizers and ``ExponentialLR``. Written for
this project, not copied; weights come from formulas. ``test_torch_corpus_learner.py`` checks
them against PyTorch's recorded output."""

from .torch_corpus_learner_train import FILL

PROGRAMS: dict[str, str] = {}

PROGRAMS["transfer_freeze_param_groups"] = FILL + '''
import copy
import torch.nn as nn
import torch.optim as optim
from torch.optim import lr_scheduler

class TinyResNet(nn.Module):
    """A pretrained-style backbone: conv stem, one residual block, pooling, a classifier head."""
    def __init__(self, num_classes=5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(4, num_classes)
    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(x + self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))

model_ft = TinyResNet()
fill_(model_ft)
print([name for name, _ in model_ft.named_children()])
pretrained = copy.deepcopy(model_ft.state_dict())
for param in model_ft.parameters():
    param.requires_grad = False
num_ftrs = model_ft.fc.in_features
model_ft.fc = nn.Linear(num_ftrs, 2)
with torch.no_grad():
    model_ft.fc.weight.copy_(torch.tensor([[0.5, -0.5, 0.25, 0.1], [-0.3, 0.2, 0.4, -0.1]]))
    model_ft.fc.bias.zero_()
print(model_ft.fc, sum(p.numel() for p in model_ft.parameters() if p.requires_grad))
print([n for n, p in model_ft.named_parameters() if p.requires_grad])
criterion = nn.CrossEntropyLoss()
optimizer_conv = optim.SGD(model_ft.fc.parameters(), lr=0.1, momentum=0.9)
exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=2, gamma=0.1)
inputs = torch.cos(torch.arange(6 * 36, dtype=torch.float32) * 0.3).reshape(6, 1, 6, 6)
labels = torch.tensor([0, 1, 1, 0, 1, 0])
since_conv = model_ft.conv1.weight.clone()
for epoch in range(4):
    model_ft.train()
    optimizer_conv.zero_grad()
    with torch.set_grad_enabled(True):
        outputs = model_ft(inputs)
        _, preds = torch.max(outputs, 1)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer_conv.step()
    exp_lr_scheduler.step()
    running_corrects = torch.sum(preds == labels.data)
    print(f'Epoch {epoch} Loss: {loss.item():.4f} Acc: {running_corrects.double() / 6:.4f} lr {exp_lr_scheduler.get_last_lr()}')
print(model_ft.conv1.weight.grad, torch.equal(since_conv, model_ft.conv1.weight))
print(model_ft.bn1.running_mean)
model_ft.eval()
with torch.no_grad():
    print(model_ft(inputs[:2]))
for param in model_ft.layer1.parameters():
    param.requires_grad_(True)
optimizer = optim.Adam([
    {"params": model_ft.layer1.parameters(), "lr": 1e-4},
    {"params": model_ft.fc.parameters()},
], lr=1e-2)
print([len(g["params"]) for g in optimizer.param_groups], [g["lr"] for g in optimizer.param_groups])
model_ft.train()
for step in range(3):
    optimizer.zero_grad()
    loss = criterion(model_ft(inputs), labels)
    loss.backward()
    optimizer.step()
print(f"{loss.item():.5f}", model_ft.layer1[0].weight.grad is not None, model_ft.conv1.weight.grad)
print(model_ft.layer1[1].weight, model_ft.fc.bias)
print(optimizer.state_dict()["param_groups"][0]["params"], optimizer.state_dict()["param_groups"][1]["lr"])
optimizer.add_param_group({"params": [model_ft.bn1.weight], "lr": 0.5})
print(len(optimizer.param_groups), optimizer.param_groups[2]["betas"])
try:
    optimizer.add_param_group({"params": model_ft.fc.parameters()})
except ValueError as e:
    print(e)
missing = model_ft.load_state_dict({k: v for k, v in pretrained.items() if not k.startswith("fc.")}, strict=False)
print(missing)
print(torch.equal(model_ft.conv1.weight, pretrained["conv1.weight"]), model_ft.conv1.weight.requires_grad)
try:
    model_ft.load_state_dict(pretrained)
except RuntimeError as e:
    print(str(e).splitlines()[1].strip())
'''

PROGRAMS["clip_weight_decay_schedule"] = FILL + '''
import torch.nn as nn
from torch.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters

model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
fill_(model, scale=2.0)
x = torch.linspace(-2, 2, 12).reshape(4, 3)
y = torch.tensor([[1.0, -1.0], [0.5, 0.5], [2.0, 0.0], [-1.0, 3.0]])
loss = nn.MSELoss()(model(x), y) * 50
loss.backward()
grads = [p.grad.clone() for p in model.parameters()]
total = clip_grad_norm_(model.parameters(), max_norm=1.0)
print(total)
print(f"{torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item():.5f}")
print(model[2].bias.grad)
for p, g in zip(model.parameters(), grads):
    p.grad = g.clone()
print(clip_grad_norm_(model.parameters(), max_norm=2.0, norm_type=float("inf")), model[2].bias.grad)
for p, g in zip(model.parameters(), grads):
    p.grad = g.clone()
clip_grad_value_(model.parameters(), clip_value=0.5)
print(model[0].weight.grad)
print(clip_grad_norm_(model.parameters(), 100.0), model[0].bias.grad)
vec = parameters_to_vector(model.parameters())
print(vec.shape, vec[:4])
vector_to_parameters(vec * 0.5, model.parameters())
print(model[2].bias)
fill_(model, scale=2.0)

def run(opt_cls, **kw):
    m = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    fill_(m, scale=2.0)
    opt = opt_cls(m.parameters(), **kw)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    for step in range(5):
        opt.zero_grad()
        loss = nn.MSELoss()(m(x), y)
        loss.backward()
        norm = clip_grad_norm_(m.parameters(), 0.5)
        opt.step()
        sched.step()
    return f"{loss.item():.5f} {norm.item():.5f} {sched.get_last_lr()[0]:.6f} {m[0].weight.abs().sum().item():.5f}"

print("SGD", run(torch.optim.SGD, lr=0.1))
print("SGD wd", run(torch.optim.SGD, lr=0.1, weight_decay=0.1))
print("SGD nesterov", run(torch.optim.SGD, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2))
print("Adam wd", run(torch.optim.Adam, lr=0.05, weight_decay=0.1))
print("AdamW", run(torch.optim.AdamW, lr=0.05, weight_decay=0.1))
print("AdamW amsgrad", run(torch.optim.AdamW, lr=0.05, amsgrad=True))
print("RMSprop", run(torch.optim.RMSprop, lr=0.01, momentum=0.5, weight_decay=0.01))
print("Adagrad", run(torch.optim.Adagrad, lr=0.1, weight_decay=0.01))
print(torch.optim.AdamW(model.parameters(), lr=1e-3))
decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if name.endswith("bias") else decay).append(p)
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-2)
print([g["weight_decay"] for g in opt.param_groups], [len(g["params"]) for g in opt.param_groups])
try:
    torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=-1)
except ValueError as e:
    print(e)
try:
    clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
    model[0].weight.grad = torch.full_like(model[0].weight, float("nan"))
    clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
except RuntimeError as e:
    print(str(e)[:80])
'''
