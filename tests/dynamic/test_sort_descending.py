"""``sort(descending=True)`` and ``topk`` put NaN first (the largest), as PyTorch; unsigned
and boolean tensors sort descending too (found by the wide fuzzer with NaN in its data:
``argsort(-a)`` put NaN last, so ``topk`` skipped NaN, wrapped uint8 and raised on bool)."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic

CASES = [np.array([[1.0, np.nan, 3.0, -1.0, 3.0], [np.nan, 2.0, np.nan, 0.5, 2.0],
                   [-np.inf, np.inf, np.nan, 0.0, -0.0]]),
         np.array([0, 1, 2, 1, 255], np.uint8), np.array([True, False, True, False])]


def _descending_stable(a: np.ndarray) -> np.ndarray:
    """Brute force: NaN first, then values high to low, ties in their original order."""
    def key(i: int, row: np.ndarray):
        v = row[i]
        return (0 if v != v else 1, -float(v), i)
    rows = a.reshape(-1, a.shape[-1])
    return np.array([sorted(range(len(r)), key=lambda i, r=r: key(i, r)) for r in rows]
                    ).reshape(a.shape)


@pytest.mark.parametrize("a", CASES, ids=["float-nan", "uint8", "bool"])
def test_sort_descending(a) -> None:
    got = dynamic.tensor(a).sort(-1, descending=True)
    want = _descending_stable(a)
    np.testing.assert_array_equal(got.indices.numpy(), want)
    np.testing.assert_array_equal(got.values.numpy(), np.take_along_axis(a, want, -1))
    asc = dynamic.tensor(a).sort(-1)
    np.testing.assert_array_equal(asc.indices.numpy(), np.argsort(a, -1, kind="stable"))


def test_topk_takes_nan_first_and_its_gradient_follows() -> None:
    a = CASES[0]
    t = dynamic.tensor(a, requires_grad=True)
    v = t.topk(2)
    want = _descending_stable(a)[:, :2]
    np.testing.assert_array_equal(v.indices.numpy(), want)
    v.values.sum().backward()
    g = np.zeros_like(a)
    np.put_along_axis(g, want, 1.0, -1)
    np.testing.assert_array_equal(t.grad.numpy(), g)
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(torch.tensor(a).topk(2).values.numpy(),
                                  v.values.detach().numpy())
