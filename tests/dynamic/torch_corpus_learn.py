# ruff: noqa: E501 - program text inside strings
"""PyTorch programs in the style of "Learn the basics" (quickstart with TensorDataset /
DataLoader, save/load of state_dict), "What is torch.nn really?" (manual weights to nn.Linear,
optim and DataLoader), and the 60-minute blitz tensor tour, written for
this project; only ``import torch`` differs. Weights are set from formulas, so the printed
values are PyTorch's (recorded in torch_expected.json by torch_oracle)."""

PROGRAMS: dict[str, str] = {}
PROGRAMS['basics_quickstart'] = r'''
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

X = torch.linspace(-1.0, 1.0, 48).reshape(12, 4)
y = (X.sum(dim=1) > 0).long() + (X[:, 0] > 0.5).long()
train_data = TensorDataset(X[:8], y[:8])
test_data = TensorDataset(X[8:], y[8:])
print(len(train_data), train_data[0])
train_dataloader = DataLoader(train_data, batch_size=3)
test_dataloader = DataLoader(test_data, batch_size=3)
for Xb, yb in test_dataloader:
    print(f"Shape of X [N, F]: {Xb.shape}")
    print(f"Shape of y: {yb.shape} {yb.dtype}")
    break

class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(4, 6),
            nn.ReLU(),
            nn.Linear(6, 6),
            nn.ReLU(),
            nn.Linear(6, 3),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits

model = NeuralNetwork()
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.linspace(-0.6, 0.7 - 0.1 * i, p.numel()).reshape(p.shape))
print(model)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)

def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 2 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")

epochs = 3
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    test(test_dataloader, model, loss_fn)
print("Done!")
import tempfile, os
path = os.path.join(tempfile.mkdtemp(), "model.pth")
torch.save(model.state_dict(), path)
print("Saved PyTorch Model State to model.pth")
model2 = NeuralNetwork()
print(model2.load_state_dict(torch.load(path, weights_only=True)))
print(list(model2.state_dict().keys()))
classes = ["zero", "one", "two"]
model2.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    pred = model2(x.unsqueeze(0))
    predicted, actual = classes[pred[0].argmax(0)], classes[y]
    print(f'Predicted: "{predicted}", Actual: "{actual}"')
for name, param in model.named_parameters():
    print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")
logits = model(X[:3])
pred_probab = nn.Softmax(dim=1)(logits)
y_pred = pred_probab.argmax(1)
print(f"Predicted class: {y_pred}")
print(pred_probab)
input_image = X[:3].reshape(3, 2, 2)
flat_image = nn.Flatten()(input_image)
print(flat_image.size())
hidden1 = nn.ReLU()(flat_image - 0.2)
print(f"After ReLU: {hidden1}")
'''
PROGRAMS['nn_really'] = r'''
import math
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import TensorDataset, DataLoader

n, d, c = 20, 6, 3
x_train = torch.cos(torch.arange(n * d, dtype=torch.float32)).reshape(n, d)
y_train = torch.arange(n) % c
x_valid, y_valid = x_train[:8] * 0.5, y_train[:8]
print(x_train.shape, y_train.min(), y_train.max())
weights = torch.sin(torch.arange(d * c, dtype=torch.float32)).reshape(d, c) / math.sqrt(d)
weights.requires_grad_()
bias = torch.zeros(c, requires_grad=True)

def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)

def model(xb):
    return log_softmax(xb @ weights + bias)

bs = 4
xb = x_train[0:bs]
preds = model(xb)
print(preds[0], preds.shape)

def nll(input, target):
    return -input[range(target.shape[0]), target].mean()

loss_func = nll
yb = y_train[0:bs]
print(loss_func(preds, yb))

def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()

print(accuracy(preds, yb))
lr = 0.5
epochs = 2
for epoch in range(epochs):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        end_i = start_i + bs
        xb = x_train[start_i:end_i]
        yb = y_train[start_i:end_i]
        pred = model(xb)
        loss = loss_func(pred, yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
print(loss_func(model(xb), yb), accuracy(model(xb), yb))
loss_func = F.cross_entropy

def model(xb):
    return xb @ weights + bias

print(loss_func(model(xb), yb), accuracy(model(xb), yb))

class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.sin(torch.arange(d * c, dtype=torch.float32)).reshape(d, c) / math.sqrt(d))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, xb):
        return xb @ self.weights + self.bias

model = Mnist_Logistic()
print(loss_func(model(xb), yb))

def fit():
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= p.grad * lr
                model.zero_grad()

fit()
print(loss_func(model(xb), yb))

class Mnist_Logistic2(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(d, c)

    def forward(self, xb):
        return self.lin(xb)

def get_model():
    model = Mnist_Logistic2()
    with torch.no_grad():
        model.lin.weight.copy_(torch.sin(torch.arange(d * c, dtype=torch.float32)).reshape(c, d) / 3)
        model.lin.bias.zero_()
    return model, optim.SGD(model.parameters(), lr=lr)

model, opt = get_model()
print(model)
print(loss_func(model(xb), yb))
train_ds = TensorDataset(x_train, y_train)
train_dl = DataLoader(train_ds, batch_size=bs)
valid_ds = TensorDataset(x_valid, y_valid)
valid_dl = DataLoader(valid_ds, batch_size=bs * 2)
for epoch in range(epochs):
    model.train()
    for xb, yb in train_dl:
        pred = model(xb)
        loss = loss_func(pred, yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    with torch.no_grad():
        valid_loss = sum(loss_func(model(xb), yb) for xb, yb in valid_dl)
    print(epoch, valid_loss / len(valid_dl))

def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)
    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()
    return loss.item(), len(xb)

import numpy as np

def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)
        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        print(epoch, round(float(val_loss), 5))

model, opt = get_model()
fit(epochs, model, loss_func, opt, train_dl, valid_dl)

class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)

model = nn.Sequential(Lambda(lambda x: x.view(-1, d)), nn.Linear(d, 5), nn.ReLU(), nn.Linear(5, c))
print(model)
print(sum(p.numel() for p in model.parameters()))
opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
print(opt)
'''
PROGRAMS['blitz_tensors'] = r'''
import torch
import numpy as np

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
np_array = np.array(data)
x_np = torch.from_numpy(np_array)
print(x_data, x_np, x_np.dtype)
x_ones = torch.ones_like(x_data)
print(f"Ones Tensor: \n {x_ones} \n")
x_full = torch.full_like(x_data, 7, dtype=torch.float)
print(f"Full Tensor: \n {x_full} \n")
shape = (2, 3,)
zeros_tensor = torch.zeros(shape)
print(f"Zeros Tensor: \n {zeros_tensor}")
tensor = torch.arange(12.).reshape(3, 4)
print(f"Shape of tensor: {tensor.shape}")
print(f"Datatype of tensor: {tensor.dtype}")
print(f"Device tensor is stored on: {tensor.device}")
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:, 1] = 0
print(tensor)
t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1)
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, out=y3)
print(y1, torch.equal(y1, y3))
z1 = tensor * tensor
z3 = torch.rand_like(tensor)
torch.mul(tensor, tensor, out=z3)
print(z3)
agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))
print(f"{tensor} \n")
tensor.add_(5)
print(tensor)
t = torch.ones(5)
print(f"t: {t}")
n = t.numpy()
print(f"n: {n}")
t.add_(1)
print(f"t: {t}")
print(f"n: {n}")
n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print(f"t: {t}")
print(f"n: {n}")
x = torch.arange(24).view(2, 3, 4)
print(x.permute(2, 0, 1).shape, x.transpose(0, 2).is_contiguous(), x.view(6, -1).shape)
print(x.reshape(-1, 8)[1], x.flatten().shape, x.unsqueeze(1).shape, x[:, None].squeeze().shape)
a = torch.tensor([[1.], [2.], [3.]])
b = torch.tensor([10., 20.])
print(a + b, (a * b).shape)
s = torch.stack([a.squeeze(), a.squeeze() * 2])
print(s, s.shape, torch.stack([b, b], dim=1))
m = torch.tensor([[3., 7., 1.], [9., 2., 5.]])
print(m.argmax(), m.argmax(dim=1), m.argmax(dim=0, keepdim=True))
vals, idx = m.max(dim=1)
print(vals, idx)
print(m.max(dim=0))
print(torch.max(m), torch.min(m, 1))
print(m[m > 4], m[[0, 1], [2, 0]], m[:, [2, 0]])
m[m > 4] = -1
print(m)
print(x.size(), x.size(1), x.numel(), x.dim(), x.ndim)
print(torch.chunk(torch.arange(7), 3), torch.split(torch.arange(7), [2, 5]))
print(torch.zeros(2, 2, dtype=torch.int32).numpy().dtype, torch.tensor(np.float64(2.5)))
x = torch.ones(2, 2)
y = x.clone()
y.mul_(3).sub_(1).div_(2)
print(x, y, y.t(), y.T.shape)
print(torch.tensor([1, 2, 3]).float().mean(), torch.tensor([[1, 2], [3, 4]]).sum(0))
print(torch.linspace(0, 1, 5), torch.logspace(0, 2, 3), torch.eye(3, dtype=torch.long))
print(torch.where(m > 0, m, torch.zeros_like(m)), m.clamp(min=0), m.abs().sqrt())
print(x.tolist(), torch.tensor(3).item(), float(torch.tensor(2.5)), int(torch.tensor(7)))
'''
