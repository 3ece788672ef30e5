"""``NumbaExecutor``: the Executor protocol (docs/guarantees.md) on top of the compiler.

Per run: one tuple key (fetches, targets, feed dtypes and shapes) -> a bound :class:`Instance`,
variables read from the store, the generated driver called, updates committed once at the end.
A miss on that key looks up the size-independent plan key (fetch/targets, feed dtypes, ranks and
size-1 patterns): a batch-size change binds new buffers but never recompiles. Anything the
compiler cannot handle raises at plan time and that key falls back to the reference executor
(logged), so every graph runs.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from ...graph.errors import FailedPreconditionError, InvalidArgumentError, OpError
from ..fusion import fuse
from ..lower import lower
from ..memory import plan_memory
from ..passes import Context, optimize
from . import jit
from .plan import Plan, build_plan


class NumbaExecutor:
    """Compiles each (fetches, feed signature) once and runs it as generated numba code."""

    name = "numba"

    def __init__(self, native_only: bool = False) -> None:
        self.native_only = native_only  # kernels as saved machine code only (tests)
        self._fast: dict = {}
        self._plans: dict = {}
        self._runners: dict = {}
        self._lock = threading.RLock()
        self.compiles = 0  # plans built (each logged with its reason)
        self._reference = None

    # ------------------------------------------------------------------------------- run
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
            if r is None:
                r = Runner(self, graph, list(fetches), list(targets), list(feed_keys))
                self._runners[key] = r
        return r

    def _ref(self) -> Any:
        if self._reference is None:
            from ...executor import ReferenceExecutor

            self._reference = ReferenceExecutor()
        return self._reference

    def _bind(self, graph: Any, fetches: list, targets: list, feeds: dict, fk: tuple) -> Any:
        for t, a in list(feeds.items()):
            if type(a) is not np.ndarray:
                feeds[t] = np.asarray(a)
        pk = (graph, graph.version, tuple(fetches), tuple(targets),
              tuple((t, a.dtype, tuple(d == 1 for d in a.shape)) for t, a in feeds.items()))
        with self._lock:
            plan = self._plans.get(pk)
            if plan is None:
                reason = "first run of these fetches/feed signature"
                if any(k[:4] == pk[:4] for k in self._plans):
                    reason = "new feed dtypes/ranks/size-1 pattern"
                plan = self._compile(graph, fetches, targets, feeds, reason)
                self._plans[pk] = plan
            if plan == "reference":
                inst = "reference"
            else:
                inst = plan.instance(tuple(a.shape for a in feeds.values()))
            try:
                self._fast[fk] = inst
            except TypeError:
                pass
            return inst

    def _compile(self, graph: Any, fetches: list, targets: list, feeds: dict,
                 reason: str) -> Plan | str:
        t0 = time.perf_counter()
        try:
            plan = compile_plan(fetches, targets, feeds, reason, t0)
        except Exception as e:  # unsupported graph: the reference executor still runs it
            jit.note("cannot compile (%s: %s): using the reference executor for this key",
                     type(e).__name__, e)
            return "reference"
        self.compiles += 1
        plan.native_only = self.native_only
        jit.note("plan for %d fetch(es), %d target(s): %d kernel(s), compile %.3fs (%s)",
                 len(fetches), len(targets), len(plan.kernel_list), plan.compile_seconds, reason)
        return plan

    def plan_for(self, graph: Any, fetches: list, targets: list, feeds: dict) -> Plan | str:
        fk = (graph, graph.version, tuple(fetches), tuple(targets),
              tuple((t, a.dtype, a.shape) for t, a in feeds.items()))
        inst = self._fast.get(fk) or self._bind(graph, fetches, targets, feeds, fk)
        return inst if inst == "reference" else inst.plan


def compile_plan(fetches: list, targets: list, feeds: dict, reason: str = "explicit",
                 t0: float | None = None) -> Plan:
    """Lower, optimize, fuse, plan memory and compile: the whole pipeline for one key."""
    t0 = time.perf_counter() if t0 is None else t0
    prog = lower(fetches, targets, list(feeds))
    trace: list = [("lowered", 0, prog.text())]
    ctx = Context([tuple(1 if d == 1 else 0 for d in np.shape(a)) for a in feeds.values()])
    optimize(prog, ctx, trace)
    steps = fuse(prog)
    mem = plan_memory(prog, steps)
    return build_plan(prog, steps, mem, reason, trace, t0)


class Runner:
    """The per-run path for one (graph, fetches, targets, feed tensors): feed shapes and
    dtypes -> a bound instance's generated ``call`` (one dict lookup), run it, map errors."""

    def __init__(self, ex: NumbaExecutor, graph: Any, fetches: list, targets: list,
                 feed_keys: list) -> None:
        self.ex, self.graph, self.fetches, self.targets = ex, graph, fetches, targets
        self.feed_keys = feed_keys
        self.calls: dict = {}
        n = len(feed_keys)
        sig = "".join(f"F[{i}].shape, F[{i}].dtype, " for i in range(n))
        ns: dict = {}
        exec(f"def sig(F):\n    return ({sig})\n", ns)
        self.sig = ns["sig"]
        self.prog = None

    def __call__(self, F: list, state: Any) -> list:
        try:
            call = self.calls.get(self.sig(F))
        except (AttributeError, TypeError):  # a feed that is not an ndarray
            call = None
        if call is None:
            call = self._bind(F)
        if call is _REF:
            return self.ex._ref().run(self.graph, self.fetches, self.targets,
                                      dict(zip(self.feed_keys, F, strict=True)), state)
        S = getattr(state, "view", state)
        try:
            return call(F, S, state.commit)
        except KeyError:
            self._uninitialized(state)
            raise
        except TypeError as e:
            if "no matching definition" not in str(e).lower():
                raise self._failure(F, state, e) from e
            # an argument of another layout (non-contiguous, read-only): normalize and retry
            F2 = [np.require(a, requirements=("C", "W")) for a in F]
            S2 = _Contiguous(S)
            try:
                return call(F2, S2, state.commit)
            except OpError:
                raise
            except Exception as e2:
                raise self._failure(F, state, e2) from e2
        except OpError:
            raise
        except Exception as e:
            raise self._failure(F, state, e) from e

    def _failure(self, F: list, state: Any, e: Exception) -> OpError:
        return reference_error(self.ex._ref(), self.graph, self.fetches, self.targets,
                               dict(zip(self.feed_keys, F, strict=True)), state, e)

    def _bind(self, F: list) -> Any:
        F[:] = [a if type(a) is np.ndarray else np.asarray(a) for a in F]
        feeds = dict(zip(self.feed_keys, F, strict=True))
        fk = (self.graph, self.graph.version, tuple(self.fetches), tuple(self.targets),
              tuple((t, a.dtype, a.shape) for t, a in feeds.items()))
        inst = self.ex._fast.get(fk) or self.ex._bind(self.graph, self.fetches, self.targets,
                                                      feeds, fk)
        if inst == "reference":
            call = _REF
        else:
            if inst.tier == "native":  # re-point this cache when it hands over to numba
                inst.subscribe(self._retarget)
            call = inst.call
            self.prog = inst.plan.prog
        self.calls[self.sig(F)] = call
        return call

    def _retarget(self, old: Any, new: Any) -> None:
        for k, v in list(self.calls.items()):
            if v is old:
                self.calls[k] = new
        # CPython's specializing interpreter (3.11+) may keep the call site above specialized
        # for the native tier's function and miss on every run after the hand-over (measured
        # 2.3 us instead of 1.6 per run in about one process of four); a fresh code object
        # starts unspecialized
        fn = Runner.__call__
        fn.__code__ = fn.__code__.replace()

    def _uninitialized(self, state: Any) -> None:
        if self.prog is None:
            return
        for v, _ in self.prog.variables:
            if v not in state:
                msg = f"Attempting to use uninitialized value {v.op.name}"
                raise FailedPreconditionError(None, v.op, msg) from None


_REF = object()  # a key the compiler cannot handle: the reference executor runs it


def reference_error(ref: Any, graph: Any, fetches: list, targets: list, feeds: dict,
                    state: Any, e: Exception) -> OpError:
    """The error of a failed compiled run (a bad label, an empty max...). A kernel cannot
    say which graph op it ran for, so the reference executor ``ref`` runs the same feeds on the
    same variable values, committing nothing: its error names the op and says what is wrong
    exactly as ``Session(executor="reference")`` does. When it does not fail (a compiler
    fault), the compiled error ``e`` is reported as it is."""
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


class _Contiguous:
    """A read view of the variable values as C-contiguous, writeable arrays."""

    def __init__(self, S: Any) -> None:
        self.S = S

    def __getitem__(self, v: Any) -> np.ndarray:
        return np.require(self.S[v], requirements=("C", "W"))
