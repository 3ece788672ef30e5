"""``torch.save``/``torch.load`` (this project's pickle-free format), ``load_state_dict`` of
modules and optimizers: round trips bit for bit, errors that name the fault."""

from __future__ import annotations

import io
from collections import OrderedDict

import numpy as np
import pytest

import dynamic
from dynamic import nn


def _round_trip(obj):
    buf = io.BytesIO()
    dynamic.save(obj, buf)
    buf.seek(0)
    return dynamic.load(buf, weights_only=True)


def test_structures_dtypes_and_values_round_trip(tmp_path):
    a = dynamic.tensor(np.random.default_rng(0).standard_normal((3, 2)))
    obj = OrderedDict(a=a, b=[1, 2.5, (dynamic.arange(3), None)], c={3: "x", "nan": float("inf")},
                      d=np.arange(4, dtype=np.int16), e=dynamic.Size([2, 3]), f=dynamic.float16)
    dynamic.save(obj, tmp_path / "x.pt")
    back = dynamic.load(str(tmp_path / "x.pt"))
    assert type(back) is OrderedDict and list(back) == list(obj)
    assert back["a"].dtype == dynamic.float64 and np.array_equal(back["a"].numpy(), a.numpy())
    assert back["b"][0] == 1 and back["b"][1] == 2.5 and isinstance(back["b"][2], tuple)
    assert back["b"][2][0].tolist() == [0, 1, 2] and back["b"][2][0].dtype == dynamic.int64
    assert back["c"] == {3: "x", "nan": float("inf")}
    assert back["d"].dtype == np.int16 and back["e"] == dynamic.Size([2, 3])
    assert back["f"] is dynamic.float16


def test_parameters_and_shared_tensors():
    p = nn.Parameter(dynamic.tensor([1.0, 2.0]))
    q = _round_trip([p, p, p.detach()])
    assert q[0] is q[1] and isinstance(q[0], nn.Parameter) and q[0].requires_grad
    assert not q[2].requires_grad and q[2] is not q[0]


def test_a_model_and_its_optimizer_resume_exactly():
    def make():
        m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
        return m, dynamic.optim.Adam(m.parameters(), lr=0.01)
    x = dynamic.arange(12.0).reshape(4, 3)
    m, opt = make()
    m(x).pow(2).sum().backward()
    opt.step()
    ck = _round_trip({"model": m.state_dict(), "opt": opt.state_dict()})
    m2, opt2 = make()
    assert repr(m2.load_state_dict(ck["model"])) == "<All keys matched successfully>"
    opt2.load_state_dict(ck["opt"])
    for o, mm in ((opt, m), (opt2, m2)):
        o.zero_grad()
        mm(x).pow(2).sum().backward()
        o.step()
    for a, b in zip(m.state_dict().values(), m2.state_dict().values(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy())


def test_errors():
    with pytest.raises(NotImplementedError, match=r"whole nn.Module \(Linear\).*state_dict"):
        dynamic.save(nn.Linear(2, 2), io.BytesIO())
    with pytest.raises(NotImplementedError, match="set object is not supported"):
        dynamic.save({1, 2}, io.BytesIO())
    with pytest.raises(RuntimeError, match="not a file written by torch.save"):
        dynamic.load(io.BytesIO(b"garbage"))
    m = nn.Linear(2, 3)
    before = m.weight.detach().clone()
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "bias". \n\t'
                                           r'Unexpected key\(s\) in state_dict: "x". '):
        m.load_state_dict({"weight": dynamic.zeros(3, 2), "x": dynamic.ones(1)})
    assert dynamic.equal(m.weight, before)  # nothing copied
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with "
                                           r"shape torch.Size\(\[2, 2\]\) from checkpoint"):
        m.load_state_dict({"weight": dynamic.zeros(2, 2)}, strict=False)
    opt = dynamic.optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 1.0, "params": [0]}]})
    assert opt.param_groups[0]["lr"] == 0.1
