"""``torch.linalg.qr``/``svd``/``svdvals`` differentiate (they were values-only) and
``slogdet``'s sign has PyTorch's ``grad_fn`` (leaving ``a.grad`` unset): against PyTorch when
installed (singular vectors through sign-invariant functions: their signs differ between
libraries), and against central differences always, batched."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch

RNG = np.random.default_rng(5)


def _weights(*shapes):
    return [RNG.standard_normal(s) for s in shapes]


def _qr_loss(m, a, mode, w):
    q, r = m.linalg.qr(a, mode=mode)
    return (q * m.tensor(w[0])).sum() + (r * m.tensor(w[1])).sum()


def _svd_loss(m, a, full, w):
    """Sign-invariant in the singular vectors: squares and rank-one products."""
    u, s, vh = m.linalg.svd(a, full_matrices=full)
    k = s.shape[-1]
    uk, vk = u[..., :k], vh[..., :k, :]
    recon = (uk * m.tensor(w[3])[..., None, :]) @ vk
    return ((u * u * m.tensor(w[0])).sum() + (s * m.tensor(w[1])).sum()
            + (vh * vh * m.tensor(w[2])).sum() + (recon * m.tensor(w[4])).sum())


def _fd(f, a, eps=1e-6):
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[i] = eps
        g[i] = (float(f(torch.tensor(a + e))) - float(f(torch.tensor(a - e)))) / (2 * eps)
    return g


QR_CASES = [((4, 3), "reduced"), ((3, 5), "reduced"), ((3, 3), "complete"),
            ((2, 4, 3), "reduced"), ((2, 3, 5), "complete")]
SVD_CASES = [((4, 3), False), ((3, 5), False), ((3, 3), True), ((2, 4, 3), False),
             ((2, 3, 4), False)]


def _qr_weights(shape, mode):
    q, r = np.linalg.qr(np.zeros(shape), mode=mode)
    return _weights(q.shape, r.shape)


def _svd_weights(shape, full):
    u, s, vh = np.linalg.svd(RNG.standard_normal(shape), full_matrices=full)
    return _weights(u.shape, s.shape, vh.shape, s.shape, shape)


@pytest.mark.parametrize("shape,mode", QR_CASES)
def test_qr_gradient_matches_finite_differences(shape, mode):
    a, w = RNG.standard_normal(shape), _qr_weights(shape, mode)
    x = torch.tensor(a, requires_grad=True)
    _qr_loss(torch, x, mode, w).backward()
    np.testing.assert_allclose(x.grad.numpy(), _fd(lambda t: _qr_loss(torch, t, mode, w), a),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape,full", SVD_CASES)
def test_svd_gradient_matches_finite_differences(shape, full):
    a, w = RNG.standard_normal(shape), _svd_weights(shape, full)
    x = torch.tensor(a, requires_grad=True)
    _svd_loss(torch, x, full, w).backward()
    np.testing.assert_allclose(x.grad.numpy(), _fd(lambda t: _svd_loss(torch, t, full, w), a),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape,mode", QR_CASES)
def test_qr_gradient_against_pytorch(shape, mode):
    real = pytest.importorskip("torch")
    a, w = RNG.standard_normal(shape), _qr_weights(shape, mode)
    x, y = torch.tensor(a, requires_grad=True), real.tensor(a, requires_grad=True)
    _qr_loss(torch, x, mode, w).backward()
    _qr_loss(real, y, mode, w).backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape,full", SVD_CASES + [((4, 2), True), ((2, 5), True)])
def test_svd_gradient_against_pytorch(shape, full):
    """Full non-square factorizations too: the extra vectors' terms get no gradient in either."""
    real = pytest.importorskip("torch")
    a, w = RNG.standard_normal(shape), _svd_weights(shape, full)
    x, y = torch.tensor(a, requires_grad=True), real.tensor(a, requires_grad=True)
    _svd_loss(torch, x, full, w).backward()
    _svd_loss(real, y, full, w).backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-9, atol=1e-11)
    xs, ys = torch.tensor(a, requires_grad=True), real.tensor(a, requires_grad=True)
    (torch.linalg.svdvals(xs) * torch.tensor(w[1])).sum().backward()
    (real.linalg.svdvals(ys) * real.tensor(w[1])).sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), ys.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_grad_fns_and_refusals():
    a = torch.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    q, r = torch.linalg.qr(a)
    u, s, vh = torch.linalg.svd(a)
    names = {type(t.grad_fn).__name__ for t in (q, r)} | {type(t.grad_fn).__name__
                                                          for t in (u, s, vh)}
    assert names == {"LinalgQrBackward0", "LinalgSvdBackward0"}
    q, r = torch.linalg.qr(a, mode="complete")
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete'"):
        q.sum().backward()
    sq = torch.tensor(RNG.standard_normal((3, 3)), requires_grad=True)
    sign, logabs = torch.linalg.slogdet(sq)
    assert type(sign.grad_fn).__name__ == "LinalgSlogdetBackward0" and sign.requires_grad
    sign.backward()
    assert sq.grad is None  # PyTorch: the real sign's gradient is undefined, not zeros
    logabs.backward()
    np.testing.assert_allclose(sq.grad.numpy(), np.linalg.inv(sq.detach().numpy()).T)
