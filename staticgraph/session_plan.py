"""The cached per-(fetches, feed keys) part of ``Session.run``: feed validation, result
conversion, and :class:`RunPlan`, whose ``fast(feed_dict, state)`` is the per-run path
generated for exactly one fetch structure and one set of fed placeholders.

TF1's rules kept here: a feed must have the placeholder's dtype (or cast to it without changing a
value) and a compatible shape, and errors name the tensor; a 0-d result is a numpy scalar of the
tensor's dtype (Python ``bytes`` for a string), other results are writeable arrays.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from .graph.core import Graph, Tensor


def _to_output(arr: np.ndarray) -> Any:
    if arr.ndim == 0:
        if arr.dtype.kind == "S":
            return bytes(arr[()])  # TF returns Python bytes for a string scalar
        return arr[()]  # a numpy scalar of the tensor's dtype, as TF1 returns
    return arr if arr.flags.writeable else arr.copy()


# ------------------------------------------------------------------------------------- feeds
def _safe_cast(arr: np.ndarray, target: np.dtype) -> np.ndarray | None:
    """``arr`` as ``target`` when no value changes beyond float rounding, else ``None``."""
    if arr.dtype == target:
        return arr
    if target.kind == "f":
        return arr.astype(target) if arr.dtype.kind in "biuf" else None
    if arr.dtype.kind not in "biuf":
        return None
    if target.kind == "b":
        ok = np.isin(arr, (0, 1)).all() if arr.size else True
        return arr.astype(target) if ok else None
    info = np.iinfo(target)
    if arr.size == 0:
        return arr.astype(target)
    if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
        return None
    if arr.min() < info.min or arr.max() > info.max:
        return None
    return arr.astype(target)


class FeedConversionError(TypeError, ValueError):
    """A feed of strings or objects for a numeric tensor: TF raises numpy's ``ValueError``,
    staticgraph's other unsafe feeds raise ``TypeError``; this is both."""


def _feed_value(t: Tensor, value: Any) -> np.ndarray:
    if isinstance(value, Tensor) or hasattr(value, "_as_graph_tensor"):
        raise TypeError("The value of a feed cannot be a graph Tensor object. Acceptable feed "
                        "values include Python scalars, lists, and numpy ndarrays.")
    arr = np.asarray(value)
    want = t.dtype.np_dtype
    cast = _safe_cast(arr, want)
    if cast is None and arr.dtype.kind in "USO":
        raise FeedConversionError(f"Cannot feed value of dtype {arr.dtype} for Tensor "
                                  f"'{t.name}' of dtype {t.dtype.name}: the values cannot be "
                                  f"cast safely (could not convert them to {t.dtype.name}).")
    if cast is None:
        raise TypeError(f"Cannot feed value of dtype {arr.dtype} for Tensor '{t.name}' of dtype "
                        f"{t.dtype.name}: the values cannot be cast safely.")
    if not t.shape.is_compatible_with(cast.shape):
        raise ValueError(f"Cannot feed value of shape {cast.shape} for Tensor '{t.name}', which "
                         f"has shape '{t.shape}'")
    return cast


def _feed_spec(t: Tensor) -> tuple:
    """What a feed value for ``t`` is checked against: (tensor, numpy dtype, declared shape)."""
    shape = t.aval.shape
    return t, t.dtype.np_dtype, shape, shape is not None and None not in shape


def _check_feed(spec: tuple, value: Any) -> np.ndarray:
    """A validated feed value: arrays of the right dtype and shape pass without copies.
    (``shape`` is None for a placeholder of unknown rank: always the general path.) An array
    whose dtype equals but is not numpy's own object (unpickled) passes as a view with numpy's:
    the executors' identity guards (``a.dtype is float32``, ``sg_seq``'s descriptor check)
    would send it down their slow paths on every run."""
    t, dtype, shape, exact = spec
    arr = value if type(value) is np.ndarray else np.asarray(value)
    if arr.dtype == dtype and shape is not None:
        got = arr.shape
        if got == shape if exact else (len(got) == len(shape) and all(
                d is None or d == g for d, g in zip(shape, got, strict=True))):
            return arr if arr.dtype is dtype else arr.view(dtype)
    return _feed_value(t, value)  # the general path: safe casts and the error messages


class RunPlan:
    """The cached, fetch- and feed-key-dependent part of a ``Session.run``: ``fast(feed_dict,
    state)`` validates the feed values, runs (``runner``: the executor's prepared per-run path,
    else ``executor_run``) and returns the results in the fetches' structure. ``version`` and
    ``edits`` are the graph's when the plan was last checked against it."""

    __slots__ = ("version", "edits", "tensors", "targets", "feed_specs", "leaf_pos", "rebuild",
                 "runner", "fast")

    def __init__(self, graph: Graph, tensors: list, targets: list, feed_specs: list,
                 leaf_pos: list, rebuild: Callable[[list], Any],
                 runner: Callable[[list, Any], list] | None,
                 executor_run: Callable[..., list]) -> None:
        self.version, self.edits = graph.version, graph.edits
        self.tensors, self.targets = tensors, targets
        self.feed_specs, self.leaf_pos, self.rebuild = feed_specs, leaf_pos, rebuild
        self.runner = runner
        self.fast: Callable[[dict, Any], Any] = _make_fast(self, executor_run, graph)

    def restamped(self, version: int, edits: int) -> RunPlan:
        """This plan (sharing its fast path and runner), checked against a newer graph."""
        new = RunPlan.__new__(RunPlan)
        for name in RunPlan.__slots__:
            setattr(new, name, getattr(self, name))
        new.version, new.edits = version, edits
        return new


