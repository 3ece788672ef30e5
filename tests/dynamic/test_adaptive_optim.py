"""AdamW, RMSprop, Adagrad, Adadelta against PyTorch (when installed): the same weights after
several steps of a small regression, for each option that changes the formula; and the state
round trip through ``state_dict``."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic

CASES = [
    ("AdamW", {}), ("AdamW", {"weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"maximize": True, "lr": 0.01}),
    ("RMSprop", {}), ("RMSprop", {"momentum": 0.9}), ("RMSprop", {"centered": True}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.01}),
    ("Adagrad", {}), ("Adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.2}),
    ("Adagrad", {"weight_decay": 0.05, "maximize": True}),
    ("Adadelta", {}), ("Adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.01}),
]


def _train(torch, name: str, kw: dict, dtype: str, steps: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((8, 3)).astype(dtype))
    y = torch.tensor(rng.standard_normal((8, 1)).astype(dtype))
    w = torch.tensor(rng.standard_normal((3, 1)).astype(dtype), requires_grad=True)
    b = torch.tensor(np.zeros(1, dtype), requires_grad=True)
    opt = getattr(torch.optim, name)([w, b], **kw)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        opt.step()
    return [w.detach().numpy().copy(), b.detach().numpy().copy()]


def _tolerance(dtype: str) -> float:
    return 1e-6 if dtype == "float32" else 1e-13


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("name", "kw"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_pytorch(name: str, kw: dict, dtype: str) -> None:
    torch = pytest.importorskip("torch")
    ours = _train(dynamic, name, kw, dtype)
    theirs = _train(torch, name, kw, dtype)
    for a, t in zip(ours, theirs, strict=True):
        assert a.dtype == t.dtype
        np.testing.assert_allclose(a, t, rtol=_tolerance(dtype), atol=_tolerance(dtype))


@pytest.mark.parametrize(("name", "kw"), CASES[::3])
def test_moves_downhill_without_pytorch(name: str, kw: dict) -> None:
    """Without the oracle: the loss falls (maximize: rises) over the steps, in the param dtype."""
    x = dynamic.tensor(np.linspace(-1, 1, 16).reshape(8, 2))
    w = dynamic.tensor(np.array([[0.5], [-0.3]]), requires_grad=True)
    opt = getattr(dynamic.optim, name)([w], **{**kw, "lr": 0.05})
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((x @ w - 1.0) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert w.dtype == dynamic.float64
    assert (losses[-1] > losses[0]) if kw.get("maximize") else (losses[-1] < losses[0])


def test_state_dict_round_trip_resumes_exactly() -> None:
    def run(split: bool) -> np.ndarray:
        w = dynamic.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
        opt = dynamic.optim.RMSprop([w], lr=0.1, momentum=0.9, centered=True)
        for i in range(6):
            if split and i == 3:
                sd = opt.state_dict()
                opt = dynamic.optim.RMSprop([w], lr=0.1, momentum=0.9, centered=True)
                opt.load_state_dict(sd)
            opt.zero_grad()
            (w ** 3).sum().backward()
            opt.step()
        return w.detach().numpy()
    np.testing.assert_array_equal(run(False), run(True))


def test_bad_hyperparameters_say_which() -> None:
    w = dynamic.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="Invalid rho value: 1.5"):
        dynamic.optim.Adadelta([w], rho=1.5)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        dynamic.optim.RMSprop([w], lr=-1)
    with pytest.raises(ValueError, match="Invalid lr_decay value: -0.1"):
        dynamic.optim.Adagrad([w], lr_decay=-0.1)
