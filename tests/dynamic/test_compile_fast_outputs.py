"""The compiled fast path's results (issue #14, per-call cost): each output and each new ``.grad``
is a fresh ``Tensor`` built inline (``fastpath.wrap_src``), which must be exactly what
``make``/``wrap`` give: every slot set, no history, version 0, a storage of its own per call."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic._compile import fastpath
from dynamic._tensor import Tensor, wrap


def test_inline_tensor_sets_every_slot_as_wrap_does():
    assert fastpath._INLINE, "fastpath._FRESH no longer lists Tensor's slots: the fast path " \
                             "fell back to make(); update _FRESH"
    a = np.arange(3, dtype=np.float32)
    ns = {"NEW": object.__new__, "TENSOR": Tensor, "arr": a}
    exec(fastpath.wrap_src("t", "arr"), ns)  # noqa: S102
    t, ref = ns["t"], wrap(a)
    for slot in set(Tensor.__slots__) - {"__weakref__", "_data"}:
        assert getattr(t, slot) == getattr(ref, slot), slot
    assert t._data is a and t._vc is not ref._vc


def _seed():
    x = torch.tensor(2.0, requires_grad=True)
    w = torch.tensor(3.0, requires_grad=True)

    def run():
        y = (x + w) * (w + 1.0)
        gx, gw = torch.autograd.grad(y, [x, w])
        return {"y": y, "d_x": gx, "d_w": gw}

    return run


@pytest.mark.parametrize("calls", [4])
def test_fast_path_outputs_are_fresh_tensors_without_history(calls):
    run = _seed()
    compiled = torch.compile(run)
    outs = [compiled() for _ in range(calls)]  # capture, general run, fast path's runs
    assert compiled._hot is not None and "NEW(TENSOR)" in compiled._hot.source
    want = run()
    for out in outs:
        for k, v in want.items():
            np.testing.assert_allclose(out[k].numpy(), v.detach().numpy(), rtol=1e-6)
            t = out[k]
            assert type(t) is Tensor and not t.requires_grad and t.grad_fn is None
            assert t._version == 0 and t.is_leaf and t.grad is None
    last, prev = outs[-1], outs[-2]
    assert last["y"]._data is not prev["y"]._data  # a held result is never overwritten
    last["y"].add_(1.0)  # an output is the caller's to write: its own version counter
    assert last["y"]._version == 1 and prev["y"]._version == 0
    assert float(prev["y"]) == float(want["y"])
    with pytest.raises(RuntimeError, match="does not require grad"):
        last["d_x"].backward()
