"""Capture: run the user's function once, eagerly, while every registry op also adds a node to a
fresh static graph.

During a capture ``Tensor.__sg_frontend__`` is :data:`TRACER`: each op runs through the eager
frontend as usual (so the capture call *is* an eager call, with its tape, hooks and side effects),
then the same op is added to the graph with the eager dtype rules (inputs cast to the compute
dtype, Python numbers as constants of that dtype), so the graph computes what eager computed.
Inputs become placeholders (``None`` where a dim is symbolic); every other tensor the function
reads (module parameters and buffers, closed-over tensors, constants it made) becomes a
placeholder *fed by reference* at each call, so in-place optimizer updates are always seen.

Anything the graph cannot reproduce is recorded in :attr:`Capture.reasons` (the call's plan is
then not used: that signature runs eagerly) instead of being raised, because the capture run has
already done the work eagerly and must not be repeated.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import numpy as np

from staticgraph.graph.core import Graph
from staticgraph.graph.core import Tensor as GTensor
from staticgraph.ops import REGISTRY, AVal, Op
from staticgraph.ops.core import compute_dtype

from .._frontend import avals_of
from .._local_ops import CLONE, CONTIGUOUS
from .._tensor import Tensor
from ..autograd.grad_mode import GRAD_ENABLED
from .entry import EntryValues
from .pending import Deferred, PendingTensor
from .traced_array import TracedArray, plain, traced_view

#: whether captures defer op values (:mod:`.pending`); ``[False]``: every op runs eagerly
DEFER = [True]

_SCALARS = (bool, int, float)
_LIB_DIRS = tuple(os.path.dirname(os.path.dirname(os.path.abspath(m.__file__))) + os.sep
                  for m in (np,)) + (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
    os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                 "staticgraph") + os.sep)


class CompileError(RuntimeError):
    """``fullgraph=True`` and the function cannot be captured as one graph."""


def user_site(depth: int = 1) -> str:
    """``file:line`` of the innermost frame outside dynamic, staticgraph and numpy."""
    f = sys._getframe(depth)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(_LIB_DIRS):
            return f"{f.f_code.co_filename}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


def _has_traced(x: Any) -> bool:
    if isinstance(x, TracedArray):
        return True
    if isinstance(x, (tuple, list)):
        return any(_has_traced(i) for i in x)
    if isinstance(x, dict):
        return any(_has_traced(i) for i in x.values())
    return False


class Capture(EntryValues):
    """One capture in progress: the graph, the tensor -> graph-tensor map, the guards and the
    reasons this call cannot be replayed (module docstring)."""

    def __init__(self, fullgraph: bool) -> None:
        self.graph = Graph()
        self.fullgraph = fullgraph
        self.thread = threading.get_ident()
        # id(tensor) -> [tensor, graph tensor, version, storage writes seen when recorded]
        self.tensors: dict[int, list] = {}
        # id(traced storage view) -> [view, graph tensor of its current value, writes]
        self.by_data: dict[int, list] = {}
        self.values: dict[GTensor, Tensor] = {}  # graph tensor -> the eager tensor it mirrors
        self.inputs: list[tuple[Tensor, GTensor]] = []
        # (tensor, placeholder, how it is found at a call: None, or ("grad", leaf tensor))
        self.externals: list[tuple] = []
        self.entry: dict[GTensor, np.ndarray] = {}  # placeholder -> the value it had on entry
        self.entry_vc: dict[int, int] = {}  # id(input/external) -> its version on entry
        self.handled = 0  # > 0 inside a backward/optimizer call the step capture models
        self.step: Any = None  # the whole-step state (.step.StepCapture) once one is seen
        self.guards: list[tuple[GTensor, np.ndarray, str]] = []
        self.reasons: list[str] = []
        self.signature: list[tuple] = []
        self._restore: list[tuple[Tensor, np.ndarray]] = []
        self.unsaved: dict[int, tuple] = {}  # id(traced array) -> (it, placeholder, tensor)
        self.copied: dict[int, tuple] = {}  # the same, for entries copied when bound
        self.roots: dict[int, int] = {}  # id(an unsaved entry's own array) -> its key there
        self.deferred: Deferred | None = Deferred(self) if DEFER[0] else None

    # --------------------------------------------------------------------------- reasons
    def fail(self, reason: str, site: str | None = None) -> None:
        """This call cannot be replayed from the graph (it stays an eager call)."""
        msg = f"{reason} (at {site or user_site(2)})"
        if self.deferred is not None and self.deferred.entries:  # the call will be eager:
            self.deferred.flush()  # its values now, before anything else can change an input
        if self.fullgraph:
            raise CompileError(f"dynamic.compile(fullgraph=True) cannot capture this function: "
                               f"{msg}")
        self.reasons.append(msg)

    def value_read(self, arr: TracedArray, kind: str) -> None:
        """A traced value went to Python: guard on it (one element, known source) or break.
        Not inside a backward or optimizer step the step capture models (``handled``): those
        become graph formulas, so an op kernel's own checks there (``nll_loss``'s gradient
        checks its class indices) decide nothing the plan depends on."""
        if self.handled:
            return
        site = user_site(3)
        if self.fullgraph:
            raise CompileError(f"dynamic.compile(fullgraph=True): data-dependent Python control "
                               f"flow: {kind} of a traced tensor at {site}")
        src = arr._sg_src
        if src is None or src not in self.values:
            self.fail(f"data-dependent value: {kind} of a traced tensor", site)
            return
        self.guards.append((src, plain(self.values[src]._data).copy(), f"{kind} at {site}"))

    # ------------------------------------------------------------------------ bindings
    def _bind(self, t: Tensor, g: GTensor, swap: bool) -> None:
        self.tensors[id(t)] = [t, g, t._vc[0], 0]
        self.values[g] = t
        if swap:
            self._restore.append((t, t._data))
        t._data = traced_view(plain(t._data), g)
        self.by_data[id(t._data)] = [t._data, g, 0]

    def rebind(self, t: Tensor, g: GTensor) -> None:
        """``t`` (bound, or new) now holds the value of ``g`` (a gradient the step computed)."""
        rec = self.tensors.get(id(t))
        if rec is not None and rec[0] is t and isinstance(t._data, TracedArray):
            st = self.by_data[id(t._data)]
            st[1], st[2] = g, st[2] + 1
            rec[1], rec[2], rec[3] = g, t._vc[0], st[2]
            self.values[g] = t
            return
        self._bind(t, g, swap=False)

    def storage_write(self, dst: np.ndarray, src: Any) -> None:
        """``np.copyto(dst, src)`` into a traced tensor's storage (an in-place op, ``zero_``,
        ``copy_``): the storage's value becomes ``src``'s graph tensor (functionalized)."""
        if self.handled or self.reasons:
            return
        if self.deferred is not None:
            self.deferred.dirty = True
        st = self.by_data.get(id(dst))
        if st is None or st[0] is not dst:
            self.fail("an in-place write into storage the capture does not track (a view)")
            return
        if isinstance(src, TracedArray):
            hit = self.by_data.get(id(src))
            base = getattr(src, "_sg_from", None)
            if (hit is None or hit[0] is not src) and base is not None:
                hit = self.by_data.get(id(base))
                src = base if hit is not None and hit[0] is base else src
            if hit is None or hit[0] is not src or src.shape != dst.shape:
                self.fail("an in-place write of values the capture does not track")
                return
            g = hit[1]
        else:
            g = self._const(np.broadcast_to(np.asarray(src), dst.shape).astype(dst.dtype))
        if g.dtype.np_dtype != dst.dtype:
            g = self._cast(g, dst.dtype)
        for other in self.by_data.values():
            if other[0] is not dst and np.may_share_memory(other[0], dst):
                self.fail("an in-place write into a tensor that has views")
                return
        if not GRAD_ENABLED[0]:  # under no_grad the new value starts a fresh history
            g = self.stop_gradient(g)
        st[1], st[2] = g, st[2] + 1

    def stop_gradient(self, g: GTensor) -> GTensor:
        s = self.graph.create_op("StopGradient", (g,), {}, (g.aval,), "StopGradient")
        self.signature.append(("StopGradient", self._index(g)))
        return s.outputs[0]

    def placeholder(self, t: Tensor, shape: tuple, name: str) -> GTensor:
        d = plain(t._data)
        op = self.graph.create_op("Placeholder", (), {"dtype": d.dtype, "shape": shape},
                                  (AVal(shape, d.dtype),), name)
        return op.outputs[0]

    def add_input(self, t: Tensor, symbolic: set[int]) -> None:
        if id(t) in self.tensors:
            return
        shape = tuple(None if i in symbolic else n for i, n in enumerate(t._data.shape))
        g = self.placeholder(t, shape, "input")
        self.inputs.append((t, g))
        self._bind_entry(t, g)

    def _external(self, t: Tensor, how: Any = None) -> GTensor:
        g = self.placeholder(t, tuple(t._data.shape), "external")
        self.externals.append((t, g, how))
        self.signature.append(("external", t._data.shape, t._data.dtype, how is None))
        self._bind_entry(t, g)
        return g

    def graph_tensor(self, t: Tensor) -> GTensor | None:
        rec = self.tensors.get(id(t))
        if type(t) is PendingTensor:  # no values yet, so never written
            return rec[1] if rec is not None and rec[0] is t else None
        if rec is not None and rec[0] is t:
            st = self.by_data.get(id(t._data))
            if st is not None and st[0] is t._data and st[2] != rec[3]:  # a write we saw
                out = st[1]
                rec[1], rec[2], rec[3] = out, t._vc[0], st[2]
                self.values[out] = t
                return out
            if t._vc[0] != rec[2]:
                self.fail("a tensor was modified in place inside the function")
                return None
            return rec[1]
        if isinstance(t._data, TracedArray):  # no local holds a plain array: _bind_entry
            d = t._data  # counts its references to decide whether to copy it
            hit = self.by_data.get(id(d))
            g = hit[1] if hit is not None and hit[0] is d else None
            if g is not None and t._base is None and not t._requires_grad:  # detach(), .data
                out = self.stop_gradient(g)
                self.tensors[id(t)] = [t, out, t._vc[0], hit[2]]
                self.values[out] = t
                return out
            self.fail("a tensor was made from traced values outside the op registry")
            return None
        how = self.step.grad_owner(t) if self.step is not None else None
        return self._external(t, how)

    def _index(self, g: GTensor) -> int:
        return g.op._id

    # ----------------------------------------------------------------------------- nodes
    def _cast(self, g: GTensor, dt: np.dtype) -> GTensor:
        op = self.graph.create_op("cast", (g,), {"dtype": dt}, (AVal(g.aval.shape, dt),),
                                  "Cast", op_def=REGISTRY["cast"])
        self.signature.append(("cast", self._index(g), dt))
        return op.outputs[0]

    def _const(self, arr: np.ndarray) -> GTensor:
        arr = np.array(arr, copy=True)
        arr.setflags(write=False)
        self.signature.append(("Const", arr.dtype.str, arr.shape, arr.tobytes()))
        return self.graph.create_op("Const", (), {"value": arr}, (AVal(arr.shape, arr.dtype),),
                                    "Const").outputs[0]

    def node(self, op: Op, args: tuple, params: dict, out: Tensor) -> None:
        """Add ``op(args)`` to the graph as the node ``out`` (already computed eagerly) mirrors."""
        if _has_traced(params):
            self.fail(f"'{op.name}' takes a traced tensor's values as a parameter "
                      "(indexing with a tensor, a data-dependent size)")
            return
        if op is CLONE or op is CONTIGUOUS:
            g = self.graph_tensor(args[0])
            if g is not None:
                node = self.graph.create_op("Identity", (g,), {}, (g.aval,), "Identity")
                self.signature.append(("Identity", self._index(g)))
                self._bind(out, node.outputs[0], swap=False)
            return
        if op.name not in REGISTRY or REGISTRY[op.name] is not op:
            self.fail(f"'{op.name}' is an eager-only op")
            return
        g = self.add_node(op, args, params, AVal(out._data.shape, out._data.dtype),
                          out._requires_grad)
        if g is not None:
            self._bind(out, g, swap=False)

    def add_node(self, op: Op, args: tuple, params: dict, out: AVal,
                 out_rg: bool, infer: tuple | None = None) -> GTensor | None:
        """The graph tensor of registry op ``op(args)`` whose eager result has ``out``'s shape
        and dtype and ``requires_grad`` ``out_rg`` (``None`` after a :meth:`fail`). ``infer``:
        eager's ``(shape, dtype, compute dtype)`` of the op where the caller has it (a
        deferred op): not inferred again, nor on graph inputs with eager's abstract values."""
        if infer is None:
            avals = avals_of(args)
            cdt = compute_dtype(op, avals, op.infer(*avals, **params)[1])
        else:
            cdt = infer[2]
        dt = out.dtype
        same = infer is not None  # the graph's inputs have eager's abstract values so far
        inputs = []
        for a in args:
            if isinstance(a, Tensor):
                g = self.graph_tensor(a)
                if g is None:
                    return None
                if cdt is not None and g.aval.dtype != cdt:
                    g = self._cast(g, cdt)
                if same:
                    gav, av = g.aval, a.aval
                    same = gav is av or gav == av
            else:
                same = False  # a constant: not the weak scalar eager inferred with
                if isinstance(a, TracedArray):
                    self.fail(f"'{op.name}' takes an array made from traced values")
                    return None
                if cdt is not None or op.dtype_rule != "where" or type(a) not in _SCALARS:
                    arr = np.asarray(a, cdt)
                else:
                    arr = np.asarray(a, dt)
                g = self._const(arr)
            inputs.append(g)
        if same:  # the same inference on the same abstract values
            shape, gdt = infer[0], infer[1]
        else:
            try:
                shape, gdt = op.infer(*[g.aval for g in inputs], **params)
            except Exception as e:  # noqa: BLE001 - the graph cannot hold it: the call stays eager
                self.fail(f"'{op.name}' cannot be inferred with symbolic dims: {e}")
                return None
        shape = tuple(shape)
        if len(shape) != len(out.shape) or any(
                d is not None and d != n for d, n in zip(shape, out.shape, strict=True)):
            self.fail(f"'{op.name}': the graph's shape {shape} differs from eager's "
                      f"{out.shape}")
            return None
        node = self.graph.create_op(op.name, inputs, params, (AVal(shape, np.dtype(gdt)),),
                                    op.tf_name or op.name, op_def=op)
        if not out_rg and any(isinstance(a, Tensor) and a._requires_grad for a in args):
            node = self.stop_gradient(node.outputs[0]).op  # no_grad: eager records no history
        try:
            p = repr(sorted(params.items()))
        except TypeError:
            p = repr(params)
        self.signature.append((op.name, tuple(self._index(g) for g in inputs), p))
        g = node.outputs[0]
        if g.aval.dtype != dt:
            g = self._cast(g, dt)
        return g

    # ---------------------------------------------------------------------------- finish
    def check_unchanged(self) -> None:
        """Every version bump of an input or captured tensor is a write the capture saw."""
        for t, *_ in self.inputs + self.externals:
            self.graph_tensor(t)
            if self.reasons:
                return

    def final_value(self, t: Tensor) -> GTensor | None:
        """The graph tensor of ``t``'s storage at the end, when the function wrote it."""
        st = self.by_data.get(id(t._data))
        if st is None or st[0] is not t._data or not st[2]:
            return None
        return st[1]

    def restore(self) -> None:
        """Plain storage again for every tensor the capture touched (pending values computed
        after this are not bound any more)."""
        if self.deferred is not None:
            self.deferred.bind = False
        for t, *_ in self.tensors.values():
            if type(t) is not PendingTensor:
                t._data = plain(t._data)
        for t, data in self._restore:
            t._data = data

    def release(self) -> None:
        """Drop the references to the call's tensors and arrays once the plan is built or the
        call is given up (the capture and its step capture form a cycle: until the cyclic
        collector runs, these references would count as holders of a parameter's array and
        the fast path would copy instead of swapping, and hold 1M-float snapshots)."""
        for d in (self.tensors, self.by_data, self.values, self.entry, self.unsaved,
                  self.copied, self.roots):
            d.clear()
        self._restore.clear()
        self.inputs, self.externals = [], []
        self.step = None


from .trace_frontend import EAGER, TRACER, TraceFrontend  # noqa: E402 - re-exported

__all__ = ["EAGER", "TRACER", "Capture", "CompileError", "TraceFrontend", "user_site"]
