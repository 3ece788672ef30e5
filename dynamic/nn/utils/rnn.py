"""``torch.nn.utils.rnn``: packed and padded sequences (implemented in ``dynamic.nn.rnn_utils``)."""

from ... import _unsupported
from ..rnn_utils import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
           "pad_sequence", "unpack_sequence", "unpad_sequence"]
__getattr__ = _unsupported.missing_names("torch.nn.utils.rnn")
