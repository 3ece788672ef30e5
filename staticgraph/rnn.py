"""TF1's ``tf.nn.dynamic_rnn`` and ``tf.nn.static_rnn`` over the cells of :mod:`.rnn_cell`.

``dynamic_rnn`` is one ``tf.while_loop`` over the time steps: the inputs are unstacked into a
TensorArray outside the loop (the loop driver feeds its rows), each step's output is written to
another and stacked after the loop. The cell's variables are created before the loop, under
``<scope or "rnn">/<cell name>/``. With ``sequence_length``, a step at or past a sequence's
length outputs zeros and copies the state through, as TF does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .graph import nest
from .graph.array_ops import expand_dims, transpose
from .graph.control_flow import while_loop
from .graph.core import Tensor
from .graph.math_ops import _t, cast, where
from .graph.tensor_array import TensorArray
from .rnn_cell_base import _zeros, assert_like_rnncell
from .variable_scope import variable_scope


def _transpose_batch_time(x: Tensor) -> Tensor:
    if x.shape.ndims is not None and x.shape.ndims < 2:
        raise ValueError(f"Input tensor should have rank >= 2. Received input={x} of rank "
                         f"{x.shape.ndims}")
    return transpose(x, [1, 0] + list(range(2, x.shape.ndims)))


def _sequence_length(sequence_length: Any) -> Tensor | None:
    if sequence_length is None:
        return None
    s = _t(sequence_length)
    s = cast(s, "int32") if s.dtype.base_dtype.name != "int32" else s
    if s.shape.ndims not in (None, 1):
        raise ValueError(f"Argument sequence_length must be a vector of length batch_size. "
                         f"Received sequence_length={s} of shape: {s.shape}")
    return s


def _initial_state(cell: Any, initial_state: Any, dtype: Any, x0: Tensor) -> Any:
    """``initial_state`` or the cell's zeros, ``[batch, n]`` each (batch from the inputs)."""
    if initial_state is not None:
        return initial_state
    if dtype is None:
        raise ValueError("If no initial_state is provided, argument `dtype` must be specified")
    batch = x0.shape.as_list()[0]
    return _zeros(batch if batch is not None else ops.zeros_like(x0[:, :1]), cell.state_size,
                  dtype)


def _step_mask(time: Any, seq: Tensor) -> Tensor:
    """``[batch, 1]`` bool: true where this step is at or past the sequence's length."""
    return expand_dims(ops.ge(time, seq), 1)


def _masked(copy: Tensor, output: Any, old_state: Any, new_state: Any) -> tuple:
    out = nest.pack_sequence_as(output, [where(copy, ops.zeros_like(o), o)
                                         for o in nest.flatten(output)])
    st = nest.pack_sequence_as(new_state, [
        where(copy, o, n) for o, n in zip(nest.flatten(old_state), nest.flatten(new_state),
                                          strict=True)])
    return out, st


def dynamic_rnn(cell: Any, inputs: Any, sequence_length: Any = None, initial_state: Any = None,
                dtype: Any = None, parallel_iterations: Any = None, swap_memory: bool = False,
                time_major: bool = False, scope: Any = None) -> tuple:
    """Run ``cell`` over the time steps of ``inputs`` (``[batch, time, depth]``, or
    ``[time, batch, depth]`` with ``time_major``); returns ``(outputs, final_state)``."""
    assert_like_rnncell("cell", cell)
    x = _t(inputs)
    with variable_scope(scope or "rnn"):
        xt = x if time_major else _transpose_batch_time(x)
        if xt.shape.ndims is None or xt.shape.as_list()[-1] is None:
            raise ValueError("Input size (depth of inputs) must be accessible via shape "
                             f"inference, but saw value None for input={xt}.")
        seq = _sequence_length(sequence_length)
        steps = xt.shape.as_list()[0]
        x0 = xt[0]
        state0 = _initial_state(cell, initial_state, dtype, x0)
        cell.ensure_built(x0)
        n_steps = steps if steps is not None else ops.size(xt, 0, np.int32)
        in_ta = TensorArray(xt.dtype.base_dtype, size=n_steps,
                            element_shape=xt.shape[1:]).unstack(xt)
        out_ta = TensorArray(xt.dtype.base_dtype, size=n_steps)

        def body(it: Tensor, time: Tensor, ta: TensorArray, state: Any) -> tuple:
            output, new_state = cell.call(in_ta.read(time), state)
            if seq is not None:
                output, new_state = _masked(_step_mask(time, seq), output, state, new_state)
            return it + 1, time + 1, ta.write(time, output), new_state

        # TF's loop variables (iteration count, time, output array, state): the state's
        # tensors are named ``rnn/while/Exit_3``... as in TF
        _, _, out_ta, final_state = while_loop(lambda i, t, ta, s: t < n_steps, body,
                                               (0, 0, out_ta, state0))
        outputs = out_ta.stack(name="TensorArrayStack/TensorArrayGatherV3")  # TF's name
        if steps is not None and outputs.shape.ndims is not None:
            outputs.set_shape([steps] + outputs.shape.as_list()[1:])
        if not time_major:
            outputs = _transpose_batch_time(outputs)
    return outputs, final_state


def static_rnn(cell: Any, inputs: Any, initial_state: Any = None, dtype: Any = None,
               sequence_length: Any = None, scope: Any = None) -> tuple:
    """The cell applied to each tensor of the list ``inputs`` in turn (the graph unrolled);
    returns ``(outputs list, final_state)``."""
    assert_like_rnncell("cell", cell)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"Argument `inputs` must be a sequence. Received: {inputs}")
    if not inputs:
        raise ValueError("Argument `inputs` must not be empty.")
    xs = [_t(x) for x in inputs]
    with variable_scope(scope or "rnn"):
        seq = _sequence_length(sequence_length)
        state = _initial_state(cell, initial_state, dtype, xs[0])
        cell.ensure_built(xs[0])
        outputs = []
        for time, x in enumerate(xs):
            output, new_state = cell.call(x, state)
            if seq is not None:
                output, new_state = _masked(_step_mask(np.int32(time), seq), output, state,
                                            new_state)
            outputs.append(output)
            state = new_state
    return outputs, state


__all__ = ["dynamic_rnn", "static_rnn"]
