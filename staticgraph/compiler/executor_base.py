"""What every compiling executor shares (docs/guarantees.md, "The executor contract"): plan keys,
bounded plan and instance caches, the fallback to the reference executor, and failed runs
reported the way the reference reports them (the op, its node and the user's line).

A backend subclasses :class:`CompilingExecutor` (``build``: a schedule -> its plan) and gives its
plans :class:`BoundPlans` (``bind``: the plan bound to concrete feed shapes). Keys:

* the *plan key* (:func:`plan_key`) names what a plan depends on: the graph and its version, the
  fetches and targets, and per feed its tensor, dtype, rank and size-1 dims, not its sizes: a
  new batch size binds new buffers to the same plan and compiles nothing;
* each plan keeps its *instances* per feed shapes.

Both caches are bounded LRUs: a graph rebuilt in a loop, or a stream of batch sizes, no longer
keeps every plan and every set of buffers alive for the life of the session.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..executor import ReferenceExecutor
from ..graph.errors import InvalidArgumentError, OpError
from .log import note
from .passes.shapes import UnitDimError

if TYPE_CHECKING:
    from .pipeline import Schedule


class _Reference:
    """The plan or instance of a key the compiler leaves to the reference executor."""

    def __repr__(self) -> str:
        return "REFERENCE"


REFERENCE = _Reference()
"""Stands for a plan or instance: "the reference executor runs this key (or these shapes)"."""

MAX_PLANS = 128
"""Plans an executor keeps (least recently used first out): fetch sets x feed signatures."""
MAX_INSTANCES = 16
"""Feed-shape bindings (buffers) a plan keeps."""


class LRU:
    """A mapping bounded to ``maxsize`` entries: the least recently used one goes first."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._d: OrderedDict = OrderedDict()

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            value = self._d[key]
        except KeyError:
            return default
        self._d.move_to_end(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        self._d[key] = value
        self._d.move_to_end(key)
        while len(self._d) > self.maxsize:
            self._d.popitem(last=False)

    def __contains__(self, key: Any) -> bool:
        return key in self._d

    def __len__(self) -> int:
        return len(self._d)

    def keys(self) -> list:
        return list(self._d.keys())

    def values(self) -> list:
        return list(self._d.values())


def remember(d: dict, key: Any, value: Any, maxsize: int) -> None:
    """``d[key] = value`` in a plain dict bounded to ``maxsize`` entries, the oldest inserted
    going first: for the per-run lookups, where an LRU's bookkeeping on every hit would cost
    more than the occasional rebuild of an evicted entry (a runner, a ``call`` lookup)."""
    if key not in d and len(d) >= maxsize:
        d.pop(next(iter(d)))
    d[key] = value


def plan_key(graph: Any, fetches: list, targets: list, feeds: dict) -> tuple:
    """What a plan depends on: sizes are left out, size-1 dims are in (they broadcast)."""
    return (graph, graph.version, tuple(fetches), tuple(targets),
            tuple((t, a.dtype, tuple(d == 1 for d in a.shape)) for t, a in feeds.items()))


def as_arrays(feeds: dict) -> dict:
    """The feeds as ndarrays (a Python scalar or list fed directly)."""
    return {t: a if type(a) is np.ndarray else np.asarray(a) for t, a in feeds.items()}


def instance_cache() -> LRU:
    """A new plan's cache of instances (the default factory of its ``instances`` field)."""
    return LRU(MAX_INSTANCES)


class BoundPlans:
    """A plan's instances per feed shapes (a mixin: the backend plan defines ``bind``)."""

    instances: LRU

    def bind(self, feed_shapes: tuple) -> Any:
        raise NotImplementedError

    def instance(self, feed_shapes: tuple) -> Any:
        """The plan bound to ``feed_shapes`` (memoized), or :data:`REFERENCE` when those shapes
        break an equality the plan assumed through a size-1 dim (:class:`UnitDimError`: a
        derived dim is 1 where the plan needs another size, which broadcasting may allow)."""
        inst = self.instances.get(feed_shapes)
        if inst is None:
            try:
                inst = self.bind(feed_shapes)
            except UnitDimError as e:
                note("feed shapes %s do not fit the plan (%s): using the reference executor "
                     "for them", feed_shapes, e.message)
                inst = REFERENCE
            self.instances[feed_shapes] = inst
        return inst


class CompilingExecutor:
    """The Executor protocol on top of the compile pipeline; subclasses define :meth:`build`
    and ``run``. Thread-safe: plans and instances are built under one lock."""

    name = "compiled"
    log_prefix = ""

    def __init__(self) -> None:
        self._plans = LRU(MAX_PLANS)
        self._lock = threading.RLock()
        self.compiles = 0  # plans built (each logged with its reason)
        self._reference: ReferenceExecutor | None = None

    # ------------------------------------------------------------------------------ plans
    def build(self, schedule: Schedule, reason: str) -> Any:
        """The backend's plan for ``schedule`` (raises when it cannot render it)."""
        raise NotImplementedError

    def plan(self, graph: Any, fetches: list, targets: list, feeds: dict) -> Any:
        """The plan for this key (built on a miss; :data:`REFERENCE` when it cannot be)."""
        pk = plan_key(graph, fetches, targets, feeds)
        with self._lock:
            plan = self._plans.get(pk)
            if plan is None:
                reason = "first run of these fetches/feed signature"
                if any(k[:4] == pk[:4] for k in self._plans.keys()):
                    reason = "new feed dtypes/ranks/size-1 pattern"
                plan = self._compile(fetches, targets, feeds, reason)
                self._plans[pk] = plan
        return plan

    def _compile(self, fetches: list, targets: list, feeds: dict, reason: str) -> Any:
        from .pipeline import compile_schedule  # not needed by plans from the plan cache

        try:
            plan = self.build(compile_schedule(fetches, targets, feeds), reason)
        except Exception as e:  # unsupported graph: the reference executor still runs it
            note("%scannot compile (%s: %s): using the reference executor for this key",
                 self.log_prefix, type(e).__name__, e)
            return REFERENCE
        self.compiles += 1
        note("%splan for %d fetch(es), %d target(s): %d kernel(s), compile %.3fs (%s)",
             self.log_prefix, len(fetches), len(targets), plan.kernel_count,
             plan.compile_seconds, reason)
        return plan

    def instance_for(self, graph: Any, fetches: list, targets: list, feeds: dict) -> Any:
        """The bound instance these feeds run on, or :data:`REFERENCE`."""
        plan = self.plan(graph, fetches, targets, feeds)
        if plan is REFERENCE:
            return REFERENCE
        with self._lock:
            return plan.instance(tuple(a.shape for a in feeds.values()))

    def plan_for(self, graph: Any, fetches: list, targets: list, feeds: dict) -> Any:
        """The plan runs with these feeds use, or :data:`REFERENCE` when the reference
        executor runs them (explain, tests)."""
        inst = self.instance_for(graph, fetches, targets, as_arrays(feeds))
        return REFERENCE if inst is REFERENCE else inst.plan

    def instances(self) -> Iterator[Any]:
        """Every bound instance kept (debugging, tests)."""
        for plan in self._plans.values():
            if plan is not REFERENCE:
                yield from (i for i in plan.instances.values() if i is not REFERENCE)

    # -------------------------------------------------------------------------- reference
    def reference(self) -> ReferenceExecutor:
        if self._reference is None:
            self._reference = ReferenceExecutor()
        return self._reference

    def failure(self, graph: Any, fetches: list, targets: list, feeds: dict, state: Any,
                e: BaseException) -> OpError:
        """The error a failed compiled run raises: the reference executor's for the same
        feeds and variable values (:func:`reference_error`)."""
        return reference_error(self.reference(), graph, fetches, targets, feeds, state, e)


def reference_error(ref: ReferenceExecutor, graph: Any, fetches: list, targets: list,
                    feeds: dict, state: Any, e: BaseException) -> OpError:
    """The error of a failed compiled run (a bad label, an empty max, an uninitialized
    variable...). A kernel cannot say which graph op it ran for, so the reference executor
    ``ref`` runs the same feeds on the same variable values, committing nothing: its error names
    the op, its node and the user's line exactly as ``Session(executor="reference")`` does.
    When it does not fail (a compiler fault), the compiled error ``e`` is reported as it is."""
    try:
        ref.run(graph, fetches, targets, feeds, _NoCommit(state))
    except OpError as ref_error:
        return ref_error
    except Exception:  # noqa: BLE001, S110 - the compiled error below is the one to report
        pass
    if isinstance(e, OpError):
        return e
    return InvalidArgumentError(None, None, f"{type(e).__name__}: {e}")


class _NoCommit:
    """The variable values, read-only: a run used only to find an error commits nothing."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def __contains__(self, v: Any) -> bool:
        return v in self.state

    def __getitem__(self, v: Any) -> np.ndarray:
        return self.state[v]

    def commit(self, updates: dict) -> None:
        pass
