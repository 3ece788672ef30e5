# ruff: noqa: E501 - program text inside strings
"""Training programs as a learner writes them from PyTorch's public material (issue #15, third
round): the "Learn the basics" quickstart on a FashionMNIST-like seeded fake dataset, a
CIFAR-style CNN with BatchNorm/Dropout and eval(), the "What is torch.nn really?" refactor up
to a CNN with a wrapped DataLoader. Written for
this project, not copied; weights come from formulas (PyTorch's random initial values are not
reproduced). ``test_torch_corpus_learner.py`` checks them against the recorded PyTorch output."""

PROGRAMS: dict[str, str] = {}

# Deterministic weights, what the programs use instead of random init (shared with _tune).
FILL = '''
def fill_(model, scale=0.4):
    with torch.no_grad():
        for k, p in enumerate(model.parameters()):
            n = p.numel()
            p.copy_(torch.sin(torch.arange(n, dtype=torch.float32) * 0.7 + k).reshape(p.shape) * scale / (1 + 0.2 * k))
'''

PROGRAMS["quickstart_fashion"] = FILL + '''
from torch import nn
from torch.utils.data import Dataset, DataLoader

labels_map = {0: "T-Shirt", 1: "Trouser", 2: "Pullover", 3: "Dress"}

class FakeFashion(Dataset):
    """28x28 images shrunk to 6x6: a stripe pattern whose angle says the class."""
    def __init__(self, n, train=True, transform=None, target_transform=None):
        self.n, self.offset = n, 0 if train else 1000
        self.transform, self.target_transform = transform, target_transform
    def __len__(self):
        return self.n
    def __getitem__(self, idx):
        i = idx + self.offset
        label = i % 4
        r = torch.arange(6, dtype=torch.float32)
        img = torch.cos(r.unsqueeze(1) * (label + 1) * 0.5 + r * 0.3 * label + i * 0.01)
        img = ((img + 1) * 127.5).to(torch.uint8).unsqueeze(0)
        if self.transform:
            img = self.transform(img)
        if self.target_transform:
            label = self.target_transform(label)
        return img, label

def to_tensor(img):
    return img.float() / 255

training_data = FakeFashion(32, train=True, transform=to_tensor)
test_data = FakeFashion(12, train=False, transform=to_tensor)
img, label = training_data[5]
print(img.shape, img.dtype, label, labels_map[label], f"{img.mean():.4f}")
raw, _ = FakeFashion(1)[0]
print(raw.dtype, raw[0, 0], raw.max())
one_hot = FakeFashion(4, target_transform=lambda y: torch.zeros(4, dtype=torch.float).scatter_(0, torch.tensor(y), value=1))
print(one_hot[2][1], one_hot[3][1].dtype)

batch_size = 8
train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(0))
test_dataloader = DataLoader(test_data, batch_size=batch_size)
for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break
device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"Using {device} device")

class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(6 * 6, 16),
            nn.ReLU(),
            nn.Linear(16, 16),
            nn.ReLU(),
            nn.Linear(16, 4),
        )
    def forward(self, x):
        x = self.flatten(x)
        return self.linear_relu_stack(x)

model = NeuralNetwork().to(device)
fill_(model)
print(model)
print(f"Model structure: {model}\\n\\n"[:40])
for name, param in model.named_parameters():
    print(f"Layer: {name} | Size: {param.size()} | Values : {param[:1, :3] if param.dim() == 2 else param[:2]} \\n")

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

def train_loop(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 2 == 1:
            loss, current = loss.item(), batch * batch_size + len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

def test_loop(dataloader, model, loss_fn):
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \\n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8.5f} \\n")

epochs = 4
for t in range(epochs):
    print(f"Epoch {t+1}\\n-------------------------------")
    train_loop(train_dataloader, model, loss_fn, optimizer)
    test_loop(test_dataloader, model, loss_fn)
print("Done!")

import os, tempfile
d = tempfile.mkdtemp()
torch.save(model.state_dict(), os.path.join(d, "model_weights.pth"))
model2 = NeuralNetwork()
print(model2.load_state_dict(torch.load(os.path.join(d, "model_weights.pth"), weights_only=True)))
model2.eval()
x, y = test_data[3]
with torch.no_grad():
    pred = model2(x)
    predicted, actual = labels_map[pred[0].argmax(0).item()], labels_map[y]
    print(f'Predicted: "{predicted}", Actual: "{actual}"')
    print(pred.shape, nn.Softmax(dim=1)(pred).sum().item() > 0.999)
X = torch.stack([test_data[i][0] for i in range(4)])
logits = model2(X)
pred_probab = nn.Softmax(dim=1)(logits)
y_pred = pred_probab.argmax(1)
print(f"Predicted class: {y_pred}")
print(logits.grad_fn, pred_probab.requires_grad)
'''

