"""The eager mode's large products run at the BLAS thread count its policy decided (issue #12,
``--threads 2``), whoever set OpenBLAS's count last: a compiled plan's policy picks one thread
for its small products, and the eager product after it used to run on that one thread until
the eager policy's next reading (up to ``REFRESH_S`` later). ``nn.Linear`` products take the
same path as ``a @ b``."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic import _parallel as P


@pytest.fixture
def two_threads(monkeypatch):
    """``set_num_threads(2)`` on free cores (the load check answers 8); restored after."""
    libs = P.cpu_threads.blas_threads()
    if not libs:
        pytest.skip("no OpenBLAS found in this process")
    saved = torch.get_num_threads()
    monkeypatch.setattr(P, "cores_free", lambda: 8)
    monkeypatch.delenv("STATICGRAPH_BLAS_THREADS", raising=False)
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(saved)
    P.cpu_threads.set_blas_threads(libs[0][1])


def _counts() -> set[int]:
    return {n for _, n in P.cpu_threads.blas_threads()}


def test_a_large_product_puts_back_the_decided_count(two_threads):
    a = torch.tensor(np.ones((256, 784), np.float32))
    b = torch.tensor(np.ones((784, 512), np.float32))
    np.testing.assert_array_equal((a @ b).numpy(), np.full((256, 512), 784, np.float32))
    assert _counts() == {2}
    P.cpu_threads.set_blas_threads(1)  # what a compiled plan's policy does for small products
    out = a @ b  # within the same REFRESH_S window: no new reading of the machine
    assert _counts() == {2}
    np.testing.assert_array_equal(out.numpy(), np.full((256, 512), 784, np.float32))


def test_linear_layers_settle_the_blas_threads_and_keep_their_graph(two_threads):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((256, 784)).astype(np.float32)
    lin = torch.nn.Linear(784, 512)
    x = torch.tensor(x0, requires_grad=True)
    P.cpu_threads.set_blas_threads(1)
    y = lin(x)
    assert _counts() == {2}
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    np.testing.assert_allclose(y.detach().numpy(), x0 @ w.T + b, rtol=1e-5, atol=1e-5)
    assert type(y.grad_fn).__name__ == "AddmmBackward0"
    mm = y.grad_fn.next_functions[0][0]
    assert type(mm).__name__ == "MmBackward0"
    assert [type(f).__name__ for f, _ in mm.next_functions] == ["AccumulateGrad",
                                                                "TransposeBackward0"]
    g = rng.standard_normal((256, 512)).astype(np.float32)
    y.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g @ w, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(lin.weight.grad.numpy(), g.T @ x0, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(lin.bias.grad.numpy(), g.sum(0), rtol=1e-4, atol=1e-4)
    assert lin.weight.grad.numpy().flags.c_contiguous  # as PyTorch's (weight.T's mm backward)
