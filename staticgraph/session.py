"""``Session``: feeds data into a graph and fetches results through a pluggable executor.

The Session validates feeds and fetches, checks for missing feeds and uninitialized variables,
and owns the variables' values (:class:`VariableStore`); the executor (``EXECUTORS[name]()``)
only evaluates (docs/guarantees.md, "The executor contract":
``run(graph, fetches, targets, feeds, state)``).
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable, Iterator
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
from .session_plan import (  # noqa: F401 - FeedConversionError: part of this module's API
    FeedConversionError,
    RunPlan,
    _check_feed,
    _feed_spec,
    _feed_value,
    _to_output,
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


_LEAF_TYPES = frozenset((Tensor, Operation))


def _fetch_key(fetches: Any) -> Any:
    """A hashable key for a fetch structure, or None when it has no cheap key."""
    t = type(fetches)
    if t is Tensor or t is Operation or t is str:
        return fetches
    if t is list or t is tuple:
        if _LEAF_TYPES.issuperset(map(type, fetches)):
            return (t, tuple(fetches))  # the common flat case, without recursion
        parts = tuple(_fetch_key(f) for f in fetches)
        return None if None in parts else (t, parts)
    if t is dict:
        parts = tuple((k, _fetch_key(v)) for k, v in fetches.items())
        return None if any(p[1] is None for p in parts) else (t, parts)
    return None


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
        self._plans: dict[Any, RunPlan] = {}
        self._flat_plans: dict[tuple, RunPlan] = {}  # flat lists of nodes: a cheaper key
        self._plans_version = -1  # the graph version of every plan in the two caches

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

        Everything that depends only on the fetch structure and the set of fed tensors (fetch
        flattening, feed-key resolution, the missing-feed and uninitialized-variable checks) is
        done once and cached per graph version; a repeated call only validates the feed values
        and dispatches to the executor.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        feed_dict = feed_dict or {}
        plan = None
        if type(fetches) is list:  # the common case: a flat list of tensors and operations
            try:
                plan = self._flat_plans.get((tuple(fetches), tuple(feed_dict)))
            except TypeError:  # an unhashable fetch: the general path says what is wrong
                pass
        if plan is None or plan.version != self.graph.version:
            plan = self._plan(fetches, feed_dict)
        return plan.fast(feed_dict, self._state)

    def _plan(self, fetches: Any, feed_dict: dict) -> RunPlan:
        """The cached plan for this fetch structure and feed-key set; (re)made when missing or
        made for an older graph version (a failed precheck caches nothing)."""
        key = _fetch_key(fetches)
        if key is not None:
            key = (key, tuple(feed_dict))
            plan = self._plans.get(key)
            if plan is not None and plan.version == self.graph.version:
                return plan
        plan = self._make_plan(fetches, feed_dict)
        if key is not None:
            if self._plans_version != plan.version:  # the graph grew: every cached plan is stale
                self._plans, self._flat_plans = {}, {}
                self._plans_version = plan.version
            self._plans[key] = plan
            if type(fetches) is list and _LEAF_TYPES.issuperset(map(type, fetches)):
                self._flat_plans[(tuple(fetches), tuple(feed_dict))] = plan
        return plan

    def _make_plan(self, fetches: Any, feed_dict: dict) -> RunPlan:
        """Resolve fetches and feed keys and run the prechecks (the slow, cached part of run)."""
        leaves: list[Tensor | Operation] = []
        rebuild = _flatten(fetches, self.graph, leaves)
        specs = [_feed_spec(_resolve_feed_key(self.graph, k)) for k in feed_dict]
        feeds = {spec[0]: _check_feed(spec, v)
                 for spec, v in zip(specs, feed_dict.values(), strict=True)}
        tensors = list(dict.fromkeys(el for el in leaves if isinstance(el, Tensor)))
        targets = list(dict.fromkeys(el for el in leaves if isinstance(el, Operation)))
        self._precheck(tensors, targets, feeds)  # initialized variables never become uninitialized
        pos = {t: i for i, t in enumerate(tensors)}
        leaf_pos = [pos[el] if isinstance(el, Tensor) else -1 for el in leaves]
        if type(fetches) is list and len(leaves) == len(fetches) and not any(
                isinstance(f, (list, tuple, dict)) for f in fetches):  # flat: no rebuild walk
            rebuild = list
        elif isinstance(fetches, (Tensor, Operation, str)):
            rebuild = operator.itemgetter(0)
        prepare = getattr(self._executor, "prepare", None)  # optional executor fast path
        runner = prepare(self.graph, tensors, targets, [sp[0] for sp in specs]) if prepare \
            else None
        return RunPlan(self.graph.version, tensors, targets, specs, leaf_pos, rebuild, runner,
                       self._executor.run, self.graph)

    def _precheck(self, tensors: list[Tensor], targets: list[Operation],
                  feeds: dict[Tensor, np.ndarray]) -> None:
        """Missing feeds and reads of never-assigned uninitialized variables, before running."""
        order = needed_ops(tensors, targets, feeds)
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
                 if t.op.type == "VariableV2" and t not in feeds
                 and not (i == 0 and op.type == "Assign")]
        reads += [(t, t.op) for t in tensors if t.op.type == "VariableV2" and t not in feeds]
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
