"""``nn.utils.rnn`` (pad/pack/unpack) and RNN/LSTM/GRU on a ``PackedSequence``: layouts by
hand, packed runs equal to running each sequence alone, and PyTorch 2.13 as an oracle (values,
``h_n``, gradients) when installed."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
from dynamic import nn
from dynamic.nn.utils import rnn as R


def test_pad_sequence_layouts():
    a, b = dynamic.tensor([1.0, 2.0, 3.0]), dynamic.tensor([4.0, 5.0])
    np.testing.assert_array_equal(R.pad_sequence([a, b]).numpy(), [[1, 4], [2, 5], [3, 0]])
    np.testing.assert_array_equal(
        R.pad_sequence([a, b], batch_first=True, padding_value=-1, padding_side="left").numpy(),
        [[1, 2, 3], [-1, 4, 5]])
    with pytest.raises(ValueError, match="Expected padding_side to be one of left or right"):
        R.pad_sequence([a, b], padding_side="middle")


def test_pack_and_unpack_round_trip_with_unsorted_lengths():
    seqs = [dynamic.tensor([[1.0], [2.0]]), dynamic.tensor([[3.0], [4.0], [5.0]]),
            dynamic.tensor([[6.0]])]
    packed = R.pack_sequence(seqs, enforce_sorted=False)
    assert isinstance(packed, tuple) and packed._fields == (
        "data", "batch_sizes", "sorted_indices", "unsorted_indices")
    np.testing.assert_array_equal(packed.data.numpy().ravel(), [3, 1, 6, 4, 2, 5])
    assert packed.batch_sizes.tolist() == [3, 2, 1]
    assert packed.sorted_indices.tolist() == [1, 0, 2]
    assert packed.unsorted_indices.tolist() == [1, 0, 2]
    padded, lengths = R.pad_packed_sequence(packed, batch_first=True, total_length=4)
    assert lengths.tolist() == [2, 3, 1] and lengths.dtype == dynamic.int64
    np.testing.assert_array_equal(padded.numpy()[..., 0],
                                  [[1, 2, 0, 0], [3, 4, 5, 0], [6, 0, 0, 0]])
    back = R.unpack_sequence(packed)
    assert [s.numpy().ravel().tolist() for s in back] == [[1, 2], [3, 4, 5], [6]]
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        R.pack_sequence(seqs)
    with pytest.raises(ValueError, match="Expected total_length to be at least"):
        R.pad_packed_sequence(packed, total_length=2)
    with pytest.raises(RuntimeError, match="has to be greater than 0"):
        R.pack_padded_sequence(dynamic.zeros(3, 2), [3, 0])


def test_gradient_flows_through_packing():
    x = dynamic.randn(4, 2, 3, requires_grad=True)
    packed = R.pack_padded_sequence(x, [4, 2])
    assert type(packed.data.grad_fn).__name__ == "PackPaddedSequenceBackward0"
    padded, _ = R.pad_packed_sequence(packed)
    padded.sum().backward()
    want = np.ones((4, 2, 3))
    want[2:, 1] = 0
    np.testing.assert_array_equal(x.grad.numpy(), want)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_run_equals_each_sequence_alone(mode, bidirectional):
    dynamic.manual_seed(0)
    rnn = getattr(nn, mode)(3, 4, num_layers=2, bidirectional=bidirectional)
    lengths = [2, 5, 3]
    seqs = [dynamic.randn(n, 3) for n in lengths]
    out, hidden = rnn(R.pack_sequence(seqs, enforce_sorted=False))
    h_n = hidden[0] if mode == "LSTM" else hidden
    padded, _ = R.pad_packed_sequence(out)
    for b, s in enumerate(seqs):
        alone, h_alone = rnn(s.unsqueeze(1))
        h_alone = h_alone[0] if mode == "LSTM" else h_alone
        np.testing.assert_allclose(padded.detach().numpy()[:lengths[b], b],
                                   alone.detach().numpy()[:, 0], atol=1e-6)
        np.testing.assert_allclose(h_n.detach().numpy()[:, b], h_alone.detach().numpy()[:, 0],
                                   atol=1e-6)
    assert np.all(padded.detach().numpy()[2:, 0] == 0)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True},
                                {"batch_first": True}])
def test_packed_rnn_matches_torch(mode, kw):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import rnn as TR
    rng = np.random.default_rng(3)
    torch.manual_seed(0)
    tm = getattr(torch.nn, mode)(4, 3, dtype=torch.float64, **kw)
    dm = getattr(nn, mode)(4, 3, dtype=dynamic.float64, **kw)
    dm.load_state_dict({k: dynamic.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    arrays = [rng.standard_normal((n, 4)) for n in (3, 5, 2)]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ds = [dynamic.tensor(a, requires_grad=True) for a in arrays]
    bf = kw.get("batch_first", False)
    tp = TR.pack_padded_sequence(TR.pad_sequence(ts, batch_first=bf), [3, 5, 2],
                                 batch_first=bf, enforce_sorted=False)
    dp = R.pack_padded_sequence(R.pad_sequence(ds, batch_first=bf), [3, 5, 2],
                                batch_first=bf, enforce_sorted=False)
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    h0 = rng.standard_normal((layers, 3, 3))
    th, dh = torch.tensor(h0), dynamic.tensor(h0)
    if mode == "LSTM":
        th, dh = (th, th * 0.5), (dh, dh * 0.5)
    to, thn = tm(tp, th)
    do, dhn = dm(dp, dh)
    if mode == "LSTM":
        thn, dhn = thn[0] + 2 * thn[1], dhn[0] + 2 * dhn[1]
    np.testing.assert_allclose(do.data.detach().numpy(), to.data.detach().numpy(), atol=1e-13)
    np.testing.assert_allclose(dhn.detach().numpy(), thn.detach().numpy(), atol=1e-13)
    tpad, tlen = TR.pad_packed_sequence(to, batch_first=bf)
    dpad, dlen = R.pad_packed_sequence(do, batch_first=bf)
    assert dlen.tolist() == tlen.tolist()
    (tpad.sum() + (thn ** 2).sum()).backward()
    (dpad.sum() + (dhn ** 2).sum()).backward()
    for a, b in zip(ds, ts, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)
    ours = dict(dm.named_parameters())
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(ours[name].grad.numpy(), p.grad.numpy(), atol=1e-12)
