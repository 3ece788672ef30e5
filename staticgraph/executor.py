"""The executor contract: what ``Session`` hands an executor and what it may touch
(docs/guarantees.md, "The executor contract").

- :class:`Executor`: ``run(graph, fetches, targets, feeds, state) -> list[ndarray]``, optionally
  ``prepare(graph, fetches, targets, feed_keys) -> runner(feed_values, state)``. Every feed
  value is already checked and converted by the session: an ndarray of its placeholder's dtype
  and of a compatible shape (possibly read-only or not contiguous);
- :data:`EXECUTORS`: name -> factory, where the compiler registers ``"numba"`` (and ``"cuda"``);
- :class:`VariableStore`: the session's variable values; executors read :attr:`VariableStore.view`
  and write only through :meth:`VariableStore.commit`;
- :func:`needed_ops` and :func:`uninitialized_message`, the subgraph walk and the message every
  executor shares; :class:`ReferenceExecutor` (:mod:`staticgraph.reference`), the oracle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np

from .graph.core import Graph, Operation, Tensor, needed_ops
from .graph.errors import uninitialized_message
from .reference import ReferenceExecutor

__all__ = ["EXECUTORS", "Executor", "ReferenceExecutor", "VariableStore", "needed_ops",
           "uninitialized_message"]


class VariableStore:
    """Variable -> ndarray for one session. Executors write only through :meth:`commit`."""

    def __init__(self) -> None:
        self._values: dict[Any, np.ndarray] = {}
        #: a live read-only view of variable -> value, what executors read (never the dict itself)
        self.view: Mapping[Any, np.ndarray] = MappingProxyType(self._values)

    def __contains__(self, var: Any) -> bool:
        return var in self._values

    def __getitem__(self, var: Any) -> np.ndarray:
        return self._values[var]

    def get(self, var: Any, default: Any = None) -> Any:
        return self._values.get(var, default)

    def items(self) -> Any:
        return self._values.items()

    def __len__(self) -> int:
        return len(self._values)

    def commit(self, updates: dict[Any, np.ndarray]) -> None:
        """Apply all of a run's updates at once (called at the end of a successful run)."""
        self._values.update(updates)


class Executor(Protocol):
    def run(self, graph: Graph, fetches: list[Tensor], targets: list[Operation],
            feeds: dict[Tensor, np.ndarray], state: VariableStore) -> list[np.ndarray]: ...


#: executor name -> factory; the compiler registers "numba" (and "cuda") when imported
EXECUTORS: dict[str, Callable[[], Executor]] = {"reference": ReferenceExecutor}
