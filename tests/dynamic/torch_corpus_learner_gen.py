# ruff: noqa: E501 - program text inside strings
"""Generative models as a learner writes them from PyTorch's public examples (issue #15, third
round): a VAE (reparameterization with fixed noise, BCE + KL loss, Adam) and a DCGAN on 8x8
images (``ConvTranspose2d``/``BatchNorm2d`` generator, ``LeakyReLU(inplace=True)``
discriminator, ``weights_init`` through ``Module.apply``, alternating D/G steps with
``detach``). Written for this project, not copied; the noise PyTorch would draw with ``randn`` is
fixed numbers here. ``test_torch_corpus_learner.py`` checks them against PyTorch's output."""

PROGRAMS: dict[str, str] = {}

PROGRAMS["vae_small"] = '''
from torch import nn, optim
from torch.nn import functional as F

class VAE(nn.Module):
    def __init__(self, d=12, h=8, z=2):
        super().__init__()
        self.fc1 = nn.Linear(d, h)
        self.fc21 = nn.Linear(h, z)
        self.fc22 = nn.Linear(h, z)
        self.fc3 = nn.Linear(z, h)
        self.fc4 = nn.Linear(h, d)
        self.d = d

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5 * logvar)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x, eps):
        mu, logvar = self.encode(x.view(-1, self.d))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar

def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 12), reduction='sum')
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD

model = VAE()
with torch.no_grad():
    for k, (name, p) in enumerate(model.named_parameters()):
        p.copy_(torch.cos(torch.arange(p.numel(), dtype=torch.float32) * 1.3 + k).reshape(p.shape) * 0.5)
optimizer = optim.Adam(model.parameters(), lr=1e-2)
data = (torch.sin(torch.arange(16 * 12, dtype=torch.float32) * 0.21).reshape(16, 1, 3, 4) + 1) / 2
# eps would be torch.randn_like(std); fixed numbers here so the run is reproducible
eps_all = torch.cos(torch.arange(16 * 2, dtype=torch.float32) * 2.1).reshape(16, 2)
print(model)
for epoch in range(1, 4):
    model.train()
    train_loss = 0
    for batch_idx in range(4):
        x = data[batch_idx * 4:(batch_idx + 1) * 4]
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(x, eps_all[batch_idx * 4:(batch_idx + 1) * 4])
        loss = loss_function(recon_batch, x, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
        if batch_idx % 2 == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\\tLoss: {:.5f}'.format(
                epoch, batch_idx * len(x), len(data), 100. * batch_idx / 4, loss.item() / len(x)))
    print('====> Epoch: {} Average loss: {:.4f}'.format(epoch, train_loss / len(data)))
model.eval()
with torch.no_grad():
    recon, mu, logvar = model(data[:2], torch.zeros(2, 2))
    print(mu, logvar.exp())
    print(recon.view(2, 1, 3, 4)[0])
    sample = model.decode(torch.tensor([[0.0, 0.0], [1.0, -1.0]]))
    print(sample.shape, sample.min() > 0, sample.max() < 1)
print(optimizer.state_dict()["state"][0]["step"], optimizer)
try:
    F.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0]))
except RuntimeError as e:
    print(e)
'''

PROGRAMS["dcgan_tiny"] = '''
import torch.nn as nn
import torch.optim as optim

nz, ngf, ndf, nc = 4, 4, 4, 1

def weights_init(m):
    classname = m.__class__.__name__
    with torch.no_grad():
        if classname.find('Conv') != -1:
            m.weight.copy_(torch.sin(torch.arange(m.weight.numel(), dtype=torch.float32)).reshape(m.weight.shape) * 0.2)
        elif classname.find('BatchNorm') != -1:
            m.weight.copy_(1.0 + 0.1 * torch.cos(torch.arange(m.weight.numel(), dtype=torch.float32)))
            nn.init.constant_(m.bias.data, 0)

class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 2, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )
    def forward(self, input):
        return self.main(input)

class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 2, 1, 0, bias=False),
            nn.Sigmoid(),
        )
    def forward(self, input):
        return self.main(input)

netG = Generator()
netG.apply(weights_init)
print(netG)
netD = Discriminator()
netD.apply(weights_init)
print(netD)
criterion = nn.BCELoss()
fixed_noise = torch.cos(torch.arange(2 * nz, dtype=torch.float32)).reshape(2, nz, 1, 1)
real_label, fake_label = 1., 0.
optimizerD = optim.Adam(netD.parameters(), lr=0.0002 * 10, betas=(0.5, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=0.0002 * 10, betas=(0.5, 0.999))
print(netG(fixed_noise).shape, netD(netG(fixed_noise)).shape)
G_losses, D_losses = [], []
b = 3
for i in range(4):
    real = torch.sin(torch.arange(b * 64, dtype=torch.float32) * (0.3 + 0.01 * i)).reshape(b, nc, 8, 8)
    noise = torch.cos(torch.arange(b * nz, dtype=torch.float32) * (1.7 + 0.1 * i)).reshape(b, nz, 1, 1)
    netD.zero_grad()
    label = torch.full((b,), real_label, dtype=torch.float)
    output = netD(real).view(-1)
    errD_real = criterion(output, label)
    errD_real.backward()
    D_x = output.mean().item()
    fake = netG(noise)
    label.fill_(fake_label)
    output = netD(fake.detach()).view(-1)
    errD_fake = criterion(output, label)
    errD_fake.backward()
    D_G_z1 = output.mean().item()
    errD = errD_real + errD_fake
    optimizerD.step()
    netG.zero_grad()
    label.fill_(real_label)
    output = netD(fake).view(-1)
    errG = criterion(output, label)
    errG.backward()
    D_G_z2 = output.mean().item()
    optimizerG.step()
    print('[%d/%d]\\tLoss_D: %.4f\\tLoss_G: %.4f\\tD(x): %.4f\\tD(G(z)): %.4f / %.4f'
          % (i, 4, errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
    G_losses.append(errG.item())
    D_losses.append(errD.item())
with torch.no_grad():
    fake = netG(fixed_noise).detach().cpu()
print(fake[0, 0, :2], len(G_losses), errD.grad_fn)
print(netD.main[3].running_mean, netG.main[1].num_batches_tracked)
'''
