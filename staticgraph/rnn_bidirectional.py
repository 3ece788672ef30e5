"""TF1's ``tf.nn.bidirectional_dynamic_rnn`` and the ``tf.reverse_sequence`` it reverses the
inputs and backward outputs with.

``reverse_sequence`` is one ``gather`` along the time axis: row ``t`` of sequence ``b`` reads
``len[b] - 1 - t`` below the length and itself from there on, so the values are copied exactly
and the gradient is the registry's scatter. A length beyond the time axis reads past it and
fails at run time, as TF's kernel does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .graph.composite_ops import reverse
from .graph.core import Tensor
from .graph.math_ops import _final, _t, cast, composite
from .rnn import dynamic_rnn
from .variable_scope import variable_scope


def reverse_sequence(input: Any, seq_lengths: Any, seq_axis: Any = None,  # noqa: A002
                     batch_axis: Any = None, name: str | None = None, seq_dim: Any = None,
                     batch_dim: Any = None) -> Tensor:
    """Reverse the first ``seq_lengths[b]`` entries along ``seq_axis`` of each slice ``b`` along
    ``batch_axis`` (default 0); the rest stays in place."""
    x = _t(input)
    seq_axis = seq_axis if seq_axis is not None else seq_dim
    batch_axis = batch_axis if batch_axis is not None else (batch_dim or 0)
    if seq_axis is None:
        raise TypeError("reverse_sequence() missing required argument 'seq_axis'")
    rank = x.shape.ndims
    if rank is None:
        raise ValueError(f"reverse_sequence needs an input of known rank, got {x}")
    seq_axis, batch_axis = int(seq_axis) % rank, int(batch_axis) % rank
    if seq_axis == batch_axis:
        raise ValueError(f"seq_dim must not equal batch_dim: {seq_axis} == {batch_axis}")
    lengths = _t(seq_lengths)
    if lengths.dtype.np_dtype.kind not in "iu":
        raise TypeError(f"Value passed to parameter 'seq_lengths' has DataType "
                        f"{lengths.dtype.name} not in list of allowed values: int32, int64")
    b = x.shape.as_list()[batch_axis]
    if lengths.shape.ndims != 1 or (b is not None and lengths.shape.as_list()[0] not in (b, None)):
        raise ValueError(f"Dimensions must be equal, but are {lengths.shape.as_list()} and {b} "
                         f"(seq_lengths must be a vector of length input.dims({batch_axis}))")
    with composite(name, "ReverseSequence", x) as stem:
        t = ops.cumsum(ops.ones_like(ops.cast(x, np.int64)), seq_axis, exclusive=True)
        shape = [1] * rank
        shape[batch_axis] = -1
        n = ops.reshape(cast(lengths, "int64") if lengths.dtype.name != "int64" else lengths,
                        tuple(shape))
        src = ops.where(ops.lt(t, n), ops.sub(ops.sub(n, np.int64(1)), t), t)
        return _final(stem, ops.gather, x, src, seq_axis)


def bidirectional_dynamic_rnn(cell_fw: Any, cell_bw: Any, inputs: Any,
                              sequence_length: Any = None, initial_state_fw: Any = None,
                              initial_state_bw: Any = None, dtype: Any = None,
                              parallel_iterations: Any = None, swap_memory: bool = False,
                              time_major: bool = False, scope: Any = None) -> tuple:
    """``dynamic_rnn`` forwards (under ``<scope>/fw``) and over the reversed sequences (under
    ``<scope>/bw``, its outputs reversed back); returns ``((out_fw, out_bw), (state_fw,
    state_bw))``."""
    from .rnn_cell_base import assert_like_rnncell

    assert_like_rnncell("cell_fw", cell_fw)
    assert_like_rnncell("cell_bw", cell_bw)
    time_axis, batch_axis = (0, 1) if time_major else (1, 0)

    def _reverse(x: Any) -> Tensor:
        if sequence_length is not None:
            return reverse_sequence(x, sequence_length, seq_axis=time_axis,
                                    batch_axis=batch_axis)
        return reverse(x, axis=[time_axis])

    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw") as fw_scope:
            output_fw, state_fw = dynamic_rnn(cell_fw, inputs, sequence_length,
                                              initial_state_fw, dtype, parallel_iterations,
                                              swap_memory, time_major, fw_scope)
        with variable_scope("bw") as bw_scope:
            reversed_inputs = _reverse(_t(inputs))
            tmp, state_bw = dynamic_rnn(cell_bw, reversed_inputs, sequence_length,
                                        initial_state_bw, dtype, parallel_iterations,
                                        swap_memory, time_major, bw_scope)
    output_bw = _reverse(tmp)
    return (output_fw, output_bw), (state_fw, state_bw)


__all__ = ["reverse_sequence", "bidirectional_dynamic_rnn"]
