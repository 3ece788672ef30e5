"""max/min/amax/amin/argmax/argmin over an empty dim raise PyTorch's errors, word for word
(before: numpy's "zero-size array to reduction operation maximum", naming no op); reducing a
non-empty dim of an empty tensor still gives an empty result."""

from __future__ import annotations

import pytest

import dynamic as torch

CASES = [
    (lambda t, lib: t.amin(0), IndexError, "amin(): Expected reduction dim 0 to have non-zero size."),
    (lambda t, lib: t.max(0), IndexError, "max(): Expected reduction dim 0 to have non-zero size."),
    (lambda t, lib: t.min(dim=-2), IndexError, "min(): Expected reduction dim 0 to have non-zero size."),
    (lambda t, lib: lib.amax(t, (0, 1)), IndexError,
     "amax(): Expected reduction dim 0 to have non-zero size."),
    (lambda t, lib: t.argmax(0), IndexError,
     "argmax(): Expected reduction dim 0 to have non-zero size."),
    (lambda t, lib: t.max(), RuntimeError, "max(): Expected reduction dim to be specified for "
     "input.numel() == 0. Specify the reduction dim with the 'dim' argument."),
    (lambda t, lib: t.amax(), RuntimeError, "amax(): Expected reduction dim to be specified for "
     "input.numel() == 0. Specify the reduction dim with the 'dim' argument."),
    (lambda t, lib: t.argmin(), IndexError,
     "argmin(): Expected reduction dim to be specified for input.numel() == 0."),
]


@pytest.mark.parametrize(("call", "error", "text"), CASES)
def test_reducing_an_empty_dim_raises_pytorchs_error(call, error, text):
    with pytest.raises(error) as info:
        call(torch.zeros(0, 3), torch)
    assert str(info.value) == text


@pytest.mark.parametrize("call", [c for c, *_ in CASES])
def test_same_errors_as_pytorch(call):
    real = pytest.importorskip("torch")
    texts = []
    for lib in (torch, real):
        with pytest.raises((IndexError, RuntimeError)) as info:
            call(lib.zeros(0, 3), lib)
        texts.append((info.type, str(info.value)))
    assert texts[0] == texts[1]


def test_non_empty_dim_of_an_empty_tensor_reduces():
    t = torch.zeros(0, 3)
    assert tuple(t.amin(1).shape) == (0,)
    values, idx = t.max(1)
    assert tuple(values.shape) == (0,) and tuple(idx.shape) == (0,)
    assert tuple(torch.argmin(t, 1).shape) == (0,)
