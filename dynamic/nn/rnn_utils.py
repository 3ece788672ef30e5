"""``torch.nn.utils.rnn``: ``PackedSequence``, ``pad_sequence``, ``pack_padded_sequence``,
``pad_packed_sequence``, ``pack_sequence``, ``unpad_sequence``, ``unpack_sequence``, and the
packed time loop that ``nn.RNN``/``LSTM``/``GRU`` run on a ``PackedSequence``.

A packed sequence stores the batch time step by time step, longest sequence first:
``data[offset_t : offset_t + batch_sizes[t]]`` holds step ``t`` of the ``batch_sizes[t]``
sequences still running. Everything is built from registry ops (``cat``, slicing,
``index_select``), so gradients flow through packing and unpacking as in PyTorch.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from staticgraph import ops

from .._tensor import Tensor, make, to_tensor
from ..autograd.graph import renamed
from . import functional as F


def _as_index(t: Any) -> Tensor | None:
    return None if t is None else make(np.asarray(to_tensor(t)._data, np.int64))


class PackedSequence(namedtuple("PackedSequence_",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A batch of variable-length sequences packed step by step (see the module docstring);
    ``sorted_indices`` maps sorted position to batch entry, ``unsorted_indices`` back."""

    __slots__ = ()

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if batch_sizes is None:  # PackedSequence(*tuple) form
            data, batch_sizes, sorted_indices, unsorted_indices = data
        sorted_indices = _as_index(sorted_indices)
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = make(np.argsort(sorted_indices._data, kind="stable"))
        return super().__new__(cls, data, _as_index(batch_sizes), sorted_indices,
                               _as_index(unsorted_indices))

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The same packing with ``data.to(...)`` (the index tensors stay int64)."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(data, self.batch_sizes,
                                                          self.sorted_indices,
                                                          self.unsorted_indices)

    def cpu(self) -> PackedSequence:
        return self

    def float(self) -> PackedSequence:  # noqa: A003
        return self.to(dtype=self.data.float().dtype)

    def double(self) -> PackedSequence:
        return self.to(dtype=self.data.double().dtype)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _lengths(lengths: Any) -> np.ndarray:
    arr = np.asarray(to_tensor(lengths)._data if isinstance(lengths, Tensor) else lengths)
    return arr.astype(np.int64).reshape(-1)


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack tensors of shape ``(L_i, *)`` into ``(L_max, B, *)`` (``(B, L_max, *)`` when
    ``batch_first``), filling with ``padding_value`` on the right (or the left)."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    seqs = [to_tensor(s) for s in sequences]
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in seqs)
    trailing = tuple(seqs[0].shape[1:])
    padded = []
    for s in seqs:
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"The size of tensor a ({trailing[0] if trailing else 0}) must "
                               f"match the size of tensor b ({s.shape[1] if s.dim() > 1 else 0})"
                               " at non-singleton dimension 1")
        extra = longest - s.shape[0]
        if extra:
            fill = make(np.full((extra,) + trailing, padding_value, s._data.dtype))
            s = ops.cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    return renamed(ops.stack(padded, 0 if batch_first else 1), "CopySlices")


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,  # noqa: A002
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` if ``batch_first``) whose sequence
    ``b`` has ``lengths[b]`` valid steps."""
    x = to_tensor(input)
    lens = _lengths(lengths)
    batch_dim = 0 if batch_first else 1
    if len(lens) != x.shape[batch_dim]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lens)} (batch_size={x.shape[batch_dim]})")
    if enforce_sorted:
        if (np.diff(lens) > 0).any():
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        order = None
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        x = x.index_select(batch_dim, make(order))
    if (lens <= 0).any():
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    steps = x.shape[1 if batch_first else 0]
    if lens[0] > steps:
        raise RuntimeError(f"pack_padded_sequence: a length of {int(lens[0])} is longer than "
                           f"the input's {steps} time steps")
    if batch_first:
        x = x.transpose(0, 1)
    sizes = np.array([(lens > t).sum() for t in range(int(lens[0]))], np.int64)
    data = renamed(ops.cat([x[t, :int(n)] for t, n in enumerate(sizes)], 0),
                   "PackPaddedSequenceBackward0")
    return PackedSequence(data, make(sizes), None if order is None else make(order))


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None) -> tuple:
    """The inverse of :func:`pack_padded_sequence`: ``(padded, lengths)`` in the original
    batch order, padded with ``padding_value`` to ``total_length`` steps if given."""
    data, sizes = sequence.data, sequence.batch_sizes._data
    steps, batch = len(sizes), int(sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
    else:
        total_length = steps
    tail = tuple(data.shape[1:])
    dt = data._data.dtype
    rows, offset = [], 0
    for n in sizes:
        n = int(n)
        step = data[offset:offset + n]
        if n < batch:
            step = ops.cat([step, make(np.full((batch - n,) + tail, padding_value, dt))], 0)
        rows.append(step)
        offset += n
    rows += [make(np.full((batch,) + tail, padding_value, dt))] * (total_length - steps)
    padded = renamed(ops.stack(rows, 0), "CopySlices")
    lengths = np.array([(sizes > b).sum() for b in range(batch)], np.int64)
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices._data]
    return padded, make(lengths)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of ``(L_i, *)`` tensors (longest first unless ``enforce_sorted=False``)."""
    lengths = [to_tensor(s).shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any,
                   batch_first: bool = False) -> list[Tensor]:
    """The list of ``(L_i, *)`` tensors inside a padded batch."""
    x = to_tensor(padded_sequences)
    if not batch_first:
        x = x.transpose(0, 1)
    return [x[b, :int(n)] for b, n in enumerate(_lengths(lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of ``(L_i, *)`` tensors inside a packed batch, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def _run_direction(step: Callable, mode: str, seq: Tensor, sizes: np.ndarray, h: Tensor,
                   c: Tensor | None, weights: tuple, reverse: bool) -> tuple:
    """One direction of one layer over packed ``seq``: (per-step outputs, h_n, c_n). The
    running state holds every sequence (sorted order); step ``t`` updates its first
    ``sizes[t]`` rows, the others keep their state (finished, or not yet started in reverse)."""
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    outs: list = [None] * len(sizes)
    order = range(len(sizes) - 1, -1, -1) if reverse else range(len(sizes))
    for t in order:
        n = int(sizes[t])
        xt = seq[int(offsets[t]):int(offsets[t + 1])]
        hn, cn = step(mode, xt, h[:n], None if c is None else c[:n], *weights)
        outs[t] = hn
        if n < h.shape[0]:
            hn = ops.cat([hn, h[n:]], 0)
            cn = None if c is None else ops.cat([cn, c[n:]], 0)
        h, c = hn, cn
    return outs, h, c


def run_packed(module: Any, packed: PackedSequence, hx: Any, step: Callable) -> tuple:
    """``RNNBase.forward`` on a ``PackedSequence``: returns ``(PackedSequence, h_n)`` (LSTM:
    ``(h_n, c_n)``) with the states in the caller's batch order, as PyTorch."""
    data, sizes = packed.data, packed.batch_sizes._data
    if data.shape[-1] != module.input_size:
        raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                           f"{module.input_size}, got {data.shape[-1]}")
    lstm, batch = module.mode == "LSTM", int(sizes[0])
    dirs = 2 if module.bidirectional else 1
    if hx is None:
        zeros = make(np.zeros((module.num_layers * dirs, batch, module.hidden_size),
                              data._data.dtype))
        h0, c0 = zeros, (zeros if lstm else None)
    else:
        h0, c0 = hx if lstm else (hx, None)
        if packed.sorted_indices is not None:
            h0 = h0.index_select(1, packed.sorted_indices)
            c0 = c0.index_select(1, packed.sorted_indices) if lstm else None
        module._check(data, h0, "hidden[0]" if lstm else "hidden", batch)
        if lstm:
            module._check(data, c0, "hidden[1]", batch)
    seq, hs, cs = data, [], []
    for layer in range(module.num_layers):
        per_dir = []
        for d, sfx in enumerate(("", "_reverse")[:dirs]):
            k = layer * dirs + d
            outs, h, c = _run_direction(step, module.mode, seq, sizes, h0[k],
                                        c0[k] if lstm else None, module._weights(layer, sfx),
                                        bool(d))
            per_dir.append(outs)
            hs.append(h)
            cs.append(c)
        if dirs == 1:
            seq = ops.cat(per_dir[0], 0)
        else:
            seq = ops.cat([ops.cat([f, b], 1) for f, b in zip(*per_dir, strict=True)], 0)
        if module.dropout and module.training and layer < module.num_layers - 1:
            seq = F.dropout(seq, module.dropout, True)
    h_n = ops.stack(hs, 0)
    c_n = ops.stack(cs, 0) if lstm else None
    if packed.unsorted_indices is not None:
        h_n = h_n.index_select(1, packed.unsorted_indices)
        c_n = c_n.index_select(1, packed.unsorted_indices) if lstm else None
    out = PackedSequence(seq, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    return out, ((h_n, c_n) if lstm else h_n)
