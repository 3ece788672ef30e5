"""The whole-plan cache: a warm process skips the pass pipeline (lower, passes, fusion, memory
plan, render) for a graph it has compiled before, in this or an earlier process.

Key (:func:`plan_cache_key`): SHA-256 of a canonical listing of the subgraph the fetches and
targets need (per op in creation order: type, name, parameters -- arrays by content --, input
and control-input names, output shapes and dtypes), the fetch, target and feed names, each fed
tensor's static shape and dtype, each feed's dtype, rank and size-1 dims (the plan key's signature), the compiler's own source (every
module of ``staticgraph/compiler``, ``staticgraph/ops`` and ``staticgraph/graph``, and
``executor.py``: paths, sizes, modification times), :data:`~..diskcache.VERSION_TAG` and the environment settings the pipeline
reads. Any change to any of these is another key; a graph whose parameters have no stable text
(an object printed by address) has no key and is never cached.

Value: the :class:`~.plan.Plan` as ``build_plan`` returned it (plans with kernels only) (program, steps, memory plan,
kernel descriptors, drivers' source), pickled without its run-time state (loaded modules,
dispatchers, native kernels, instances, locks); the graph's variables and the registry's ops
are stored by name and re-bound to the live graph on load. Files live beside the kernels,
``plan_<key>.pkl`` in the cache directory (private to the user, see :mod:`..diskcache`), with
a SHA-256 of the payload in the first line: a damaged file is removed and the plan recompiled.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
from typing import Any

import numpy as np

from .. import diskcache
from ..code_cache import compiled
from ..log import STATS, note

ENABLED = os.environ.get("STATICGRAPH_PLAN_CACHE", "1") not in ("0", "off", "never")
"""``STATICGRAPH_PLAN_CACHE=0``: every plan goes through the pipeline (no files read or written)."""

_CONFIG_VARS = ("STATICGRAPH_VECTOR_BITS", "STATICGRAPH_TILE_MIN_COST", "STATICGRAPH_LLVM")
"""Environment settings the pipeline or the rendered plan depends on (part of the key)."""
_MOVES_ONLY = frozenset({"Placeholder", "VariableV2", "Const", "Assign", "NoOp", "Identity",
                         "StopGradient"})
"""Op kinds that only move values: a graph of these alone compiles no kernel, so its plan is
never saved (:func:`save`), and its key would only hash initial values (~1.5 ms per MLP)."""
_SOURCE_DIRS = ("compiler", "ops", "graph")
_PKG = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SOURCE_SHA: list[str] = []


class Uncacheable(Exception):
    """The graph holds a value without a stable canonical form: no key, no cache entry."""


def compiler_source_sha() -> str:
    """SHA-256 of the compiler's source files' paths, sizes and modification times (once per
    process: ~80 ``stat`` calls, where reading them all took 2-10 ms on a busy machine); an
    edited, added or removed file changes it."""
    if not _SOURCE_SHA:
        h = hashlib.sha256()
        files = [os.path.join(_PKG, "executor.py")]
        for d in _SOURCE_DIRS:
            for root, dirs, names in os.walk(os.path.join(_PKG, d)):
                dirs[:] = sorted(x for x in dirs if x != "__pycache__")
                files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".py")]
        n = len(_PKG) + 1  # the path below the package (``os.path.relpath`` took ~0.4 ms)
        for fp in files:
            st = os.stat(fp)
            h.update(f"{fp[n:]}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        _SOURCE_SHA.append(h.hexdigest())
    return _SOURCE_SHA[0]


_VARIABLES = __name__.rsplit(".", 3)[0] + ".variables"  # staticgraph.variables


def _canon(v: Any, out: list) -> None:
    """Append a canonical text of parameter value ``v`` to ``out`` (raises Uncacheable)."""
    from ...graph.core import Operation, Tensor

    # a Variable exists only once its module is loaded (a dynamic.compile graph has none: the
    # first key of such a process need not import it, ~2.5 ms)
    variables = sys.modules.get(_VARIABLES)
    if v is None or isinstance(v, (bool, int, float, str, bytes, complex)):
        out.append(f"{type(v).__name__}:{v!r}")
    elif isinstance(v, np.ndarray):
        a = np.ascontiguousarray(v)
        if a.dtype.hasobject:
            raise Uncacheable("an object array")
        out.append(f"nd:{a.dtype.str}:{a.shape}:{hashlib.sha256(a.view(np.uint8)).hexdigest()}"
                   if a.size else f"nd:{a.dtype.str}:{a.shape}")
    elif isinstance(v, (np.generic, np.dtype)):
        out.append(f"{type(v).__name__}:{v!r}")
    elif isinstance(v, (tuple, list)):
        out.append(f"{type(v).__name__}[")
        for x in v:
            _canon(x, out)
        out.append("]")
    elif isinstance(v, dict):
        out.append("dict{")
        for k in sorted(v, key=repr):
            out.append(repr(k))
            _canon(v[k], out)
        out.append("}")
    elif variables is not None and isinstance(v, variables.Variable):
        out.append(f"var:{v.op.name}")
    elif isinstance(v, Tensor):
        out.append(f"tensor:{v.name}")
    elif isinstance(v, Operation):
        out.append(f"op:{v.name}")
    elif isinstance(v, type):
        out.append(f"type:{v.__module__}.{v.__qualname__}")
    else:
        r = repr(v)
        if " at 0x" in r or type(v).__repr__ is object.__repr__:
            raise Uncacheable(f"a parameter of type {type(v).__name__}")
        out.append(f"{type(v).__module__}.{type(v).__qualname__}:{r}")


def plan_cache_key(fetches: list, targets: list, feeds: dict) -> str | None:
    """The key of the plan for (fetches, targets, feed signature), None if it has none (or
    could hold no kernel: only :data:`_MOVES_ONLY` ops)."""
    from ...graph.core import needed_ops

    ops = needed_ops(fetches, targets, set(feeds))
    if all(op.type in _MOVES_ONLY for op in ops):
        return None  # no kernel to save (an initializer): skip hashing its initial values
    out = [diskcache.VERSION_TAG, compiler_source_sha(), sys.version]
    out += [f"{v}={os.environ.get(v, '')}" for v in _CONFIG_VARS]
    out.append("fetches:" + ",".join(t.name for t in fetches))
    out.append("targets:" + ",".join(op.name for op in targets))
    for t, a in feeds.items():  # the fed tensor's static shape is the feed node's
        out.append(f"feed:{t.name}:{t.aval.shape}:{np.dtype(t.aval.dtype).str}:"
                   f"{np.dtype(a.dtype).str}:{np.ndim(a)}:{[d == 1 for d in np.shape(a)]}")
    try:
        for op in ops:
            out.append(f"|{op.type}:{op.name}:"
                       f"{','.join(t.name for t in op.inputs)}:"
                       f"{','.join(c.name for c in op.control_inputs)}:"
                       f"{[(t.aval.shape, np.dtype(t.aval.dtype).str) for t in op.outputs]}")
            _canon(op.params, out)
    except Uncacheable as e:
        note("no plan cache for this graph (%s)", e)
        return None
    return hashlib.sha256("\n".join(out).encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------- pickling
class _Pickler(pickle.Pickler):
    """Pickles a plan: graph variables and registry ops by name, run-time state dropped."""

    def __init__(self, f: Any, graph: Any) -> None:
        super().__init__(f, protocol=pickle.HIGHEST_PROTOCOL)
        self.graph = graph

    def persistent_id(self, obj: Any) -> Any:
        from ...graph.core import Graph, Operation, Tensor
        from ...ops.core import REGISTRY, Op
        from ...variables import Variable

        if isinstance(obj, Variable):
            try:  # the name must find it again (a loop body's graph may not hold it)
                found = self.graph.get_operation_by_name(obj.op.name).params.get("variable")
            except KeyError:
                found = None
            if found is not obj:
                raise Uncacheable(f"variable {obj.op.name} is not found by name in the graph")
            return ("var", obj.op.name)
        if isinstance(obj, Op):
            if REGISTRY.get(obj.name) is not obj:
                raise Uncacheable(f"op {obj.name} is not the registry's")
            return ("op", obj.name)
        if isinstance(obj, (Graph, Operation, Tensor)):
            raise Uncacheable(f"the plan holds a {type(obj).__name__}")
        return None

    def reducer_override(self, obj: Any) -> Any:
        from .compiled_kernel import CompiledKernel
        from .driver import Driver
        from .plan import Plan

        if type(obj) is Driver:  # its ``fn`` is generated: made again from its source
            return (_driver, ({k: v for k, v in vars(obj).items() if k != "fn"},))
        if type(obj) is CompiledKernel:
            return (CompiledKernel, (obj.step, obj.source, obj.module_source, obj.hash,
                                     obj.path, obj.parallel_ok, obj.argspec, obj.reason))
        if type(obj) is Plan:
            return (_plan, (obj.prog, obj.steps, obj.mem, obj.kernel_list, obj.driver,
                            obj.compile_seconds, obj.trace, obj.njit_src, obj.reason))
        if isinstance(obj, np.dtype) and _builtin(obj):
            return (np.dtype, (obj.str,))
        if type(obj) is np.ndarray and _builtin(obj.dtype):
            return (_array, (obj.dtype.str, obj.shape, np.ascontiguousarray(obj).tobytes()))
        return NotImplemented


def _builtin(dt: np.dtype) -> bool:
    """Whether ``np.dtype(dt.str)`` is numpy's own object (booleans, numbers, dates of native
    byte order). An unpickled dtype, and every array made from one, holds a fresh object
    instead, which identity guards (``a.dtype is float32``: the session's and
    ``dynamic.compile``'s fast paths) never match: those are stored by their text."""
    return dt.names is None and dt.subdtype is None and np.dtype(dt.str).isbuiltin == 1


def _array(dtype: str, shape: tuple, data: bytes) -> np.ndarray:
    """An owned, writeable, C-contiguous array of numpy's own dtype object."""
    return np.frombuffer(data, np.dtype(dtype)).reshape(shape).copy()


def _driver(state: dict) -> Any:
    from .driver import Driver

    d = Driver.__new__(Driver)
    vars(d).update(state)
    ns = {"np": np}
    exec(compiled(d.source, "<staticgraph driver>"), ns)  # noqa: S102
    d.fn = ns["run"]
    return d


def _plan(*fields: Any) -> Any:
    from .plan import Plan

    return Plan(*fields)


class _Unpickler(pickle.Unpickler):
    def __init__(self, f: Any, graph: Any) -> None:
        super().__init__(f)
        self.graph = graph

    def persistent_load(self, pid: Any) -> Any:
        kind, name = pid
        if kind == "var":
            return self.graph.get_operation_by_name(name).params["variable"]
        if kind == "op":
            from ...ops.core import REGISTRY

            return REGISTRY[name]
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")


def _path(key: str) -> str:
    return os.path.join(diskcache.cache_dir(), f"plan_{key}.pkl")


def save(key: str, plan: Any, graph: Any) -> bool:
    """Write ``plan`` (fresh from ``build_plan`` for ``graph``) under ``key``; False if it
    cannot be pickled (then every process compiles it)."""
    if not plan.kernel_list:  # nothing compiled (an initializer): the pipeline is ~1 ms, while
        return False  # its constants (initial values) would make a large file to read back
    buf = io.BytesIO()
    try:
        _Pickler(buf, graph).dump(plan)
    except (Uncacheable, pickle.PicklingError, TypeError, AttributeError) as e:
        note("plan not cached (%s: %s)", type(e).__name__, str(e)[:200])
        return False
    data = buf.getvalue()
    try:
        diskcache.write_atomic(_path(key), diskcache.sha256(data).encode() + b"\n" + data)
    except OSError as e:
        note("plan cache not written (%s)", e)
        return False
    return True


def load(key: str, graph: Any) -> Any | None:
    """The plan saved under ``key``, bound to ``graph``'s variables; None on a miss. A file
    that fails its checksum or does not unpickle is removed (and the caller recompiles)."""
    path = _path(key)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    head, _, data = raw.partition(b"\n")
    try:
        if head.decode() != diskcache.sha256(data):
            raise ValueError("checksum mismatch")
        plan = _Unpickler(io.BytesIO(data), graph).load()
    except Exception as e:  # noqa: BLE001 - any damage means: recompile, never run it
        STATS["rebuilt"] += 1
        note("plan cache entry %s was corrupt (%s: %s): recompiling", path, type(e).__name__, e)
        try:
            os.remove(path)
        except OSError:
            pass
        return None
    from . import jit

    for ck in plan.kernel_list:  # each module file checked (rewritten if damaged or gone)
        h, ck.path = jit.write_source(ck.module_source)  # as the pipeline's plan does
        if h != ck.hash:
            return None
    _advance_node_ids(plan)
    return plan


def _advance_node_ids(plan: Any) -> None:
    """Nodes created from now on get ids above the loaded plan's (ids key its tables)."""
    from .. import ir

    top = max((n.id for n in plan.prog.nodes), default=-1)
    nxt = next(ir._ids)
    if nxt <= top:
        import itertools

        ir._ids = itertools.count(top + 1)
