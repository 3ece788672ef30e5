"""``CompiledFunction``: the per-function cache of captured plans, its guards and its fallbacks.

A call's *key* is the grad mode, the structure of the arguments with their non-tensor values, and
each input tensor's dtype, rank and ``requires_grad``. Under one key live the plans captured so
far (:class:`CompiledCall`), each valid for some input shapes (``None``: any size) and while the
Python values it read (module flags and scalar attributes, scalar globals and closure cells) and
the values it branched on (:class:`.plan.GuardFailed`) are the same. A miss captures again (a
*recompile*, logged with its reason). A key whose capture found something a graph cannot replay
(:mod:`.effects`, :class:`.capture.Capture` reasons) runs eagerly from then on (a *graph break*,
logged with the reason and the user's line).

Sizes: with ``dynamic=None`` a plan first holds exact shapes; a call with other sizes captures
with those dims symbolic and keeps the symbolic plan only if the capture built the same graph
(else the function specializes on sizes: one plan per shape). ``dynamic=True`` starts
symbolic (checked the same way on the first new size); ``dynamic=False`` never generalizes.
"""

from __future__ import annotations

import types
from typing import Any

from staticgraph.graph.errors import InvalidArgumentError

from .. import _logging
from .._fast_path import ENABLED as FAST_PATH
from .._tensor import Tensor
from ..autograd.forward_ad_engine import LEVELS
from ..autograd.grad_mode import GRAD_ENABLED
from ..nn.modules import Module
from . import capture_result, identity, rollback
from .call import CompiledCall
from .capture import EAGER, TRACER, Capture, CompileError, user_site
from .deferred import first_run, settle
from .effects import EffectWatch
from .fastpath import MISS, _guard_ok
from .fastpath import build as build_fast
from .plan import GuardFailed, Plan
from .step import StepCapture
from .structure import flatten
from .traced_array import ACTIVE

CACHE_SIZE_LIMIT = 8
_SIMPLE = (bool, int, float, str, type(None))


def code_owner(fn: Any) -> Any:
    """The Python function whose code and globals a call of ``fn`` runs (a module: forward)."""
    if hasattr(fn, "__code__"):
        return fn
    fwd = getattr(type(fn), "forward", None)
    return fwd if hasattr(fwd, "__code__") else fn


def _py_guards(fn: Any, modules: list) -> list[tuple[Any, Any, Any]]:
    """(dict, key, value) for each simple Python value the function may have read."""
    out = []
    fn = code_owner(fn)
    code = getattr(fn, "__code__", None)
    g = getattr(fn, "__globals__", {})
    for n in code.co_names if code is not None else ():
        if n in g and type(g[n]) in _SIMPLE:
            out.append((g, n, g[n]))
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            v = cell.cell_contents
        except ValueError:
            continue
        if type(v) in _SIMPLE:
            out.append((cell, None, v))
    for m in modules:
        for k, v in m.__dict__.items():
            if type(v) in _SIMPLE:
                out.append((m.__dict__, k, v))
    return out


class _Entry:
    def __init__(self) -> None:
        self.calls: list[CompiledCall] = []
        self.eager: str | None = None


