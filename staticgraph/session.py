"""``Session``: feeds data into a graph and fetches results through a pluggable executor.

The Session validates feeds and fetches, checks for missing feeds and uninitialized variables,
and owns the variables' values (:class:`VariableStore`); the executor (``EXECUTORS[name]()``)
only evaluates (docs/guarantees.md, "The executor contract":
``run(graph, fetches, targets, feeds, state)``).

The run path: ``run`` looks its (fetches, feed keys) up in the session's plan cache
(:mod:`.session_cache`) and calls the plan's generated ``fast(feed_dict, state)``
(:mod:`.session_plan`), which checks and converts each feed once, calls the executor's
prepared runner and shapes the results. A miss resolves the fetches and feed keys, checks the
feed values, then the missing feeds and uninitialized variables, and makes the plan.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable, Collection, Iterator
from typing import Any

import numpy as np

from .executor import (  # noqa: F401 - Executor, EXECUTORS, VariableStore: re-exported
    EXECUTORS,
    Executor,
    VariableStore,
    needed_ops,
    uninitialized_message,
)
from .graph import default_session
from .graph.core import Graph, Operation, Tensor, get_default_graph
from .graph.default_session import get_default_session  # noqa: F401 - tf.get_default_session
from .graph.errors import FailedPreconditionError, InvalidArgumentError, node_context
from .graph.frontend import as_graph_tensor
from .graph.indexed_slices import IndexedSlices, IndexedSlicesValue
from .session_cache import PlanCache, general_key
from .session_plan import (  # noqa: F401 - FeedConversionError: part of this module's API
    FeedConversionError,
    RunPlan,
    _feed_spec,
    _feed_value,
)


def default_executor_name() -> str:
    """``"numba"`` once ``staticgraph.compiler`` registers it, else ``"reference"``."""
    if "numba" not in EXECUTORS:
        try:
            import staticgraph.compiler  # noqa: F401 - registers "numba" in EXECUTORS
        except ImportError:
            pass
    return "numba" if "numba" in EXECUTORS else "reference"


# ------------------------------------------------------------------------------ fetch mapping
def _flatten(fetches: Any, graph: Graph, leaves: list) -> Callable[[list], Any]:
    """Collect fetch leaves; return a function rebuilding the structure from their values."""
    if fetches is None:
        raise TypeError(f"Fetch argument {fetches!r} has invalid type {type(fetches)}")
    if isinstance(fetches, dict):
        keys = list(fetches)
        subs = [_flatten(fetches[k], graph, leaves) for k in keys]
        return lambda vals: type(fetches)(zip(keys, (s(vals) for s in subs), strict=False)) \
            if type(fetches) is not dict else {k: s(vals) for k, s in zip(keys, subs, strict=False)}
    if isinstance(fetches, IndexedSlices):  # TF: an IndexedSlicesValue of its three parts
        parts = [_flatten(f, graph, leaves) for f in (fetches.values, fetches.indices)]
        ds = fetches.dense_shape
        shape = _flatten(ds, graph, leaves) if as_graph_tensor(ds) is not None else (
            lambda vals: ds)
        return lambda vals: IndexedSlicesValue(parts[0](vals), parts[1](vals), shape(vals))
    if isinstance(fetches, (list, tuple)):
        subs = [_flatten(f, graph, leaves) for f in fetches]
        if hasattr(fetches, "_fields"):  # namedtuple
            return lambda vals: type(fetches)(*(s(vals) for s in subs))
        return lambda vals: type(fetches)(s(vals) for s in subs)
    try:
        el = graph.as_graph_element(fetches)
    except (TypeError, ValueError, KeyError) as e:
        cls = TypeError if isinstance(e, TypeError) else ValueError  # TF: a missing name is a
        msg = e.args[0] if isinstance(e, KeyError) else e  # ValueError, not a KeyError
        raise cls(f"Fetch argument {fetches!r} cannot be interpreted as a Tensor. ({msg})"
                  ) from None
    i = len(leaves)
    leaves.append(el)
    return lambda vals: vals[i]


def _resolve_feed_key(graph: Graph, key: Any) -> Tensor:
    try:
        el = graph.as_graph_element(key)
    except (TypeError, ValueError, KeyError) as e:
        raise TypeError(f"Cannot interpret feed_dict key as Tensor: {e}") from None
    if not isinstance(el, Tensor):
        raise TypeError(f"Cannot interpret feed_dict key as Tensor: {key!r} is an Operation, "
                        "not a Tensor.")
    return el


class Session:
    """Runs a graph (the default graph unless given). ``executor``: a name in ``EXECUTORS``."""

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None,
                 executor: str | None = None) -> None:
        self.graph = graph if graph is not None else get_default_graph()
        name = executor or default_executor_name()
        if name not in EXECUTORS:
            default_executor_name()  # importing the compiler registers "numba"
        if name not in EXECUTORS:
            raise ValueError(f"Unknown executor {name!r}; available: {sorted(EXECUTORS)}")
        self.executor_name = name
        self._executor = EXECUTORS[name]()
        self._state = VariableStore()
        self._closed = False
        self._interactive = False
        self._ctx: list[Any] = []
        self._plans = PlanCache(self.graph)
        self._hot = self._plans.young  # what run() looks up first

    @property
    def _flat_plans(self) -> PlanCache:
        """The plan cache (one for every fetch structure; flat lists of nodes included)."""
        return self._plans

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> Session:
        ctx = self.as_default()
        ctx.__enter__()
        self._ctx.append(ctx)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._ctx.pop().__exit__(*exc)
        self.close()

    @contextlib.contextmanager
    def as_default(self) -> Iterator[Session]:
        default_session.push(self)
        try:
            with self.graph.as_default():
                yield self
        finally:
            default_session.remove(self)

    # ------------------------------------------------------------------------ run
    def run(self, fetches: Any, feed_dict: dict | None = None, options: Any = None,
            run_metadata: Any = None) -> Any:
        """Evaluate ``fetches`` (a node, op, name, or nested list/tuple/dict of them).

        Everything that depends only on the fetch structure and the fed keys (fetch
        flattening, feed-key resolution, the missing-feed and uninitialized-variable checks,
        the executor's preparation) is done once per plan; a repeated call only checks the
        feed values and runs.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        feed_dict = feed_dict or {}
        t = type(fetches)  # the common structures' keys (session_cache), looked up directly
        try:
            if t is list:
                plan = self._hot[tuple(fetches), tuple(feed_dict)]
            elif t is Tensor or t is Operation:
                plan = self._hot[fetches, tuple(feed_dict)]
            elif t is tuple:
                plan = self._hot[fetches, tuple(feed_dict), tuple]
            else:
                return self._run_slow(fetches, feed_dict)
        except (KeyError, TypeError):  # a miss, or an unhashable fetch (the slow path says
            return self._run_slow(fetches, feed_dict)  # what is wrong with it)
        if plan.version != self.graph.version:
            return self._run_slow(fetches, feed_dict)
        return plan.fast(feed_dict, self._state)

    def _run_slow(self, fetches: Any, feed_dict: dict) -> Any:
        """Run with the cached plan, restamped after graph growth, or a new one (cached unless
        its checks fail or the fetches have no cheap key)."""
        key = general_key(fetches, feed_dict)
        plan = None if key is None else self._plans.get(key)
        if plan is not None:
            return plan.fast(feed_dict, self._state)
        plan, feed_dict = self._make_plan(fetches, feed_dict)
        if key is not None:
            self._plans.put(key, plan)
        return plan.fast(feed_dict, self._state)

    def _make_plan(self, fetches: Any, feed_dict: dict) -> tuple[RunPlan, dict]:
        """Resolve fetches and feed keys, check and convert the feed values (before anything
        runs, as TF does), run the prechecks and let the executor prepare: the plan, and the
        feeds converted."""
        leaves: list[Tensor | Operation] = []
        rebuild = _flatten(fetches, self.graph, leaves)
        specs = [_feed_spec(_resolve_feed_key(self.graph, k)) for k in feed_dict]
        values = [_feed_value(spec[0], v)
                  for spec, v in zip(specs, feed_dict.values(), strict=True)]
        tensors = list(dict.fromkeys(el for el in leaves if isinstance(el, Tensor)))
        targets = list(dict.fromkeys(el for el in leaves if isinstance(el, Operation)))
        fed = [spec[0] for spec in specs]
        self._precheck(tensors, targets, set(fed))  # initialized variables stay initialized
        pos = {t: i for i, t in enumerate(tensors)}
        leaf_pos = [pos[el] if isinstance(el, Tensor) else -1 for el in leaves]
        if type(fetches) is list and len(leaves) == len(fetches) and not any(
                isinstance(f, (list, tuple, dict)) for f in fetches):  # flat: no rebuild walk
            rebuild = list
        elif isinstance(fetches, (Tensor, Operation, str)):
            rebuild = operator.itemgetter(0)
        prepare = getattr(self._executor, "prepare", None)  # optional executor fast path
        runner = prepare(self.graph, tensors, targets, fed) if prepare else None
        plan = RunPlan(self.graph, tensors, targets, specs, leaf_pos, rebuild, runner,
                       self._executor.run)
        return plan, dict(zip(feed_dict, values, strict=True))

    def _precheck(self, tensors: list[Tensor], targets: list[Operation],
                  fed: Collection[Tensor]) -> None:
        """Missing feeds and reads of never-assigned uninitialized variables, before running."""
        order = needed_ops(tensors, targets, fed)
        assigned = {op.inputs[0].op.params["variable"] for op in order if op.type == "Assign"}
        for op in order:
            if op.type == "Placeholder":
                t = op.outputs[0]
                raise InvalidArgumentError(
                    None, op, f"You must feed a value for placeholder tensor '{op.name}' with "
                    f"dtype {t.dtype.tf_type_name}" + (
                        "" if t.aval.shape is None else f" and shape {t.shape.tf_list_str()}") +
                    node_context(op))
        reads = [(t, op) for op in order for i, t in enumerate(op.inputs)
                 if t.op.type == "VariableV2" and t not in fed
                 and not (i == 0 and op.type == "Assign")]
        reads += [(t, t.op) for t in tensors if t.op.type == "VariableV2" and t not in fed]
        auto = getattr(self.graph, "_auto_init", {})  # internal state, e.g. dropout's counter
        for t, consumer in reads:
            var = t.op.params["variable"]
            if var not in self._state and var in auto:
                self._state.commit({var: np.array(auto[var], copy=True)})
            if var not in self._state and var not in assigned:
                raise FailedPreconditionError(None, consumer,
                                              uninitialized_message(var, consumer))

    def explain(self, fetches: Any, feed_dict: dict | None = None) -> str:
        """What the compiler does with these fetches and feeds: the graph after each pass, the
        fused kernels and their generated source, the driver, compile time, the buffer plan."""
        from .compiler import explain

        leaves: list[Tensor | Operation] = []
        _flatten(fetches, self.graph, leaves)
        feeds = {_resolve_feed_key(self.graph, k): v for k, v in (feed_dict or {}).items()}
        return explain(leaves, feeds, session=self)

    def make_callable(self, fetches: Any, feed_list: list | None = None) -> Callable[..., Any]:
        """A function running ``fetches`` with positional feeds for ``feed_list``."""
        feed_list = list(feed_list or [])

        def call(*args: Any) -> Any:
            return self.run(fetches, dict(zip(feed_list, args, strict=False)))

        return call

    def list_devices(self) -> list:
        return []


class InteractiveSession(Session):
    """A Session installed as the default on creation (for ``t.eval()`` in notebooks)."""

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None,
                 executor: str | None = None) -> None:
        super().__init__(target, graph, config, executor)
        self._interactive = True
        default_session.push(self)

    def close(self) -> None:
        super().close()
        default_session.remove(self, missing_ok=True)
