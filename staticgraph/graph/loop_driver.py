"""The ``While`` op's driver: the Python loop every executor runs (``LoopSpec.run``).

Executors differ only in ``prepare(graph, fetches, feed_keys) -> fn(values) -> results``, which
makes a function graph runnable once (the reference executor interprets it; the compiler
compiles it once and returns the plan's runner). Per iteration the driver feeds the carried
values, the loop invariants, this iteration's slices and *gathered rows* (a row of a loop
invariant at a carried index: ``x[i]``/``ta.read(i)`` in a body, read here on the host instead of
by a gather in the body), and collects the carried results and the stacked outputs.

``fused``: the compiled executors run one *step* graph per iteration, the body followed by the
condition on its results (:func:`step_graph`), so an iteration is one compiled call. A
``prepare`` with a ``loop`` attribute (the CPU compiler's,
:mod:`staticgraph.compiler.cpu.njit_loop`) may run the whole loop as one compiled call instead:
``prepare.loop(spec, step, carried, inputs, sliced, first_feeds) -> (trip count, carried, stacks
as arrays)`` or ``None`` (this driver runs it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import Tensor, needed_ops
from .errors import InvalidArgumentError
from .func_graph import FuncGraph, copy_ops, is_opaque

#: ``prepare(graph, fetches, feed_keys) -> fn(values) -> results``
Prepare = Callable[[Any, list, list], Callable[[list], list]]


class Stack:
    """A loop's saved per-iteration values (an opaque host value, never an array): a list of
    arrays, or one array of rows (what the compiled loop driver saves; listed on demand)."""

    __slots__ = ("_items", "array")

    def __init__(self, items: list | None = None, array: np.ndarray | None = None) -> None:
        self._items, self.array = items, array

    @property
    def items(self) -> list:
        if self._items is None:
            self._items = list(self.array) if self.array is not None else []
        return self._items

    def __repr__(self) -> str:
        return f"<Stack of {length(self)}>"


def element(s: Any, k: int) -> Any:
    """Element ``k`` of a sliced input (an array or a :class:`Stack`)."""
    if isinstance(s, Stack):
        return s.items[k] if s.array is None else s.array[k]
    return s[k]


def length(s: Any) -> int:
    if isinstance(s, Stack):
        return len(s.items) if s.array is None else len(s.array)
    return len(s)


def _sources(spec: Any, feeds: Sequence[tuple[int, Tensor]]) -> list[tuple[str, int, Any]]:
    """How to get each feed's value: ("c", i) carried, ("k", i) invariant input, ("s", j)
    slice j, ("g", i, c) row carried[c] of input i (a gathered row)."""
    nc, nk = spec.n_carried, spec.n_captured
    out: list[tuple[str, int, Any]] = []
    for i, _ in feeds:
        out.append(("c", i, None) if i < nc else ("k", i, None) if i < nc + nk
                   else ("s", i - nc - nk, None))
    return out


def run_loop(spec: Any, inputs: Sequence[Any], prepare: Prepare, fused: bool = False) -> list:
    """Run ``While`` spec ``spec`` on ``inputs``; the outputs in the op's order."""
    nc = spec.n_carried
    carried = list(inputs[:nc])
    sliced = inputs[nc + spec.n_captured:]
    if any(s is None for s in sliced):
        raise InvalidArgumentError(None, None, f"while_loop '{spec.name}' (defined at "
                                   f"{spec.site}): a sliced input has no value")

    def values(srcs: list, t: int) -> list:
        vals = []
        for kind, i, reader in srcs:
            if kind == "c":
                vals.append(carried[i])
            elif kind == "k":
                vals.append(inputs[i])
            elif kind == "s":
                s = sliced[i]
                n = length(s)
                k = n - 1 - t if spec.reverse else t
                if not 0 <= k < n:
                    raise InvalidArgumentError(None, None, f"while_loop '{spec.name}' (defined"
                                               f" at {spec.site}): iteration {t} reads element "
                                               f"{k} of a sliced input of length {n}")
                vals.append(element(s, k))
            else:
                c, read = reader
                vals.append(read.row(inputs[i], carried[c]))
        return vals

    cond_src = _sources(spec, spec.cond_feeds)
    cond_fn = prepare(spec.cond, [spec.cond_out], [ph for _, ph in spec.cond_feeds])
    if fused:
        graph, keys, src, fetches = step_graph(spec)
    else:
        graph = spec.body
        keys = [ph for _, ph in spec.body_feeds] + [ph for _, _, ph, _ in spec.gathered]
        src = _sources(spec, spec.body_feeds) + _gathered(spec)
        fetches = list(spec.body_outs) + list(spec.stacked)
    body_fn = prepare(graph, fetches, keys)
    stacks: list[list] = [[] for _ in spec.stacked]
    ns = len(spec.stacked)
    t = 0
    go = bool(cond_fn(values(cond_src, t))[0])
    hook = getattr(prepare, "loop", None) if fused else None
    if go and hook is not None:  # the whole loop as one compiled call, where it applies
        done = hook(spec, (graph, keys, src, fetches), carried, list(inputs), list(sliced),
                    values(src, 0))
        if done is not None:
            t, carried, arrays = done
            return carried + [np.asarray(t, np.int32)] + [
                Stack(array=a) if spec.stacked_kind[k] == "list" else a
                for k, a in enumerate(arrays)]
    while go:
        outs = body_fn(values(src, t))
        carried = list(outs[:nc])
        for s, v in zip(stacks, outs[nc:nc + ns], strict=True):
            s.append(v)
        t += 1
        go = bool(outs[-1]) if fused else bool(cond_fn(values(cond_src, t))[0])
    return carried + [np.asarray(t, np.int32)] + [_finish(spec, s, k)
                                                  for k, s in enumerate(stacks)]


