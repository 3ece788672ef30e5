"""Ops that run on the host around compiled or interpreted code: control flow (``While``,
``If``) and TensorArrays. Each such op has ``op.host``, an object whose
``run(inputs, prepare, compiled=False)`` is the op's meaning; ``prepare(graph, fetches,
feed_keys)`` returns ``fn(values) -> results`` running one of its function graphs. This
module gives the executors what they share: the variable state a sub-run sees and writes, and
how the reference executor runs such an op.

State: a sub-run reads the variables as the enclosing run sees them at that point (its updates
so far, else the committed values) and its assigns become updates of the enclosing run, so an
``assign_add`` in a loop body is seen by the next iteration, and a failed run still commits
nothing (docs/guarantees.md, "The executor contract").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .graph.core import Operation, Tensor
from .graph.errors import FailedPreconditionError


def is_host_op(op: Operation) -> bool:
    return getattr(op, "host", None) is not None


def unwrap(v: Any) -> Any:
    """A fetched host value (a TensorArray, a Stack) back from the 0-d object array the
    reference executor's result copy makes of it."""
    if isinstance(v, np.ndarray) and v.dtype == object and v.ndim == 0:
        return v[()]
    return v


def host_inputs(op: Operation, value_of: Callable[[Tensor, Operation], Any]) -> list:
    """The op's input values; a captured Variable is read live by the sub-graph, so its
    ``VariableV2`` input has no value here (``None``)."""
    return [None if t.op.type == "VariableV2" else value_of(t, op) for t in op.inputs]


class _RunState:
    """The variables as the reference executor's run sees them: ``read_var`` (its updates so
    far, else the committed value), and commits into its ``updates``."""

    def __init__(self, updates: dict, read_var: Callable[[Any, Operation], Any],
                 op: Operation) -> None:
        self.updates, self.read_var, self.op = updates, read_var, op

    def __contains__(self, var: Any) -> bool:
        try:
            self.read_var(var, self.op)
        except FailedPreconditionError:
            return False
        return True

    def __getitem__(self, var: Any) -> np.ndarray:
        return self.read_var(var, self.op)

    def commit(self, updates: dict) -> None:
        self.updates.update(updates)


class Overlay:
    """A state over ``base`` (anything with ``in``/``[]``) that keeps its commits, for a run
    made of several sub-runs (the compiled region driver). ``view`` is itself."""

    def __init__(self, base: Any) -> None:
        self.base = getattr(base, "view", base)
        self.updates: dict = {}

    @property
    def view(self) -> Overlay:
        return self

    def __contains__(self, var: Any) -> bool:
        return var in self.updates or var in self.base

    def __getitem__(self, var: Any) -> np.ndarray:
        u = self.updates
        return u[var] if var in u else self.base[var]

    def get(self, var: Any, default: Any = None) -> Any:
        return self[var] if var in self else default

    def commit(self, updates: Mapping) -> None:
        self.updates.update(updates)


def run_on_reference(op: Operation, executor: Any, values: dict, updates: dict,
                     value_of: Callable, read_var: Callable) -> None:
    """Run host op ``op`` inside a reference-executor run (``executor.run`` runs each function
    graph call); its outputs go into ``values``, its assigns into ``updates``."""
    state = _RunState(updates, read_var, op)

    def prepare(graph: Any, fetches: list, keys: list) -> Callable[[list], list]:
        def fn(vals: list) -> list:
            feeds = dict(zip(keys, vals, strict=True))
            return [unwrap(v) for v in executor.run(graph, fetches, [], feeds, state)]
        return fn

    outs = op.host.run(host_inputs(op, value_of), prepare)
    for t, v in zip(op.outputs, outs, strict=True):
        values[t] = v


__all__ = ["is_host_op", "unwrap", "host_inputs", "Overlay", "run_on_reference"]
