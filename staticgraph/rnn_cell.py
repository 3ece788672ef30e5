"""TF1's ``tf.nn.rnn_cell``: ``BasicRNNCell``, ``BasicLSTMCell``, ``LSTMCell`` (with
``LSTMStateTuple``), ``GRUCell`` and ``MultiRNNCell``, with TF's formulas and variable names, and
the wrappers of :mod:`.rnn_cell_wrappers`.

A cell creates its variables once, on its first build, under ``<scope>/<cell name>/`` (TF's
``basic_rnn_cell/kernel``, ``basic_lstm_cell/bias``, ``gru_cell/gates/kernel``...), as TF's
``cell.build`` does. ``tf.nn.dynamic_rnn`` builds the cell before its loop (variables cannot be
created inside a loop body here) and calls :meth:`RNNCell.call` in the body.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph.array_ops import concat, split
from .graph.core import Tensor
from .graph.math_ops import add, clip_by_value, matmul, multiply, sigmoid, subtract
from .rnn_cell_base import LSTMStateTuple, RNNCell, _cell_scope, assert_like_rnncell  # noqa: F401
from .rnn_cell_wrappers import DeviceWrapper, DropoutWrapper, ResidualWrapper  # noqa: F401
from .unsupported import module_getattr
from .variable_scope import constant_initializer, variable_scope, zeros_initializer


class BasicRNNCell(RNNCell):
    """``h' = activation(concat([x, h]) @ kernel + bias)``; the output is ``h'``."""

    _default_name = "basic_rnn_cell"

    def build(self, input_depth: int, dtype: Any) -> None:
        n = self._num_units
        self._kernel = self._var("kernel", [input_depth + n, n], dtype)
        self._bias = self._var("bias", [n], dtype, zeros_initializer(dtype))

    def call(self, inputs: Tensor, state: Any) -> tuple:
        out = self._activation(add(matmul(concat([inputs, state], 1), self._kernel), self._bias))
        return out, out


class BasicLSTMCell(RNNCell):
    """TF's basic LSTM: gates ``i, j, f, o`` from one matmul, ``forget_bias`` added to ``f``."""

    _default_name = "basic_lstm_cell"

    def __init__(self, num_units: int, forget_bias: float = 1.0, state_is_tuple: bool = True,
                 activation: Any = None, reuse: Any = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(num_units, activation, reuse, name, dtype)
        self._forget_bias, self._state_is_tuple = float(forget_bias), state_is_tuple

    @property
    def state_size(self) -> Any:
        n = self._num_units
        return LSTMStateTuple(n, n) if self._state_is_tuple else 2 * n

    def build(self, input_depth: int, dtype: Any) -> None:
        n = self._num_units
        self._kernel = self._var("kernel", [input_depth + n, 4 * n], dtype)
        self._bias = self._var("bias", [4 * n], dtype, zeros_initializer(dtype))

    def call(self, inputs: Tensor, state: Any) -> tuple:
        if self._state_is_tuple:
            c, h = state
        else:
            c, h = split(state, 2, axis=1)
        gates = add(matmul(concat([inputs, h], 1), self._kernel), self._bias)
        i, j, f, o = split(gates, 4, axis=1)
        fb = np.asarray(self._forget_bias, gates.dtype.np_dtype)
        new_c = add(multiply(c, sigmoid(add(f, fb))),
                    multiply(sigmoid(i), self._activation(j)))
        new_h = multiply(self._activation(new_c), sigmoid(o))
        new_state = LSTMStateTuple(new_c, new_h) if self._state_is_tuple else \
            concat([new_c, new_h], 1)
        return new_h, new_state


class LSTMCell(RNNCell):
    """TF's full LSTM (``lstm_cell``): optional peepholes (``w_f_diag``, ``w_i_diag``,
    ``w_o_diag``), ``cell_clip`` on ``c``, a projection of the output to ``num_proj`` units
    (``projection/kernel``, clipped by ``proj_clip``); gates ``i, j, f, o`` as BasicLSTMCell."""

    _default_name = "lstm_cell"

    def __init__(self, num_units: int, use_peepholes: bool = False, cell_clip: Any = None,
                 initializer: Any = None, num_proj: Any = None, proj_clip: Any = None,
                 num_unit_shards: Any = None, num_proj_shards: Any = None,
                 forget_bias: float = 1.0, state_is_tuple: bool = True, activation: Any = None,
                 reuse: Any = None, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(num_units, activation, reuse, name, dtype)
        self._use_peepholes, self._cell_clip, self._init = use_peepholes, cell_clip, initializer
        self._num_proj, self._proj_clip = num_proj, proj_clip
        self._forget_bias, self._state_is_tuple = float(forget_bias), state_is_tuple

    @property
    def state_size(self) -> Any:
        n, m = self._num_units, self._num_proj or self._num_units
        return LSTMStateTuple(n, m) if self._state_is_tuple else n + m

    @property
    def output_size(self) -> int:
        return int(self._num_proj or self._num_units)

    def build(self, input_depth: int, dtype: Any) -> None:
        n, h = self._num_units, self.output_size
        self._kernel = self._var("kernel", [input_depth + h, 4 * n], dtype, self._init)
        self._bias = self._var("bias", [4 * n], dtype, zeros_initializer(dtype))
        if self._use_peepholes:
            self._w_f, self._w_i, self._w_o = (self._var(k, [n], dtype, self._init)
                                               for k in ("w_f_diag", "w_i_diag", "w_o_diag"))
        if self._num_proj is not None:
            self._proj = self._var("projection/kernel", [n, int(self._num_proj)], dtype,
                                   self._init)

    def call(self, inputs: Tensor, state: Any) -> tuple:
        if self._state_is_tuple:
            c_prev, m_prev = state
        else:
            c_prev, m_prev = split(state, [self._num_units, self.output_size], axis=1)
        gates = add(matmul(concat([inputs, m_prev], 1), self._kernel), self._bias)
        i, j, f, o = split(gates, 4, axis=1)
        fb = np.asarray(self._forget_bias, gates.dtype.np_dtype)
        if self._use_peepholes:
            c = add(multiply(sigmoid(add(add(f, fb), multiply(self._w_f, c_prev))), c_prev),
                    multiply(sigmoid(add(i, multiply(self._w_i, c_prev))), self._activation(j)))
        else:
            c = add(multiply(sigmoid(add(f, fb)), c_prev),
                    multiply(sigmoid(i), self._activation(j)))
        if self._cell_clip is not None:
            c = clip_by_value(c, -self._cell_clip, self._cell_clip)
        o_in = add(o, multiply(self._w_o, c)) if self._use_peepholes else o
        m = multiply(sigmoid(o_in), self._activation(c))
        if self._num_proj is not None:
            m = matmul(m, self._proj)
            if self._proj_clip is not None:
                m = clip_by_value(m, -self._proj_clip, self._proj_clip)
        new_state = LSTMStateTuple(c, m) if self._state_is_tuple else concat([c, m], 1)
        return m, new_state


class GRUCell(RNNCell):
    """TF's GRU: ``r, u`` from ``gates/``, the candidate from ``candidate/`` over ``r * h``;
    ``h' = u * h + (1 - u) * c``."""

    _default_name = "gru_cell"

    def __init__(self, num_units: int, activation: Any = None, reuse: Any = None,
                 kernel_initializer: Any = None, bias_initializer: Any = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(num_units, activation, reuse, name, dtype)
        self._kernel_init, self._bias_init = kernel_initializer, bias_initializer

    def build(self, input_depth: int, dtype: Any) -> None:
        n, d = self._num_units, input_depth + self._num_units
        with variable_scope("gates"):
            self._gate_kernel = self._var("kernel", [d, 2 * n], dtype, self._kernel_init)
            self._gate_bias = self._var("bias", [2 * n], dtype,
                                        self._bias_init or constant_initializer(1.0, dtype))
        with variable_scope("candidate"):
            self._cand_kernel = self._var("kernel", [d, n], dtype, self._kernel_init)
            self._cand_bias = self._var("bias", [n], dtype,
                                        self._bias_init or zeros_initializer(dtype))

    def call(self, inputs: Tensor, state: Any) -> tuple:
        value = sigmoid(add(matmul(concat([inputs, state], 1), self._gate_kernel),
                            self._gate_bias))
        r, u = split(value, 2, axis=1)
        cand = add(matmul(concat([inputs, multiply(r, state)], 1), self._cand_kernel),
                   self._cand_bias)
        c = self._activation(cand)
        new_h = add(multiply(u, state), multiply(subtract(np.float32(1.0).astype(
            u.dtype.np_dtype), u), c))
        return new_h, new_h


class MultiRNNCell(RNNCell):
    """Cells stacked: each one's output is the next one's input (``cell_0/``, ``cell_1/``...)."""

    _default_name = "multi_rnn_cell"

    def __init__(self, cells: list, state_is_tuple: bool = True) -> None:
        if not cells:
            raise ValueError("Must specify at least one cell for MultiRNNCell.")
        super().__init__(0)
        self._cells = list(cells)
        self._state_is_tuple = state_is_tuple

    @property
    def state_size(self) -> Any:
        return tuple(c.state_size for c in self._cells)

    @property
    def output_size(self) -> int:
        return self._cells[-1].output_size

    def ensure_built(self, inputs: Tensor, scope: Any = None) -> None:
        if self.built:
            return
        with _cell_scope(self, scope):
            x = inputs
            for k, cell in enumerate(self._cells):
                with variable_scope(f"cell_{k}"):
                    cell.ensure_built(x)
                self.variables.extend(cell.variables)
                n = cell.output_size
                x = _ShapeOnly(inputs.shape.as_list()[:-1] + [n], x.dtype)
        self.built = True

    def call(self, inputs: Tensor, state: Any) -> tuple:
        x, new_states = inputs, []
        for cell, s in zip(self._cells, state, strict=True):
            x, ns = cell.call(x, s)
            new_states.append(ns)
        return x, tuple(new_states)


class _ShapeOnly:
    """What ``ensure_built`` reads of a stacked cell's input: its shape and dtype."""

    def __init__(self, dims: list, dtype: Any) -> None:
        from .graph.tensor_shape import TensorShape

        self.shape, self.dtype = TensorShape(dims), dtype


__all__ = ["RNNCell", "BasicRNNCell", "BasicLSTMCell", "LSTMCell", "GRUCell", "MultiRNNCell",
           "LSTMStateTuple", "DropoutWrapper", "ResidualWrapper", "DeviceWrapper"]


__getattr__ = module_getattr("nn.rnn_cell")  # a missing cell: the "not supported" error