PROGRAMS["cifar_cnn_bn_dropout"] = FILL + '''
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

classes = ('plane', 'car', 'bird', 'cat')

def make_batch(start, n=4):
    idx = torch.arange(start, start + n, dtype=torch.float32)
    grid = torch.arange(8, dtype=torch.float32)
    imgs = torch.sin(idx.view(-1, 1, 1, 1) * 0.9 + torch.arange(3.).view(1, 3, 1, 1) + grid.view(1, 1, 8, 1) * 0.4 - grid.view(1, 1, 1, 8) * 0.25)
    return (imgs - 0.5) / 0.5, (torch.arange(start, start + n) * 3) % 4

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 8, 3)
        self.fc1 = nn.Linear(8 * 1 * 1, 12)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(12, 4)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)

net = Net()
fill_(net)
print(net)
print(sum(p.numel() for p in net.parameters()), sum(b.numel() for b in net.buffers()))
images, labels = make_batch(0)
print(images.shape, ' '.join(f'{classes[labels[j]]:5s}' for j in range(4)))
net.eval()
with torch.no_grad():
    out_eval = net(images)
print(out_eval)
net.train()
print(net.training, net.dropout.training, net.bn1.running_mean)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
net.dropout.p = 0.0  # dropout off while checking the numbers: its random mask is not reproducible
for epoch in range(2):
    running_loss = 0.0
    for i in range(4):
        inputs, labels = make_batch(i * 4)
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        if i % 2 == 1:
            print(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 2:.3f}')
            running_loss = 0.0
print('Finished Training')
print(net.bn1.running_mean, net.bn1.running_var, net.bn1.num_batches_tracked)
net.eval()
correct = 0
total = 0
correct_pred = {classname: 0 for classname in classes}
total_pred = {classname: 0 for classname in classes}
with torch.no_grad():
    for start in (16, 20, 24):
        images, labels = make_batch(start)
        outputs = net(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
        for label, prediction in zip(labels, predictions := predicted):
            if label == prediction:
                correct_pred[classes[label]] += 1
            total_pred[classes[label]] += 1
print(f'Accuracy of the network on the 12 test images: {100 * correct // total} %')
for classname, correct_count in correct_pred.items():
    accuracy = 100 * float(correct_count) / max(total_pred[classname], 1)
    print(f'Accuracy for class: {classname:5s} is {accuracy:.1f} %')
net.dropout.p = 0.5
x = torch.ones(2, 12)
print(torch.equal(net.dropout(x), x))
net.train()
y = net.dropout(x)
print(sorted(set(y.flatten().tolist()) | {0.0, 2.0}), y.shape)
print(F.dropout(x, 0.5, training=False).sum(), nn.Dropout(p=0.2))
try:
    nn.Dropout(1.5)
except ValueError as e:
    print(e)
'''

PROGRAMS["nn_really_refactor"] = '''
import math
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import TensorDataset, DataLoader

n, side, c = 24, 4, 3
x_train = torch.cos(torch.arange(n * side * side, dtype=torch.float32) * 0.37).reshape(n, side * side)
y_train = (torch.arange(n) * 7) % c
x_valid, y_valid = torch.sin(x_train[:9] * 2), y_train[:9].flip(0)
train_ds = TensorDataset(x_train, y_train)
valid_ds = TensorDataset(x_valid, y_valid)
print(train_ds[0:2][1], len(valid_ds))
bs, lr, epochs = 6, 0.3, 2
loss_func = F.cross_entropy

def get_data(train_ds, valid_ds, bs):
    return (
        DataLoader(train_ds, batch_size=bs, shuffle=True, generator=torch.Generator().manual_seed(5)),
        DataLoader(valid_ds, batch_size=bs * 2),
    )

def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)
    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()
    return loss.item(), len(xb)

def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)
        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        print(epoch, f"{val_loss:.6f}", nums)

import numpy as np

class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(side * side, c)
    def forward(self, xb):
        return self.lin(xb)

def get_model():
    model = Mnist_Logistic()
    with torch.no_grad():
        model.lin.weight.copy_(torch.sin(torch.arange(c * side * side, dtype=torch.float32)).reshape(c, -1) / math.sqrt(side * side))
        model.lin.bias.zero_()
    return model, optim.SGD(model.parameters(), lr=lr)

train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
model, opt = get_model()
print(loss_func(model(x_train[:bs]), y_train[:bs]))
fit(epochs, model, loss_func, opt, train_dl, valid_dl)

class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func
    def forward(self, x):
        return self.func(x)

def preprocess(x, y):
    return x.view(-1, 1, side, side), y

class WrappedDataLoader:
    def __init__(self, dl, func):
        self.dl = dl
        self.func = func
    def __len__(self):
        return len(self.dl)
    def __iter__(self):
        for b in self.dl:
            yield (self.func(*b))

train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
train_dl = WrappedDataLoader(train_dl, preprocess)
valid_dl = WrappedDataLoader(valid_dl, preprocess)
model = nn.Sequential(
    nn.Conv2d(1, 4, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.Conv2d(4, c, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    Lambda(lambda x: x.view(x.size(0), -1)),
)
with torch.no_grad():
    for k, p in enumerate(model.parameters()):
        p.copy_(torch.cos(torch.arange(p.numel(), dtype=torch.float32) + k).reshape(p.shape) * 0.3)
print(model)
opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
print(len(train_dl), next(iter(valid_dl))[0].shape)
fit(epochs, model, loss_func, opt, train_dl, valid_dl)
print(model(x_valid[:2].view(-1, 1, side, side)))
'''
