"""A session's run plans: a bounded cache of :class:`~staticgraph.session_plan.RunPlan` keyed by
the fetch structure and the fed keys (in feed order), valid across graph growth.

Keys (``Session.run`` builds the first three on every call; :func:`general_key` builds any):

- one ``Tensor``/``Operation``: ``(fetch, feed_keys)``;
- a flat list of them: ``(tuple(fetches), feed_keys)``; a flat tuple: ``(fetches, feed_keys,
  tuple)``;
- anything else with a cheap key (names, nested lists/tuples/dicts): ``(structure, feed_keys,
  None)``. Only flat structures are stored under the first forms, so a nested structure (a
  list holding a namedtuple that equals a tuple) never finds another's plan.

Eviction is least-recently-used by generations, so that a hit costs nothing: new plans go to
``young``; when it holds half the bound it becomes ``old`` and the previous ``old`` is dropped;
a plan found in ``old`` moves back to ``young``. A plan used since the last generation change
stays; at most ``maxsize`` are held.

A plan is stamped with the graph version it was checked against. After new nodes only
(``graph.edits`` unchanged) it is still right: nodes are never removed and a new node changes
no existing one, so the needed subgraph, the missing-feed and variable checks and the
executor's prepared runner all stand; :meth:`PlanCache.get` restamps it. After an edit of an
existing node (``Tensor.set_shape``) it is made again.
"""

from __future__ import annotations

import threading
from typing import Any

from .graph.core import Graph, Operation, Tensor
from .session_plan import RunPlan

MAX_PLANS = 64  # per session; a program with more live (fetches, feeds) pairs rebuilds some

_LEAF_TYPES = frozenset((Tensor, Operation))


def general_key(fetches: Any, feed_dict: dict) -> Any:
    """The cache key for any fetch structure, ``None`` when it has no cheap key."""
    t = type(fetches)
    if t is Tensor or t is Operation:
        return fetches, tuple(feed_dict)
    if (t is list or t is tuple) and _LEAF_TYPES.issuperset(map(type, fetches)):
        if t is list:
            return tuple(fetches), tuple(feed_dict)
        return fetches, tuple(feed_dict), tuple
    key = _structure_key(fetches)
    return None if key is None else (key, tuple(feed_dict), None)


def _structure_key(fetches: Any) -> Any:
    t = type(fetches)
    if t is Tensor or t is Operation or t is str:
        return fetches
    if t is list or t is tuple:
        parts = tuple(_structure_key(f) for f in fetches)
        return None if None in parts else (t, parts)
    if t is dict:
        parts = tuple((k, _structure_key(v)) for k, v in fetches.items())
        return None if any(p[1] is None for p in parts) else (t, parts)
    return None


class PlanCache:
    """At most ``maxsize`` plans. ``Session.run`` reads :attr:`young` directly (a dict whose
    identity never changes); misses come to :meth:`get`."""

    def __init__(self, graph: Graph, maxsize: int = MAX_PLANS) -> None:
        self.graph = graph
        self.generation = max(1, maxsize // 2)
        self.young: dict[Any, RunPlan] = {}
        self.old: dict[Any, RunPlan] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> RunPlan | None:
        """The plan for ``key`` valid for the graph as it is now, else ``None``."""
        plan = self.young.get(key)
        if plan is None:
            plan = self.old.get(key)
            if plan is None:
                return None
            self.put(key, plan)
        g = self.graph
        if plan.version != g.version:
            if plan.edits != g.edits:
                return None  # made before an edit of a node: make it again
            plan = plan.restamped(g.version, g.edits)
            self.put(key, plan)
        return plan

    def put(self, key: Any, plan: RunPlan) -> None:
        with self._lock:
            if key not in self.young and len(self.young) >= self.generation:
                self.old = dict(self.young)  # a new generation; the oldest plans go
                self.young.clear()
            self.young[key] = plan
            self.old.pop(key, None)

    def __len__(self) -> int:
        return len(self.young) + len(self.old)

    def __getitem__(self, key: Any) -> RunPlan:
        plan = self.young.get(key)
        return self.old[key] if plan is None else plan
