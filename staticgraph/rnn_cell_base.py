"""The base of TF1's RNN cells: :class:`RNNCell` (variables built once, under TF's scope names;
``zero_state``), :class:`LSTMStateTuple`, the zeros of a state and TF's duck test for a cell.
The cells are in :mod:`.rnn_cell`, the wrappers in :mod:`.rnn_cell_wrappers`.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import ops
from .graph import nest
from .graph.core import Tensor, get_default_graph
from .graph.dtypes import as_dtype
from .graph.frontend import node_name
from .graph.math_ops import _t, tanh
from .variable_scope import get_variable, variable_scope


@contextlib.contextmanager
def _cell_scope(cell: Any, scope: Any) -> Iterator[None]:
    """The variable scope a cell builds its variables in: ``scope`` when given, then the cell's
    name (made unique there when it is TF's default, and kept for later builds)."""
    with contextlib.ExitStack() as stack:
        if scope is not None:
            stack.enter_context(variable_scope(scope))
        vs = stack.enter_context(variable_scope(cell._name, default_name=cell._default_name))
        cell._name = vs.name.rsplit("/", 1)[-1]
        yield

class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """An LSTM's state: the cell ``c`` and the output ``h``."""

    __slots__ = ()

    @property
    def dtype(self) -> Any:
        return self.c.dtype


def _zeros(batch: Any, size: Any, dtype: Any) -> Any:
    """Zeros of shape ``[batch] + size`` per leaf of ``size`` (``batch``: int or a [B, k] tensor
    whose zeros_like is broadcast)."""
    dt = as_dtype(dtype).np_dtype

    def one(n: int) -> Tensor:
        if isinstance(batch, Tensor):  # [B, 1] zeros + [n] zeros: a [B, n] tensor
            ref = ops.zeros_like(batch if batch.dtype.np_dtype == dt else ops.cast(batch, dt))
            with node_name("zeros"):
                return ops.add(ref, np.zeros((int(n),), dt))
        from .graph.array_ops import zeros

        return zeros([int(batch), int(n)], dt)
    return nest.pack_sequence_as(size, [one(n) for n in nest.flatten(size)])


class RNNCell:
    """The base of TF1's cells: ``output, new_state = cell(inputs, state)``."""

    _default_name = "rnn_cell"

    def __init__(self, num_units: int, activation: Any = None, reuse: Any = None,
                 name: str | None = None, dtype: Any = None) -> None:
        self._num_units = int(num_units)
        self._activation = activation or tanh
        self._name = name
        self._dtype = dtype
        self.built = False
        self.variables: list = []

    @property
    def state_size(self) -> Any:
        return self._num_units

    @property
    def output_size(self) -> int:
        return self._num_units

    @property
    def name(self) -> str:
        return self._name or self._default_name

    @property
    def trainable_variables(self) -> list:
        return list(self.variables)

    trainable_weights = weights = trainable_variables

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        """Zeros for every part of the state, ``[batch_size, n]`` each, under TF's
        ``<Class>ZeroState`` name scope; ``batch_size`` an int or a scalar tensor
        (``tf.shape(x)[0]``, a fed placeholder)."""
        from .rnn_batch import batch_rows

        with get_default_graph().name_scope(type(self).__name__ + "ZeroState"):
            return _zeros(batch_rows(batch_size), self.state_size, dtype)

    def ensure_built(self, inputs: Tensor, scope: Any = None) -> None:
        """Create the variables on the first call, under the current variable scope and the
        cell's name (unique there when the name is TF's default)."""
        if self.built:
            return
        depth = inputs.shape.as_list()[-1] if inputs.shape.ndims is not None else None
        if depth is None:
            raise ValueError(f"Expected inputs.shape[-1] to be known, received shape: "
                             f"{inputs.shape}")
        dtype = as_dtype(self._dtype or inputs.dtype).base_dtype
        with _cell_scope(self, scope):
            self.build(int(depth), dtype)
        self.built = True

    def _var(self, name: str, shape: list, dtype: Any, init: Any = None) -> Any:
        v = get_variable(name, shape, dtype=dtype, initializer=init)
        self.variables.append(v)
        return v

    def build(self, input_depth: int, dtype: Any) -> None:
        raise NotImplementedError

    def call(self, inputs: Tensor, state: Any) -> tuple:
        raise NotImplementedError

    def __call__(self, inputs: Any, state: Any, scope: Any = None) -> tuple:
        x = _t(inputs)
        self.ensure_built(x, scope)
        return self.call(x, state)


def assert_like_rnncell(cell_name: str, cell: Any) -> None:
    """TF's duck test for a cell, with its error text."""
    checks = [(hasattr(cell, "output_size"), "'output_size' property is missing"),
              (hasattr(cell, "state_size"), "'state_size' property is missing"),
              (hasattr(cell, "zero_state") or hasattr(cell, "get_initial_state"),
               "either 'zero_state' or 'get_initial_state' method is required"),
              (callable(cell), "is not callable")]
    missing = [text for ok, text in checks if not ok]
    if missing:
        raise TypeError(f"The argument {cell_name!r} ({cell}) is not an RNNCell: "
                        f"{', '.join(missing)}.")


__all__ = ["RNNCell", "LSTMStateTuple", "assert_like_rnncell"]