class CompiledFunction:
    """The callable ``dynamic.compile`` returns for a function (module docstring)."""

    def __init__(self, fn: Any, fullgraph: bool = False, dynamic: bool | None = None,
                 module: Module | None = None) -> None:
        self.fn = fn
        self.fullgraph = fullgraph
        self.dynamic = dynamic
        self.module = module
        self.cache: dict[Any, _Entry] = {}
        self.n_plans = 0
        self._hot: Any = None  # the fast path of the plan the last call ran (fastpath.py)
        self._hot_call: CompiledCall | None = None  # and that plan
        self.break_reasons: list[str] = []
        self._kernel_break = False  # a call a kernel check rejected ran eagerly (logged once)
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn
        _warm_compiler()

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        """A compiled method (``@torch.compile`` above ``def forward(self, x)``): bound to the
        instance, which is then an argument of the call (its module attributes guarded)."""
        return self if obj is None else types.MethodType(self, obj)

    # ------------------------------------------------------------------ the call path
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if ACTIVE[0] is not None or LEVELS:  # inside an outer capture: inline it; forward AD
            return self.fn(*args, **kwargs)  # (a dual level is open): eager, tangents and all
        hot = self._hot
        if hot is not None and not kwargs:
            try:
                out = hot(args)
            except InvalidArgumentError as e:
                return self._kernel_error(e, self._hot_call, args, kwargs)
            if out is not MISS:
                return out
        tensors: list = []
        try:
            struct = flatten((args, kwargs), tensors)
        except TypeError:
            self._break(None, "an argument is not hashable (a list of tensors is fine, a set "
                              "or an object is not)")
            return self.fn(*args, **kwargs)
        key = (GRAD_ENABLED[0], struct, tuple((t._data.dtype, t._data.ndim, t._requires_grad)
                                              for t in tensors))
        entry = self.cache.get(key)
        if entry is None:
            entry = self.cache[key] = _Entry()
        if entry.eager is not None:
            return self.fn(*args, **kwargs)
        why = "first call" if not self.n_plans else "no plan for these dtypes/ranks/" \
                                                    "requires_grad/grad mode"
        for call in entry.calls:
            if not call.matches(tensors):
                why = "input sizes changed"
                continue
            bad = _guard_ok(call.py_guards) or identity.failed(call.id_checks)
            if bad is not None:
                why = bad
                continue
            try:
                out = call.run(tensors)
            except GuardFailed as e:
                why = str(e) or f"a guarded value changed ({', '.join(call.guard_text)})"
                continue
            except InvalidArgumentError as e:
                return self._kernel_error(e, call, args, kwargs)
            if call.fast is None:
                call.fast = build_fast(call, struct, tuple(
                    (type(t), t._data.dtype, t._data.ndim, t._requires_grad) for t in tensors),
                    GRAD_ENABLED[0]) or False
            self._hot, self._hot_call = call.fast or None, call
            return out
        return self._capture(entry, struct, tensors, args, kwargs, why)

    def _kernel_error(self, e: Exception, call: CompiledCall, args: tuple, kwargs: dict) -> Any:
        """A run of ``call``'s plan failed in a kernel's check (a class label out of range,
        ``-100`` met by a plan captured from labels without it, an index past the end) before
        anything was written: this call runs eagerly, so eager's error is raised at the user's
        line with eager's message, and the writes eager made before it (``zero_grad``...) are
        undone (:mod:`.rollback`: parameters and ``.grad`` as the failing run left them); for
        ``-100`` (``ignore_index``) eager masks those rows and its result stands. Logged as a
        graph break on the first occurrence; the plan stays for later calls."""
        if not self._kernel_break:
            self._kernel_break = True
            why = "class labels equal to ignore_index (-100) in a call of a plan captured " \
                  "from labels without them" if "Target -100 is out of bounds" in str(e) else \
                  f"a kernel of the compiled plan rejected this call's values ({_first_line(e)})"
            self._break(None, f"{why} (such calls run eagerly)")
        saved = rollback.save(call, _tensors(args, kwargs)) if call is not None else []
        try:
            return self.fn(*args, **kwargs)
        except BaseException:
            rollback.restore(saved)
            raise

    def _symbolic(self, entry: _Entry, tensors: list) -> list[set[int]]:
        if self.dynamic is False:
            return [set() for _ in tensors]
        if self.dynamic is True and not entry.calls:
            return [set(range(t._data.ndim)) for t in tensors]
        if not entry.calls:
            return [set() for _ in tensors]
        prev = entry.calls[-1]
        sym = [set() for _ in tensors]
        for i, s in zip(prev.input_pos, prev.spec, strict=True):
            sym[i] = {d for d, (a, b) in enumerate(zip(s, tensors[i]._data.shape, strict=True))
                      if a is None or a != b}
        return sym

    def _capture(self, entry: _Entry, struct: Any, tensors: list, args: tuple, kwargs: dict,
                 why: str) -> Any:
        if self.n_plans >= CACHE_SIZE_LIMIT:
            self._break(entry, f"cache_size_limit ({CACHE_SIZE_LIMIT}) reached; last reason: "
                               f"{why}")
            return self.fn(*args, **kwargs)
        if self.n_plans:
            _logging.RECOMPILES.info("Recompiling function %s in %s\n    triggered by: %s",
                                     self.__name__, _where(self.fn), why)
        sym = self._symbolic(entry, tensors)
        modules = list(self.module.modules()) if self.module is not None else [
            m for a in args if isinstance(a, Module) for m in a.modules()]  # a method's self
        cap = Capture(self.fullgraph)
        cap.step = StepCapture(cap)
        result = None
        outputs: list = []
        effects: list = []
        grad_guards: list = []
        ACTIVE[0] = cap
        Tensor.__sg_frontend__ = TRACER
        FAST_PATH[0] = False  # the eager fast path skips the frontend: every op must reach TRACER
        try:
            for t, s in zip(tensors, sym, strict=True):
                cap.add_input(t, s)
            with EffectWatch(code_owner(self.fn), modules, cap.step) as watch:
                result = self.fn(*args, **kwargs)
            cap.check_unchanged()
            cap.check_saved()
            out_spec, outputs, out_grad = capture_result.outputs(cap, result, tensors)
            if not cap.reasons:
                effects, grad_guards = capture_result.effects(cap)
        except BaseException:
            if cap.deferred is not None:  # whoever sees the tensors the function made
                cap.deferred.flush()
            raise
        finally:
            Tensor.__sg_frontend__ = EAGER
            FAST_PATH[0] = True
            ACTIVE[0] = None
            cap.restore()
        reasons = cap.reasons + watch.finish(result)
        if effects and not cap.step.active and any(out_grad):
            reasons.append("an in-place write to a captured tensor in a function whose outputs "
                           "need a gradient")
        cap.step.active = cap.step.active or bool(effects)
        if not reasons and not outputs and not cap.step.active:
            reasons.append("no tensor is computed from the inputs (nothing to compile)")
        lazy = settle(cap, result, reasons, effects)  # values from the plan (pending.py)
        if reasons:
            if self.fullgraph:
                raise CompileError(f"dynamic.compile(fullgraph=True): {reasons[0]}")
            self._break(entry, "; ".join(reasons))
            cap.release()
            return result
        if cap.step.active:
            out_grad = [False] * len(out_grad)
        extras: list = []
        effects = [(kind, obj, arg, capture_result.extra_index(extras, g))
                   for kind, obj, arg, g in effects]
        sc = cap.step
        feeds = [g for _, g in cap.inputs] + [g for _, g, _ in cap.externals] + [
            g for g in sc.state_in.values() if g is not None] + [g for _, g in sc.host]
        plan = Plan(cap.graph, feeds, outputs, cap.guards, extras)
        fetched = list(outputs) + extras
        effects = [(kind, obj, arg, idx, idx >= 0 and (
            extras[idx].op.type in ("Placeholder", "Const") or fetched.count(extras[idx]) > 1))
            for kind, obj, arg, idx in effects]
        pos = {id(t): i for i, t in enumerate(tensors)}
        input_pos = [pos[id(t)] for t, _ in cap.inputs]
        spec = tuple(tuple(g.aval.shape) for _, g in cap.inputs)
        call = CompiledCall(self, cap, plan, spec, input_pos, out_spec, out_grad, struct,
                            _py_guards(self.fn, modules), effects, grad_guards)
        call.shape = tuple(tensors[i]._data.shape for i in input_pos)
        call.id_checks = identity.collect(
            code_owner(self.fn), {id(d[1]): d[1] for d in call.desc if d[0] == "fixed"},
            list(sc.opts.values()))
        pos_of = {id(t): k for k, (t, _) in enumerate(cap.inputs)}
        call.leaf_map = [pos_of[id(t)] for t in tensors]
        if lazy:
            result, bad = first_run(call, cap, tensors, result)
        else:
            bad = capture_result.first_run_check(call, cap, tensors, result)
        cap.release()
        if bad is not None:
            self._break(entry, bad)
        else:
            self._add(entry, call)
        return result

    def _add(self, entry: _Entry, call: CompiledCall) -> None:
        """Keep ``call``; a symbolic plan becomes general when a capture at other sizes built
        the same graph (else the function specializes on sizes: plans per shape)."""
        for old in entry.calls:
            if old.signature != call.signature or len(old.spec) != len(call.spec):
                continue
            if old.symbolic and not old.general:
                old.general = True  # dynamic=True: the first plan holds for these sizes too
                return
            if call.symbolic:
                call.general = True  # automatic dynamic: one symbolic plan for all sizes
                entry.calls.insert(0, call)
                self.n_plans += 1
                return
        entry.calls.append(call)
        self.n_plans += 1

    def _break(self, entry: _Entry | None, reason: str) -> None:
        if entry is not None:
            entry.eager = reason
        self.break_reasons.append(reason)
        _logging.GRAPH_BREAKS.info("Graph break in %s (%s): the call runs eagerly: %s",
                                   self.__name__, _where(self.fn), reason)

    def slot_of(self, t: Tensor) -> tuple | None:
        """``(dict, name)`` of the module slot holding captured tensor ``t`` (looked up at each
        call, so a reassigned parameter is seen), else ``None`` (``t`` itself is fed)."""
        if self.module is not None:
            for m in self.module.modules():
                for key in ("_parameters", "_buffers"):
                    for name, v in m.__dict__[key].items():
                        if v is t:
                            return m.__dict__[key], name
        return None


def _warm_compiler() -> None:
    """Load what every first compile needs once per process (the machine-code cache's host
    key: llvmlite's binding, ~20 ms) when a function is wrapped, not inside its first call;
    the static mode pays the same when its ``Session`` first runs (variable initialization)."""
    try:
        from staticgraph.compiler.cpu import native
        native.host()
    except Exception:  # noqa: BLE001 - the first compile then pays it, or reports the problem
        pass


def _tensors(args: tuple, kwargs: dict) -> list:
    """The call's tensors in ``flatten``'s order (what a plan's input positions index)."""
    tensors: list = []
    flatten((args, kwargs), tensors)
    return tensors


def _first_line(e: Exception) -> str:
    """The first line of a kernel's error (the op's own message, before the node's name)."""
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _where(fn: Any) -> str:
    code = getattr(fn, "__code__", None) or getattr(getattr(fn, "forward", None), "__code__",
                                                    None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code is not None else user_site()