def _feed_test(i: int, spec: tuple) -> str:
    """A condition on ``v{i}`` that holds only where :func:`_check_feed` would return ``v{i}``
    itself (an ndarray of the placeholder's dtype and a compatible shape); '' when none."""
    shape = spec[2]
    if shape is None:  # unknown rank: always the general path
        return ""
    v = f"v{i}"
    test = f"type({v}) is ndarray and {v}.dtype is D{i} and "
    if spec[3]:
        return test + f"{v}.shape == S{i}"
    dims = "".join(f" and {v}.shape[{j}] == {int(d)}" for j, d in enumerate(shape)
                   if d is not None)
    return test + f"len({v}.shape) == {len(shape)}" + dims


def _output_expr(t: Any, k: int) -> str:
    """``r[k]`` as ``Session.run`` returns it, equal to ``_to_output(r[k])``; specialized by
    the tensor's static rank and dtype (a generic call for strings and unknown ranks)."""
    if t is None:
        return "None"
    shape, kind = t.aval.shape, t.dtype.np_dtype.kind
    if shape is None or kind in "SUO":
        return f"out(r{k})"
    if shape == ():
        return f"(r{k}[()] if r{k}.ndim == 0 else out(r{k}))"
    return f"(r{k} if r{k}.ndim and r{k}.flags.writeable else out(r{k}))"


def _make_fast(plan: RunPlan, executor_run: Callable[..., list],
               graph: Graph) -> Callable[[dict, Any], Any]:
    """Generate ``fast(feed_dict, state)``: the feed checks unrolled with precomputed dtypes
    and shapes (anything unusual goes through :func:`_check_feed`), the executor call and the
    conversion and placement of each result, with no per-run loops or rebuild walks."""
    ns: dict[str, Any] = {"ndarray": np.ndarray, "asarray": np.asarray, "check": _check_feed,
                          "out": _to_output, "runner": plan.runner, "run": executor_run,
                          "G": graph, "TS": plan.tensors, "TG": plan.targets,
                          "rebuild": plan.rebuild}
    n = len(plan.feed_specs)
    vs = "".join(f"v{i}, " for i in range(n))
    body = [f"    {vs}= fd.values()"] if n else []
    for i, spec in enumerate(plan.feed_specs):
        ns[f"P{i}"], ns[f"D{i}"], ns[f"T{i}"], ns[f"S{i}"] = spec, spec[1], spec[0], spec[2]
        test = _feed_test(i, spec)
        if not test:
            body.append(f"    v{i} = check(P{i}, v{i})")
            continue
        body.append(f"    if not ({test}):\n        v{i} = check(P{i}, v{i})")
        dtype = spec[1]
        if spec[2] == () and dtype.kind in "biufc" and dtype is np.dtype(dtype.type):
            ns[f"N{i}"] = dtype.type  # a numpy scalar of the dtype, ``np.float32(2.0)``: its
            body[-1] = (f"    if type(v{i}) is N{i}:\n        v{i} = asarray(v{i})\n"  # array
                        f"    el{body[-1][4:]}")  # passes the test above: no need to rerun it
    if plan.runner is not None:
        body.append(f"    r = runner([{vs}], st)")
    else:
        feeds = "".join(f"T{i}: v{i}, " for i in range(n))
        body.append(f"    r = run(G, TS, TG, {{{feeds}}}, st)")
    m = len(plan.tensors)
    if m:
        body.append(f"    {''.join(f'r{k}, ' for k in range(m))}= r")
    exprs = [_output_expr(None if k < 0 else plan.tensors[k], k) for k in plan.leaf_pos]
    if plan.rebuild is list:
        body.append(f"    return [{', '.join(exprs)}]")
    elif isinstance(plan.rebuild, operator.itemgetter) and len(exprs) == 1:
        body.append(f"    return {exprs[0]}")
    else:
        body.append(f"    return rebuild([{', '.join(exprs)}])")
    src = "def fast(fd, st):\n" + "\n".join(body) + "\n"
    exec(_compiled(src, "<staticgraph.Session.run fast path>"), ns)  # noqa: S102
    return ns["fast"]


def _compiled(src: str, filename: str) -> Any:
    """``compile(src)``, through the compiler's code cache (one compile per text, kept on
    disk) when the compiler is loaded; a session on the reference executor does not load it
    for this."""
    cache = sys.modules.get("staticgraph.compiler.code_cache")
    if cache is not None:
        return cache.compiled(src, filename)
    return compile(src, filename, "exec")
