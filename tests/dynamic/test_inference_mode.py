"""``torch.inference_mode``, ``torch.is_inference_mode_enabled`` and ``Tensor.is_inference``:
which tensors are inference tensors, what PyTorch 2.13 refuses to do with them outside the mode
(error texts), and how the mode nests with the grad modes (recorded; live where PyTorch is
installed)."""

from __future__ import annotations

import pytest

import dynamic
from dynamic import _fast_path

INPLACE = ("Inplace update to inference tensor outside InferenceMode is not allowed.You can make "
           "a clone to get a normal tensor before doing inplace update.See "
           "https://github.com/pytorch/rfcs/pull/17 for more details.")
REQUIRES = "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed."


def _err(f):
    try:
        f()
    except RuntimeError as e:
        return str(e)
    return "ok"


def _trace(torch):
    out = []
    a = torch.ones(2, 3, requires_grad=True)
    n = torch.ones(3)
    out.append(torch.is_inference_mode_enabled())
    with torch.inference_mode():
        out.append((torch.is_inference_mode_enabled(), torch.is_grad_enabled()))
        x = torch.ones(2)
        made = [x, torch.tensor([1.0, 2.0]), torch.arange(3), torch.zeros_like(x), a * 2, a.sum(),
                n[1:], n + 1, torch.nn.functional.relu(n)]
        out.append([t.is_inference() for t in made])
        out.append((made[4].requires_grad, made[4].grad_fn))
        n.add_(1)  # a normal tensor may be updated inside
        x.add_(1)
        out.append((n._version, x.tolist()))
        with torch.inference_mode(False):
            out.append((torch.is_inference_mode_enabled(), torch.is_grad_enabled(),
                        torch.ones(1).is_inference()))
        with torch.enable_grad():
            z = a * 2
            out.append((z.requires_grad, z.is_inference(), torch.is_grad_enabled()))
    out.append((torch.is_inference_mode_enabled(), torch.is_grad_enabled()))
    out.append([x.is_inference(), x.detach().is_inference(), x.view(2).is_inference(),
                x[0].is_inference(), (x + 1).is_inference(), x.clone().is_inference()])
    for f in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.zero_(),
              lambda: x.__setitem__(0, 5.0), lambda: x.unsqueeze_(0), lambda: x.requires_grad_()):
        out.append(_err(f))
    with torch.no_grad():
        out.append(_err(lambda: x.add_(1)))

    @torch.inference_mode()
    def f(t):
        return t * 2, torch.is_inference_mode_enabled()

    r, on = f(a)
    out.append((r.is_inference(), on, r.requires_grad, torch.is_inference_mode_enabled()))

    @torch.inference_mode
    def g(t):
        return t * 2

    out.append(g(a).is_inference())
    with torch.no_grad():
        with torch.inference_mode(False):
            out.append((torch.is_grad_enabled(), (a * 2).requires_grad))
    out.append(type((a * 3).grad_fn).__name__)
    return out


def test_inference_tensors_and_their_errors():
    out = _trace(dynamic)
    assert out[:3] == [False, (True, False), [True] * 6 + [False, True, True]]
    assert out[3] == (False, None) and out[4] == (1, [2.0, 2.0])
    assert out[5] == (False, True, False)
    assert out[6] == (False, True, True)  # enable_grad inside: reported on, nothing recorded
    assert out[7] == (False, True)
    assert out[8] == [True, True, True, True, False, False]
    assert out[9:14] == [INPLACE] * 5 and out[14] == REQUIRES and out[15] == INPLACE
    assert out[16:] == [(True, True, False, False), True, (True, True), "MulBackward0"]


def test_state_left_intact_and_lean_path_restored():
    with dynamic.inference_mode():
        assert _fast_path.ENABLED[0] is False
        x = dynamic.ones(2)
    assert _fast_path.ENABLED[0] is True
    with pytest.raises(RuntimeError):
        x.unsqueeze_(0)
    with pytest.raises(RuntimeError):
        x[0] = 3.0
    assert x.tolist() == [1.0, 1.0] and x._version == 0 and not x.requires_grad
    y = x.clone()
    y.add_(1)  # a clone is a normal tensor
    assert y.tolist() == [2.0, 2.0]


def test_equal_to_pytorch():
    torch = pytest.importorskip("torch")
    assert _trace(dynamic) == _trace(torch)
