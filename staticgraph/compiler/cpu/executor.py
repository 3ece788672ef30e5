"""``NumbaExecutor``: the Executor protocol (docs/guarantees.md) on the CPU backend.

Per run: one tuple key (fetches, targets, feed dtypes and shapes) -> a bound
:class:`~.instance.Instance`'s generated ``call``, which reads the variables, runs the driver
and commits the updates once at the end. A miss binds the plan of the size-independent plan
key to the new shapes (a batch-size change never recompiles); plans, fallbacks to the reference
executor and failed runs are the base's (:mod:`..executor_base`).
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ...graph.errors import OpError
from ..code_cache import compiled
from ..executor_base import MAX_PLANS, REFERENCE, CompilingExecutor, remember
from ..log import note
from ..regions import region_runner
from . import plan_cache
from .plan import Plan, build_plan

if TYPE_CHECKING:
    from ..pipeline import Schedule

MAX_CALLS = 64
"""Feed-shape signatures a runner maps straight to their ``call`` (oldest out first)."""


class NumbaExecutor(CompilingExecutor):
    """Compiles each (fetches, feed signature) once and runs it as generated numba code."""

    name = "numba"

    def __init__(self, native_only: bool = False, llvm_only: bool | str = False) -> None:
        super().__init__()
        self.native_only = native_only  # kernels as saved machine code only (tests)
        # kernels from the LLVM renderer where it covers them (tests; "quick": quick kernels,
        # also for every llvm_only executor when STATICGRAPH_TEST_LLVM_QUICK=1: the fuzzer)
        if llvm_only is True and os.environ.get("STATICGRAPH_TEST_LLVM_QUICK") == "1":
            llvm_only = "quick"
        self.llvm_only = llvm_only
        self._runners: dict = {}  # at most MAX_PLANS (remember)
        self.plan_loads = 0  # plans read from the whole-plan cache (counted in ``compiles``)

    def build(self, schedule: Schedule, reason: str) -> Plan:
        plan = build_plan(schedule, reason)
        plan.native_only = self.native_only
        plan.llvm_only = self.llvm_only
        return plan

    def _compile(self, fetches: list, targets: list, feeds: dict, reason: str) -> Any:
        """The plan from the whole-plan cache (:mod:`.plan_cache`: no pipeline), else the
        pipeline's, saved there for the next process."""
        roots = list(fetches) + list(targets)
        key = (plan_cache.plan_cache_key(fetches, targets, feeds)
               if plan_cache.ENABLED and roots else None)
        if key is not None:
            t0 = time.perf_counter()
            graph = roots[0].graph
            plan = plan_cache.load(key, graph)
            if plan is not None:
                plan.native_only, plan.llvm_only = self.native_only, self.llvm_only
                plan.compile_seconds = time.perf_counter() - t0
                self.compiles += 1
                self.plan_loads += 1
                note("plan for %d fetch(es), %d target(s): %d kernel(s), loaded from the plan "
                     "cache in %.3fs (%s)", len(fetches), len(targets), plan.kernel_count,
                     plan.compile_seconds, reason)
                return plan
        plan = super()._compile(fetches, targets, feeds, reason)
        if key is not None and plan is not REFERENCE:
            plan_cache.save(key, plan, roots[0].graph)
        return plan

    def run(self, graph: Any, fetches: list, targets: list, feeds: dict, state: Any) -> list:
        key = (graph, graph.version, tuple(fetches), tuple(targets), tuple(feeds))
        r = self._runners.get(key)
        if r is None:
            r = self.prepare(graph, fetches, targets, list(feeds))
        return r(list(feeds.values()), state)

    def prepare(self, graph: Any, fetches: list, targets: list, feed_keys: list) -> Runner:
        """A callable ``runner(feed_values, state) -> results`` for these fetches, targets and
        feed tensors (in this order): the per-run path with the key work done once. A
        Session may keep it and call it directly (its own fast path)."""
        key = (graph, graph.version, tuple(fetches), tuple(targets), tuple(feed_keys))
        with self._lock:
            r = self._runners.get(key)
            if r is None:  # a graph with control flow: a driver over compiled plans
                r = region_runner(self, graph, list(fetches), list(targets), list(feed_keys)) \
                    or Runner(self, graph, list(fetches), list(targets), list(feed_keys))
                remember(self._runners, key, r, MAX_PLANS)
        return r


