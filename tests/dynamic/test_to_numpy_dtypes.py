"""``Tensor.to`` with a numpy dtype or type converts, as ``dynamic.tensor(x, dtype=np.float64)``
does (PyTorch refuses numpy dtypes here); it used to ignore the argument and return the tensor
unchanged (found by the fuzzer: ``argmax(...).to(DT)`` stayed int64). An argument that is no
dtype, device or tensor is an error."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic


@pytest.mark.parametrize("dt", [np.float64, np.dtype("float64"), float])
def test_to_a_numpy_dtype_converts(dt) -> None:
    t = dynamic.tensor([1, 2])
    got = t.to(dt)
    want = dynamic.float32 if dt is float else dynamic.float64
    assert got.dtype == want
    np.testing.assert_array_equal(got.numpy(), [1.0, 2.0])


def test_to_keeps_devices_and_flags() -> None:
    t = dynamic.tensor([1.0, 2.0])
    assert t.to("cpu") is t and t.to(dynamic.device("cpu"), dynamic.float64).dtype == \
        dynamic.float64
    assert t.to(dynamic.float32, False) is t and t.to(dynamic.float32, copy=True) is not t


def test_to_an_invalid_argument_is_an_error_naming_it() -> None:
    with pytest.raises(TypeError, match="invalid argument 3.5"):
        dynamic.tensor([1.0]).to(3.5)
