"""TF1's cell wrappers (``tf.nn.rnn_cell.DropoutWrapper``, ``ResidualWrapper``,
``DeviceWrapper``): a cell around a cell, adding no variable scope (the wrapped cell's variables
keep their names, ``rnn/lstm_cell/kernel``), as in TF.

``DropoutWrapper`` applies ``tf.nn.dropout`` to the inputs before the cell, to the new state
(except the ``c`` of an ``LSTMStateTuple``, TF's default filter) and to the outputs after it. A
keep probability that is the constant 1 adds no op, as in TF; a fed one of 1.0 gives the inputs
exactly. The masks are new at every step and every run but are not TF's numbers (see
``tf.nn.dropout`` in docs/static.md).
"""

from __future__ import annotations

import hashlib
from typing import Any

from .graph import nest
from .graph.core import Tensor, get_default_graph
from .graph.frontend import as_graph_tensor
from .graph.math_ops import _t, add
from .rnn_cell_base import LSTMStateTuple, RNNCell, assert_like_rnncell


class _Wrapper(RNNCell):
    """Delegates sizes, building and variables to the wrapped ``cell``."""

    def __init__(self, cell: Any) -> None:
        assert_like_rnncell("cell", cell)
        super().__init__(0)
        self.cell = cell

    @property
    def wrapped_cell(self) -> Any:
        return self.cell

    @property
    def state_size(self) -> Any:
        return self.cell.state_size

    @property
    def output_size(self) -> Any:
        return self.cell.output_size

    @property
    def variables(self) -> list:  # type: ignore[override]
        return self.cell.variables

    @variables.setter
    def variables(self, value: list) -> None:
        pass  # RNNCell.__init__ sets it; the wrapped cell owns them

    @property
    def built(self) -> bool:  # type: ignore[override]
        return getattr(self.cell, "built", True)

    @built.setter
    def built(self, value: bool) -> None:
        pass

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        with get_default_graph().name_scope(type(self).__name__ + "ZeroState"):
            return self.cell.zero_state(batch_size, dtype)

    def ensure_built(self, inputs: Any, scope: Any = None) -> None:
        self.cell.ensure_built(inputs, scope)

    def __call__(self, inputs: Any, state: Any, scope: Any = None) -> tuple:
        x = _t(inputs)
        self.ensure_built(x, scope)
        return self.call(x, state)


def _keep(p: Any, attr: str) -> Any:
    """A keep probability: a float when it is a constant (checked), else the tensor."""
    t = as_graph_tensor(p)
    if t is not None and t.op.type != "Const":
        return t
    value = float(t.op.params["value"]) if t is not None else float(p)
    if value < 0 or value > 1:
        raise ValueError(f"Parameter {attr} must be between 0 and 1. Received {value}")
    return value


def _should_dropout(p: Any) -> bool:
    return not isinstance(p, float) or p < 1


class DropoutWrapper(_Wrapper):
    """Dropout on the cell's inputs, new state and outputs (TF1's ``DropoutWrapper``)."""

    def __init__(self, cell: Any, input_keep_prob: Any = 1.0, output_keep_prob: Any = 1.0,
                 state_keep_prob: Any = 1.0, variational_recurrent: bool = False,
                 input_size: Any = None, dtype: Any = None, seed: Any = None,
                 dropout_state_filter_visitor: Any = None) -> None:
        super().__init__(cell)
        if dropout_state_filter_visitor is not None and not callable(
                dropout_state_filter_visitor):
            raise TypeError(f"dropout_state_filter_visitor must be callable. Received: "
                            f"{dropout_state_filter_visitor}")
        if variational_recurrent:
            raise NotImplementedError(
                "DropoutWrapper(variational_recurrent=True) is not supported by staticgraph: "
                "use the default (a new mask at every step)")
        self._filter = dropout_state_filter_visitor or _default_state_filter
        self._input_keep_prob = _keep(input_keep_prob, "input_keep_prob")
        self._state_keep_prob = _keep(state_keep_prob, "state_keep_prob")
        self._output_keep_prob = _keep(output_keep_prob, "output_keep_prob")
        self._seed = seed

    def _gen_seed(self, salt_prefix: str, index: int) -> int:
        """TF's per-tensor seed; without a seed, a distinct stream per salt all the same (the
        masks of the inputs and outputs must not be one mask)."""
        salt = f"{self._seed if self._seed is not None else ''}{salt_prefix}_{index}"
        return int(hashlib.md5(salt.encode("utf-8")).hexdigest()[:8], 16) & 0x7FFFFFFF

    def _dropout(self, values: Any, salt: str, keep: Any, keep_mask: Any = None) -> Any:
        from .nn import dropout

        flat = nest.flatten(values)
        do = keep_mask if keep_mask is not None else [True] * len(flat)
        out = [dropout(v, keep_prob=keep, seed=self._gen_seed(salt, i)) if d else v
               for i, (v, d) in enumerate(zip(flat, do, strict=True))]
        return nest.pack_sequence_as(values, out)

    def call(self, inputs: Tensor, state: Any) -> tuple:
        if _should_dropout(self._input_keep_prob):
            inputs = self._dropout(inputs, "input", self._input_keep_prob)
        output, new_state = self.cell.call(inputs, state)
        if _should_dropout(self._state_keep_prob):
            new_state = self._dropout(new_state, "state", self._state_keep_prob,
                                      _state_mask(self._filter, new_state))
        if _should_dropout(self._output_keep_prob):
            output = self._dropout(output, "output", self._output_keep_prob)
        return output, new_state


def _default_state_filter(substate: Any) -> Any:
    """TF's default: every part of the state but an ``LSTMStateTuple``'s ``c``."""
    if isinstance(substate, LSTMStateTuple):
        return LSTMStateTuple(c=False, h=True)
    return True


def _state_mask(visitor: Any, state: Any) -> list[bool]:
    """Per leaf of ``state``: whether to drop it (TF's ``get_traverse_shallow_structure``: the
    visitor answers a bool, or one bool per direct part, and a true part is visited in turn)."""
    verdict = visitor(state)
    if not isinstance(state, (tuple, list)):
        if not isinstance(verdict, bool):
            raise TypeError(f"traverse_fn returned structure: {verdict} for non-structure: "
                            f"{state}")
        return [verdict]
    if isinstance(verdict, bool):
        verdict = [verdict] * len(state)
    out: list[bool] = []
    for part, take in zip(state, verdict, strict=True):
        out += _state_mask(visitor, part) if take else [False] * len(nest.flatten(part))
    return out


class ResidualWrapper(_Wrapper):
    """``output = inputs + cell(inputs)`` (or ``residual_fn(inputs, output)``)."""

    def __init__(self, cell: Any, residual_fn: Any = None) -> None:
        super().__init__(cell)
        self._residual_fn = residual_fn

    def call(self, inputs: Tensor, state: Any) -> tuple:
        output, new_state = self.cell.call(inputs, state)
        if self._residual_fn is not None:
            return self._residual_fn(inputs, output), new_state
        res = [add(i, o) for i, o in zip(nest.flatten(inputs), nest.flatten(output), strict=True)]
        return nest.pack_sequence_as(output, res), new_state


class DeviceWrapper(_Wrapper):
    """The cell on a device: accepted, no effect (everything runs where the executor runs)."""

    def __init__(self, cell: Any, device: str) -> None:
        super().__init__(cell)
        self._device = device

    def call(self, inputs: Tensor, state: Any) -> tuple:
        return self.cell.call(inputs, state)


__all__ = ["DropoutWrapper", "ResidualWrapper", "DeviceWrapper"]