class Runner:
    """The per-run path for one (graph, fetches, targets, feed tensors): feed shapes and
    dtypes -> a bound instance's generated ``call`` (one dict lookup), run it, map errors."""

    def __init__(self, ex: NumbaExecutor, graph: Any, fetches: list, targets: list,
                 feed_keys: list) -> None:
        self.ex, self.graph, self.fetches, self.targets = ex, graph, fetches, targets
        self.feed_keys = feed_keys
        self.calls: dict = {}
        self.bound: dict = {}  # the same signatures -> their Instance (or REFERENCE)
        self._lock = threading.Lock()
        n = len(feed_keys)
        sig = "".join(f"F[{i}].shape, F[{i}].dtype, " for i in range(n))
        ns: dict = {}  # (the code object is compiled once per feed count: code_cache)
        exec(compiled(f"def sig(F):\n    return ({sig})\n", "<staticgraph sig>"), ns)  # noqa: S102
        self.sig = ns["sig"]

    def __call__(self, F: list, state: Any) -> list:
        try:
            call = self.calls.get(self.sig(F))
        except (AttributeError, TypeError):  # a feed that is not an ndarray
            call = None
        if call is None:
            call = self._bind(F)
        if call is REFERENCE:
            return self.ex.reference().run(self.graph, self.fetches, self.targets,
                                           dict(zip(self.feed_keys, F, strict=True)), state)
        S = getattr(state, "view", state)
        try:
            return call(F, S, state.commit)
        except TypeError as e:
            if "no matching definition" not in str(e).lower():
                raise self._failure(F, state, e) from e
            # an argument of another layout (non-contiguous, read-only): normalize and retry
            F2 = [np.require(a, requirements=("C", "W")) for a in F]
            try:
                return call(F2, _Contiguous(S), state.commit)
            except Exception as e2:
                raise self._failure(F, state, e2) from e2
        except Exception as e:
            raise self._failure(F, state, e) from e

    def _failure(self, F: list, state: Any, e: Exception) -> OpError:
        """A failed run (a kernel's error, an uninitialized variable): the reference's error
        for the same feeds and variable values, naming the op and the user's line."""
        return self.ex.failure(self.graph, self.fetches, self.targets,
                               dict(zip(self.feed_keys, F, strict=True)), state, e)

    def _bind(self, F: list) -> Any:
        F[:] = [a if type(a) is np.ndarray else np.asarray(a) for a in F]
        feeds = dict(zip(self.feed_keys, F, strict=True))
        inst = self.ex.instance_for(self.graph, self.fetches, self.targets, feeds)
        if inst is REFERENCE:
            call = REFERENCE
        else:
            if inst.tier == "native":  # re-point this cache when it hands over to numba
                inst.subscribe(self._retarget)
            call = inst.call
        with self._lock:  # a stream of batch sizes: the oldest signature goes
            remember(self.calls, self.sig(F), call, MAX_CALLS)
            remember(self.bound, self.sig(F), inst, MAX_CALLS)
        return call

    def instance(self, F: list) -> Any:
        """The bound instance that runs feeds of ``F``'s shapes and dtypes (after a run with
        them), ``None`` when there is none (not run yet, or the reference executor runs them):
        its :meth:`~.instance.Instance.taker` lets a caller keep results as its own storage."""
        inst = self.bound.get(self.sig(F))
        return None if inst is None or inst is REFERENCE else inst

    def _retarget(self, old: Any, new: Any) -> None:
        with self._lock:
            for k, v in list(self.calls.items()):
                if v is old:
                    self.calls[k] = new
        # CPython's specializing interpreter (3.11+) may keep the call site above specialized
        # for the native tier's function and miss on every run after the hand-over (measured
        # 2.3 us instead of 1.6 per run in about one process of four); a fresh code object
        # starts unspecialized
        fn = Runner.__call__
        fn.__code__ = fn.__code__.replace()


class _Contiguous:
    """A read view of the variable values as C-contiguous, writeable arrays."""

    def __init__(self, S: Any) -> None:
        self.S = S

    def __getitem__(self, v: Any) -> np.ndarray:
        return np.require(self.S[v], requirements=("C", "W"))
