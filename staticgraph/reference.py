"""The reference executor: interprets the needed subgraph op by op with the registry's numpy
kernels (``eval_numpy``). Slow and simple, it defines what every executor must compute
(docs/guarantees.md, "The executor contract") and is the oracle the compiler is tested against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph.core import Graph, Operation, Tensor, needed_ops
from .graph.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    OpError,
    node_context,
    uninitialized_message,
)
from .host_ops import run_on_reference
from .ops.core import aval_of, eval_numpy
from .ops.unknown_rank import at_rank


class ReferenceExecutor:
    """Runs a graph with numpy, one op at a time (slow, simple, the oracle for the compiler)."""

    name = "reference"

    def run(self, graph: Graph, fetches: list[Tensor], targets: list[Operation],
            feeds: dict[Tensor, np.ndarray], state: Any) -> list[np.ndarray]:
        """``state`` (a ``VariableStore``, or anything with ``in``, ``[]`` and ``commit``) is
        read as each variable read runs and gets this run's updates at the end."""
        order = needed_ops(fetches, targets, feeds)
        fetched = set(fetches)
        values: dict[Tensor, Any] = {}
        updates: dict[Any, np.ndarray] = {}

        def read_var(var: Any, consumer: Operation) -> np.ndarray:
            if var in updates:
                return updates[var]
            if var in state:
                return state[var]
            raise FailedPreconditionError(None, consumer, uninitialized_message(var, consumer))

        def value_of(t: Tensor, consumer: Operation) -> Any:
            if t in feeds:
                return feeds[t]
            if t.op.type == "VariableV2":
                return read_var(t.op.params["variable"], consumer)
            return values[t]

        for op in order:
            if op.outputs and op.outputs[0] in feeds:
                continue
            try:
                self._run_op(op, values, updates, value_of, read_var, fetched)
            except OpError:
                raise
            except Exception as e:  # a kernel failed: say which node, and where it was built
                raise InvalidArgumentError(None, op, f"{type(e).__name__}: {e}" +
                                           node_context(op)) from e
        out = [np.array(feeds[t] if t in feeds else values[t], copy=True) for t in fetches]
        state.commit(updates)
        return out

    @staticmethod
    def _run_op(op: Operation, values: dict, updates: dict, value_of: Any, read_var: Any,
                fetched: set) -> None:
        kind = op.type
        if kind == "NoOp":
            return
        if getattr(op, "host", None) is not None:  # control flow, TensorArrays (host_ops.py)
            return run_on_reference(op, ReferenceExecutor(), values, updates, value_of, read_var)
        out = op.outputs[0]
        if kind == "Const":
            values[out] = op.params["value"]
        elif kind == "Placeholder":
            raise InvalidArgumentError(None, op, f"You must feed a value for placeholder tensor "
                                       f"'{op.name}'" + node_context(op))
        elif kind == "VariableV2":
            if out in fetched:  # a fetch of the variable sees its value at this point
                values[out] = read_var(op.params["variable"], op)
        elif kind in ("Identity", "StopGradient"):
            values[out] = value_of(op.inputs[0], op)
        elif kind in ("Assign", "AssignAdd", "AssignSub"):
            var = op.params.get("variable") or op.inputs[0].op.params["variable"]
            val = np.asarray(value_of(op.inputs[1], op))
            if kind == "AssignAdd":
                val = read_var(var, op) + val
            elif kind == "AssignSub":
                val = read_var(var, op) - val
            new = np.array(val, dtype=var.dtype.np_dtype, copy=True)
            want = tuple(var.shape.as_list())
            if new.shape != want:
                raise InvalidArgumentError(None, op, f"Assign requires shapes of both tensors to "
                                           f"match. lhs shape= {list(want)} rhs shape= "
                                           f"{list(new.shape)}" + node_context(op))
            updates[var] = new
            values[out] = new
        elif op.op_def is not None:
            args = [value_of(t, op) for t in op.inputs]
            params = op.params
            if op.op_def.at_rank is not None and any(t.aval.shape is None for t in op.inputs):
                params = at_rank(op.op_def, params, [aval_of(a) for a in args])  # fed ranks
            values[out] = eval_numpy(op.op_def, args, params)
        else:
            raise InvalidArgumentError(None, op, f"No kernel for op type {kind!r}" +
                                       node_context(op))
