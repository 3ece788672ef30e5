"""Control flow in the compiled executor: a loop (or cond) is a *region*.

A graph whose needed part holds host ops (``While``, ``If``, TensorArray ops: ``op.host``, see
:mod:`staticgraph.host_ops`) runs as a sequence of steps:

* a **compiled stage** computes the inputs of the next host op: an ordinary compiled plan of the
  same executor (``NumbaExecutor.prepare``) for (those tensors, the values known so far as feeds);
* the **host op** runs with ``prepare(graph, fetches, feed_keys)`` = the executor's compiled
  plan of that function graph, through the normal compile entry point: a loop's condition once,
  and its body followed by its condition (one *step* graph, so an iteration is one call); a body
  holding a loop is a region itself;
* a **final stage** computes the fetches and runs the targets, with the host ops' outputs fed.

The driver is the loop spec's Python loop (``LoopSpec.run``): a new trip count or sequence length
runs the same plans, it never compiles. Variable state: every step reads and commits through one
:class:`~staticgraph.host_ops.Overlay`, committed to the session at the end of a successful run.
The stages are cut at the host ops in graph (creation) order: each op runs once, in the stage
where the reference executor runs it, and what a later step needs from a stage is one of that
stage's fetches, fed on (never recomputed: a dropout mask is drawn once, an assign runs once, a
variable read sees the value the reference executor's read sees). A graph this planner cannot
split safely (a host op or an op of an earlier stage reached through a control edge, an opaque
value a compiled stage would read) runs on the reference executor for that key (logged). The CPU
and CUDA executors both drive their graphs with host ops through it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph.core import needed_ops
from ..graph.func_graph import is_opaque
from ..host_ops import Overlay, is_host_op, unwrap
from .log import note

_ALIASES = ("Identity", "StopGradient")
_REREAD = ("Const", "VariableV2")  # each stage that uses one runs it itself


class _Unsplittable(Exception):
    pass


def region_runner(ex: Any, graph: Any, fetches: list, targets: list,
                  feed_keys: list) -> RegionRunner | None:
    """A :class:`RegionRunner` when the needed graph holds host ops or opaque values, else
    ``None`` (an ordinary compiled plan runs it)."""
    order = needed_ops(fetches, targets, set(feed_keys))
    if not any(is_host_op(op) for op in order) and not any(
            is_opaque(t) for t in list(fetches) + list(feed_keys)):
        return None
    return RegionRunner(ex, graph, fetches, targets, feed_keys, order)


class RegionRunner:
    """``runner(feed_values, state) -> results`` for a graph with control flow (see above)."""

    def __init__(self, ex: Any, graph: Any, fetches: list, targets: list, feed_keys: list,
                 order: list) -> None:
        self.ex, self.graph, self.fetches, self.targets = ex, graph, fetches, targets
        self.feed_keys = feed_keys
        self._calls: dict = {}
        try:
            self.steps = self._plan(order)
        except _Unsplittable as e:
            note("control flow: %s; the reference executor runs this key", e)
            self.steps = None

    # --------------------------------------------------------------------------- plan
    def _plan(self, order: list) -> list:
        """Cut ``order`` (creation = topological order) at its host ops: the ops between two host
        ops are one stage, run exactly once, where the reference executor runs them (so a
        variable read sees the same value, and an assign or a draw happens once). A value a
        later step needs from a stage is one of that stage's fetches, fed to the later step,
        never recomputed. Consts and variable reads are the exception: a stage that uses one
        reads it itself (a read sees the value current at its consumer, as in the reference
        executor); a fetched variable is read by the stage where its node stands."""
        avail = set(self.feed_keys)  # values no stage computes: fed, host outputs, their aliases
        alias: dict = {}
        owner: dict = {}  # op -> the index of the stage that runs it
        where: dict = {}  # op -> the index of the stage its node stands in
        segments: list[list] = [[]]
        hosts: list = []  # (host op, index of the stage before it)
        for op in order:
            where[op] = len(segments) - 1
            if is_host_op(op):
                hosts.append((op, len(segments) - 1))
                segments.append([])
                avail.update(op.outputs)
            elif op.type in _ALIASES and not op.control_inputs and op.inputs[0] in avail:
                alias[op.outputs[0]] = op.inputs[0]
                avail.add(op.outputs[0])
            elif op.type not in _REREAD:
                owner[op] = len(segments) - 1
                segments[-1].append(op)
        self.alias = alias
        exports: list[dict] = [{} for _ in segments]  # what each stage hands on (ordered)

        def need(t: Any, k: int) -> None:
            """Step ``k`` (stage ``k``, or what follows stage ``k - 1``) reads ``t``."""
            while t in alias:
                t = alias[t]
            i = owner.get(t.op)
            if i is not None and i < k:
                exports[i][t] = None

        for k, seg in enumerate(segments):
            for op in seg:
                for t in op.inputs:
                    need(t, k)
        for op, k in hosts:
            for t in op.inputs:
                if t.op.type != "VariableV2":
                    need(t, k + 1)
        last = len(segments) - 1
        for t in self.fetches:
            if t.op.type == "VariableV2" and t not in avail:
                exports[where[t.op]][t] = None
            else:
                need(t, last + 1)

        steps: list = []
        done = set(avail)  # values a stage may be fed
        handed: set = set()  # values fetched from a stage
        for k, seg in enumerate(segments):
            fetch = list(exports[k])
            if k == last:
                fetch = list(dict.fromkeys(fetch + [t for t in self.fetches
                                                    if t not in done and t not in handed]))
            if k > 0:
                steps.append(("host", hosts[k - 1][0]))
            reached = set(needed_ops(fetch, [], done))
            targets = [op for op in seg if op not in reached]
            if not fetch and not targets:
                continue
            ops = set(seg)
            for op in needed_ops(fetch, targets, done):
                if op not in ops and op.type not in _REREAD:
                    what = "host op" if is_host_op(op) else "an op of an earlier stage,"
                    raise _Unsplittable(f"{what} {op.name} is needed through a control edge")
            for t in fetch + [t for op in seg for t in op.inputs]:
                if is_opaque(t):
                    raise _Unsplittable(f"compiled code would read the host value {t.name}")
            keys = [t for t in self.feed_keys if t in done]
            keys += list(dict.fromkeys(t for op in seg for t in op.inputs
                                       if t in done and t not in keys))
            keys = [t for t in keys if any(t in op.inputs for op in seg)]
            steps.append(("stage", fetch, targets, keys))
            handed.update(fetch)
            done.update(t for t in fetch if t.op.type != "VariableV2")  # read, never fed
        return steps

    # ---------------------------------------------------------------------------- run
    def _prepare(self, state: Overlay) -> Any:
        def prepare(graph: Any, fetches: list, keys: list) -> Any:
            r = self.ex.prepare(graph, list(fetches), [], list(keys))
            return lambda vals: r(vals, state)

        if self.ex.name == "numba":  # the CPU executor: a whole loop as one compiled call
            from .cpu.njit_loop import run_compiled

            prepare.loop = lambda *a: run_compiled(self.ex, state, *a)  # type: ignore[attr-defined]
        return prepare

    def __call__(self, F: list, state: Any) -> list:
        if self.steps is None:
            out = self.ex.reference().run(self.graph, self.fetches, self.targets,
                                     dict(zip(self.feed_keys, F, strict=True)), state)
            return [unwrap(v) for v in out]
        st = Overlay(state)
        vals = dict(zip(self.feed_keys, F, strict=True))
        prepare = self._prepare(st)
        for step in self.steps:
            if step[0] == "host":
                op = step[1]
                ins = [None if t.op.type == "VariableV2" else self._get(vals, t)
                       for t in op.inputs]
                vals.update(zip(op.outputs, op.host.run(ins, prepare, compiled=True),
                                strict=True))
            else:
                _, fetch, targets, keys = step
                r = self._stage(fetch, targets, keys)
                vals.update(zip(fetch, r([self._get(vals, t) for t in keys], st), strict=True))
        state.commit(st.updates)
        return [_fresh(self._get(vals, t)) for t in self.fetches]

    def _stage(self, fetch: list, targets: list, keys: list) -> Any:
        key = ("stage", tuple(fetch), tuple(targets), tuple(keys))
        r = self._calls.get(key)
        if r is None:
            r = self._calls[key] = self.ex.prepare(self.graph, fetch, targets, keys)
        return r

    def _get(self, vals: dict, t: Any) -> Any:
        while t not in vals:
            if t.op.type == "Const":  # no stage computes a Const for a host op: its value
                return t.op.params["value"]
            t = self.alias[t]
        return vals[t]


def _fresh(v: Any) -> Any:
    """A fetched value as a new array (never a feed, a variable's value or a shared host
    output); host objects pass as they are."""
    if isinstance(v, np.ndarray) or np.isscalar(v):
        return np.array(v, copy=True)
    return v


__all__ = ["region_runner", "RegionRunner"]
