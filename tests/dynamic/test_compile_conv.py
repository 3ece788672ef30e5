"""``dynamic.compile`` of models built from the convolution family and the normalisation
layers: the compiled graph (window core, grouped taps, padding modes, transposed convolution,
group/layer/instance norm) gives eager's forward values and gradients, without a fallback."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
import dynamic.nn as nn
import dynamic.nn.functional as F

pytestmark = pytest.mark.filterwarnings("ignore")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3, padding=1, padding_mode="reflect", dtype=torch.float64)
        self.gn = nn.GroupNorm(2, 4, dtype=torch.float64)
        self.dw = nn.Conv1d(4, 8, 3, groups=4, dilation=2, padding="same", dtype=torch.float64)
        self.up = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1,
                                     dtype=torch.float64)
        self.inorm = nn.InstanceNorm2d(3, affine=True, dtype=torch.float64)
        self.ln = nn.LayerNorm(8, dtype=torch.float64)

    def forward(self, x):
        h = F.max_pool1d(F.relu(self.dw(F.relu(self.gn(self.conv(x))))), 2)  # (N, 8, 5)
        img = self.inorm(self.up(h[:, :2, :4].reshape(-1, 2, 2, 2)))       # (N, 3, 4, 4)
        pooled = F.adaptive_avg_pool2d(img, (2, 3)).flatten(1)
        return self.ln(h.mean(2)).sum(1) + pooled.sum(1)


def test_compiled_model_matches_eager_values_and_gradients(caplog):
    import logging

    caplog.set_level(logging.INFO, logger="staticgraph")
    torch.manual_seed(0)
    model = Net()
    x = torch.tensor(np.random.default_rng(0).standard_normal((3, 2, 10)))
    results = []
    for fn in (model, torch.compile(model)):
        model.zero_grad()
        y = fn(x)
        (y * torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)).sum().backward()
        results.append([y.detach().numpy()] + [p.grad.numpy().copy() for p in model.parameters()])
    for eager, compiled in zip(*results, strict=True):
        np.testing.assert_allclose(compiled, eager, rtol=1e-10, atol=1e-12)
    assert not [r for r in caplog.records if "cannot compile" in r.getMessage()]


def test_transposed_matrix_into_a_batched_matmul_compiles(caplog):
    """Regression: a 2-D permute consumed by a batched matmul (the gradient of
    ``matmul(permute(x), w)``, every conv's filter) was made a ``.T`` view that only dot steps
    render, so the batched matmul read an undefined value and the key fell back to the
    reference executor ("value %N (permute) used before defined")."""
    import logging

    import staticgraph as sg

    caplog.set_level(logging.INFO, logger="staticgraph")
    sg.reset_default_graph()
    x = sg.placeholder(sg.float64, [2, 3, 4])
    w = sg.Variable(np.ones((3, 5)))
    y = sg.matmul(sg.transpose(x, [0, 2, 1]), w)
    grads = sg.gradients(sg.reduce_sum(y), [x, w])
    with sg.Session() as sess:
        sess.run(sg.global_variables_initializer())
        gx, _ = sess.run(grads, {x: np.ones((2, 3, 4))})
    np.testing.assert_array_equal(gx, np.full((2, 3, 4), 5.0))
    assert not [r for r in caplog.records if "cannot compile" in r.getMessage()]

