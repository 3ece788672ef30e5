"""``tf.train.ExponentialMovingAverage``: shadow variables that trail the originals.

``apply(var_list)`` makes ``<var>/ExponentialMovingAverage`` (not trainable, starting at the
variable's initial value, as TF's slot creator) and returns one op whose run moves every
shadow ``s -= (s - var) * (1 - decay)``; with ``num_updates``, the decay is
``min(decay, (1 + n) / (10 + n))``. ``variables_to_restore()`` maps the shadow names to the
originals so a ``Saver`` restores the averages into the model's variables."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops as _ops
from ..graph.core import get_default_graph
from ..graph.math_ops import _t
from ..variables import Variable, assign_sub, global_variables, group, trainable_variables

MOVING_AVERAGE_VARIABLES = "moving_average_variables"


def _op_name(v: Any) -> str:
    return v.name.split(":")[0]


class ExponentialMovingAverage:
    """TF1's moving averages of variables (``zero_debias`` is not supported)."""

    def __init__(self, decay: float, num_updates: Any = None, zero_debias: bool = False,
                 name: str = "ExponentialMovingAverage") -> None:
        if zero_debias:
            raise NotImplementedError("ExponentialMovingAverage(zero_debias=True) is not "
                                      "supported")
        self._decay, self._num_updates, self._name = decay, num_updates, name
        self._averages: dict[Any, Variable] = {}

    @property
    def name(self) -> str:
        return self._name

    def apply(self, var_list: Any = None) -> Any:
        """Create the shadows of ``var_list`` (default: the trainable variables) and return the
        op that updates them."""
        if var_list is None:
            var_list = trainable_variables()
        var_list = list(var_list)
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"ExponentialMovingAverage.apply takes variables here, got {v!r}")
            if not v.dtype.base_dtype.is_floating:
                raise TypeError(f"The variables must be half, float, or double: {v.name}")
        g = get_default_graph()
        for v in (v for v in var_list if v not in self._averages):  # TF 2: apply again reuses
            with g.name_scope(None), g.control_dependencies(None):
                shadow = Variable(v.initialized_value(), trainable=False,
                                  name=_op_name(v) + "/" + self._name)
            self._averages[v] = shadow
            g.add_to_collection(MOVING_AVERAGE_VARIABLES, v)
        with g.name_scope(self._name) as scope:
            decay = _t(np.float32(self._decay))
            if self._num_updates is not None:
                n = _ops.cast(_t(self._num_updates), np.float32)
                decay = _ops.minimum(decay, _ops.div(_ops.add(n, np.float32(1.0)),
                                                     _ops.add(n, np.float32(10.0))))
            updates = []
            for v in var_list:
                shadow = self._averages[v]
                with g.name_scope("AssignMovingAvg"):
                    rate = _ops.sub(np.asarray(1.0, v.dtype.base_dtype.as_numpy_dtype),
                                    _ops.cast(decay, v.dtype.base_dtype.as_numpy_dtype))
                    delta = _ops.mul(_ops.sub(shadow.value(), v.value()), rate)
                    updates.append(assign_sub(shadow, delta, name="AssignMovingAvg"))
            return group(*updates, name=scope)

    def average(self, var: Any) -> Variable | None:
        """The shadow of ``var`` (``None`` when ``apply`` was not given it)."""
        return self._averages.get(var)

    def average_name(self, var: Any) -> str:
        """The shadow's name without ``:0`` (``<var>/ExponentialMovingAverage``)."""
        return _op_name(var) + "/" + self._name

    def variables_to_restore(self, moving_avg_variables: Any = None) -> dict:
        """``{shadow name: variable}`` for the averaged variables (the trainable ones and those
        ``apply`` saw, by default) and ``{name: variable}`` for every other global one."""
        if moving_avg_variables is None:
            moving_avg_variables = list(trainable_variables()) + list(
                get_default_graph().get_collection(MOVING_AVERAGE_VARIABLES))
        name_map: dict[str, Any] = {}
        for v in moving_avg_variables:
            name_map[self.average_name(v)] = v
        averaged = {v.name for v in moving_avg_variables}
        for v in global_variables():
            if v.name not in averaged and _op_name(v) not in name_map:
                name_map[_op_name(v)] = v
        return name_map