def _gathered(spec: Any) -> list[tuple[str, int, Any]]:
    return [("g", i, (c, read)) for i, c, _, read in spec.gathered]


def _finish(spec: Any, items: list, k: int) -> Any:
    if spec.reverse:
        items.reverse()
    if spec.stacked_kind[k] == "list":
        return Stack(items)
    if items:
        return np.stack(items)
    t = spec.stacked[k]
    shape = (0,) + tuple(0 if d is None else d for d in (t.aval.shape or ()))
    return np.zeros(shape, t.aval.dtype)


def step_graph(spec: Any) -> tuple[FuncGraph, list, list, list]:
    """The body followed by the condition on its results, as one function graph (made once per
    body/condition version): (graph, feed placeholders, their sources, fetches: the body's
    results, then the condition)."""
    key = (spec.body.version, spec.cond.version, len(spec.stacked))
    hit = spec.__dict__.get("_step")
    if hit is not None and hit[0] == key:
        return hit[1]
    g = FuncGraph(spec.body.outer, spec.name)
    tmap: dict[Tensor, Tensor] = {}
    keys, src = [], []
    feeds = [ph for _, ph in spec.body_feeds] + [ph for _, _, ph, _ in spec.gathered]
    for ph, s in zip(feeds, _sources(spec, spec.body_feeds) + _gathered(spec), strict=True):
        tmap[ph] = g.add_arg(ph.aval, "arg", is_opaque(ph))
        keys.append(tmap[ph])
        src.append(s)
    body_fetch = list(spec.body_outs) + list(spec.stacked)
    copy_ops(needed_ops(body_fetch, (), tmap), g, tmap)
    cmap: dict[Tensor, Tensor] = {}
    for i, ph in spec.cond_feeds:
        if i < spec.n_carried:
            cmap[ph] = tmap[spec.body_outs[i]]
        else:
            cmap[ph] = g.add_arg(ph.aval, "arg", is_opaque(ph))
            keys.append(cmap[ph])
            src.append(("k", i, None))
    copy_ops(needed_ops([spec.cond_out], (), cmap), g, cmap)
    fetches = [tmap[t] for t in body_fetch] + [cmap[spec.cond_out]]
    used = {t for op in g._ops for t in op.inputs} | set(fetches)
    keep = [k for k, ph in enumerate(keys) if ph in used]  # e.g. a list whose rows are fed
    out = (g, [keys[k] for k in keep], [src[k] for k in keep], fetches)
    spec.__dict__["_step"] = (key, out)
    return out


__all__ = ["Stack", "element", "length", "run_loop", "step_graph", "Prepare"]
