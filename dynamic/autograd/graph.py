"""Backward-graph nodes: ``grad_fn`` objects with PyTorch's class names.

Each recorded op creates an :class:`OpNode` whose class is a cached, dynamically created subclass
named after PyTorch's ``grad_fn`` (``MulBackward0``...), so ``type(y.grad_fn).__name__`` and
``y.grad_fn.name()`` match. A node keeps the op record, its params, the inputs the VJP rule may read
(``op.saves``) with their version counters, shape-only markers for the others, and one edge per
input (``next_functions``): ``(AccumulateGrad, 0)`` for leaves, ``(None, 0)`` without grad.

Nodes sit above the tensor core (``dynamic._tensor``): running a node's VJP rule builds tensors
with ``make``/``standin``. The frontend (``dynamic._frontend``) records the nodes, one layer up.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from staticgraph.ops import AVal
from staticgraph.ops.core import unbroadcast_needed

from .._dtypes import from_numpy_dtype
from .._tensor import Tensor, cast, make, shape_dtype, standin, sum_to

SEQ = itertools.count()
NONE_EDGE = (None, 0)
FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")
_HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its "
         "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, registry: dict) -> None:
        self.id = next(self._ids)
        self._registry = registry

    def remove(self) -> None:
        self._registry.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


SAVED_HOOKS: list = []  # the (pack, unpack) pairs of the active ``saved_tensors_hooks``
# while a forward AD level is open: one function ``(node, tensor)`` giving the saved output that
# a ``create_graph`` backward rebuilds its tangents (``forward_ad_engine``: reverse over forward)
SAVED_OUT_TANGENTS: list = []
_NOT_SAVED = {"PowBackward0": "out"}  # saved here for the rule, not by PyTorch: never packed


class Packed:
    """A saved tensor as a ``saved_tensors_hooks`` pack hook returned it."""

    __slots__ = ("value", "unpack_hook")

    def __init__(self, value: Any, unpack_hook: Callable) -> None:
        self.value = value
        self.unpack_hook = unpack_hook

    def unpack(self) -> Any:
        t = self.unpack_hook(self.value)
        if not isinstance(t, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got "
                            f"result of type {type(t).__name__}")
        return t


class saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """``with saved_tensors_hooks(pack, unpack):`` every tensor an op saves for backward is
    stored as ``pack(tensor)``; backward reads ``unpack(stored)`` (no version check then, as
    in PyTorch)."""

    def __init__(self, pack_hook: Callable, unpack_hook: Callable) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> saved_tensors_hooks:
        SAVED_HOOKS.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc: Any) -> None:
        SAVED_HOOKS.pop()


class save_on_cpu(saved_tensors_hooks):  # noqa: N801
    """Saved tensors go to CPU memory; every tensor is already there, so they stay as they are."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        super().__init__(lambda t: (t.device, t.cpu()), lambda packed: packed[1])


def pack_saved(node: Any, out: Any) -> None:
    """Apply the innermost pack hook to what ``node`` saved, in PyTorch's order: the inputs
    last to first (``a * b`` packs ``b``, then ``a``), then the output."""
    pack, unpack = SAVED_HOOKS[-1]
    stored = node._stored
    for i in sorted((i for i in node._op.saves if i != "out"), reverse=True):
        if isinstance(stored[i], Tensor):
            stored[i] = Packed(pack(stored[i]), unpack)
    if "out" in node._op.saves and node._out is not None \
            and _NOT_SAVED.get(type(node).__name__) != "out":
        node._out = Packed(pack(out), unpack)
    if node._saved_ver:
        node._saved_ver = [(i, v) for i, v in node._saved_ver if type(stored[i]) is not Packed]


class Node:
    """A backward function. Subclasses implement ``_apply(grads, create_graph) -> grads``."""

    __slots__ = ("_next", "_seq", "_freed", "_tensor_hooks", "_retain", "_hooks", "_prehooks",
                 "metadata_", "__weakref__")

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple:
        return tuple(self._next)

    @property
    def metadata(self) -> dict:
        try:
            return self.metadata_
        except AttributeError:
            self.metadata_ = {}
            return self.metadata_

    def register_hook(self, fn: Callable) -> RemovableHandle:
        """``fn(grad_inputs, grad_outputs)`` runs after this node computed its gradients."""
        return _add_hook(self, "_hooks", fn)

    def register_prehook(self, fn: Callable) -> RemovableHandle:
        """``fn(grad_outputs)`` runs before this node; may return replacement gradients."""
        return _add_hook(self, "_prehooks", fn)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def _n_outputs(self) -> int:
        return 1

    def _has_saved(self) -> bool:
        return False

    def _release(self) -> None:
        """Free saved values (after a backward without ``retain_graph``)."""


HOOKED = [False]  # True once any hook or ``retain_grad`` was registered (the lean walk then
# checks each node for them; until then no node can have one)


def _add_hook(obj: Any, attr: str, fn: Callable) -> RemovableHandle:
    HOOKED[0] = True
    d = getattr(obj, attr, None)
    if d is None:
        d = {}
        setattr(obj, attr, d)
    h = RemovableHandle(d)
    d[h.id] = fn
    return h


def init_node(node: Node, edges: list) -> None:
    node._next = edges
    node._seq = next(SEQ)
    node._freed = False
    node._tensor_hooks = node._retain = node._hooks = node._prehooks = None


def stripped(name: str) -> str:
    return re.sub(r"Backward\d*$", "", name)


def describe(t: Any) -> str:
    """``[torch.FloatTensor [3]]`` as in PyTorch's version-counter message."""
    dims = ", ".join(str(d) for d in t._data.shape)
    return f"[torch.{from_numpy_dtype(t._data.dtype)._legacy} [{dims}]]"


def reads_saved(args: tuple, inputs: tuple) -> bool:
    """Whether a saved input's value will be read: one of ``inputs`` (its ``Op.saved_for``
    entry, indices into ``args``) requires grad. Otherwise its version is not checked: PyTorch
    does not save ``self`` of ``x * 3`` and lets ``x`` be written in place before backward."""
    for j in inputs:
        if getattr(args[j], "_requires_grad", False):
            return True
    return False


def pair_versions(a: Any, b: Any, saved_for: tuple | None) -> list:
    """``_saved_ver`` of a node that saves both inputs of ``op(a, b)``: each input's version
    where :func:`reads_saved` says its value is read, else ``None`` (not checked)."""
    args = (a, b)
    return [(i, t._vc[0] if saved_for is None or reads_saved(args, saved_for[i]) else None)
            for i, t in enumerate(args)]


def version_error(t: Any, cur: int, saved: int, producer: str | None) -> RuntimeError:
    which = f", which is output 0 of {stripped(producer)}," if producer else ""
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {describe(t)}{which} is at version {cur}; expected version {saved} instead. "
        + _HINT)


class OpNode(Node):
    """The backward of one registry op: runs ``op.vjp`` with the saved inputs."""

    def name(self) -> str:
        n = type(self).__name__
        return "torch::autograd::" + n if n in _QUALIFIED else n

    @property
    def next_functions(self) -> tuple:
        n = type(self).__name__  # a Python-number exponent/base is not an input in PyTorch
        if n == "PowBackward0" or n == "NllLossBackward0":  # an int target has no edge there
            return (self._next[0],)
        if n == "PowBackward2" or n == "RsubBackward1":  # ``2 ** b``, ``1 - b``
            return (self._next[1],)
        return tuple(self._next)

    # ``_fdt``: the one float dtype of the inputs and output when the lean forward path
    # recorded the node (its ``np_vjp`` may then run without ``_fast_ok``), else ``None``
    __slots__ = ("_op", "_params", "_stored", "_saved_ver", "_out", "_out_ver", "_out_saved",
                 "_fdt")

    def _has_saved(self) -> bool:
        return bool(self._op.saves)

    def _release(self) -> None:
        if self._op.saves:
            self._freed = True
            self._stored = None
            self._out = None

    def _saved(self, i: int) -> Any:
        if self._freed:
            raise RuntimeError(FREED_MSG)
        stored = self._stored
        if i >= len(stored) or i not in self._op.saves:
            raise AttributeError(f"'{type(self).__name__}' object has no saved input {i}")
        return stored[i].unpack() if type(stored[i]) is Packed else stored[i]

    @property
    def _saved_self(self) -> Any:
        """The saved first input (PyTorch's ``grad_fn._saved_self``)."""
        return self._saved(0)

    @property
    def _saved_other(self) -> Any:
        return self._saved(1)

    @property
    def _saved_exponent(self) -> Any:
        return self._saved(1)

    @property
    def _saved_result(self) -> Any:
        """The saved output (a tensor equal to, but not the same object as, the result)."""
        if self._freed:
            raise RuntimeError(FREED_MSG)
        if self._out is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute "
                                 "'_saved_result'")
        if type(self._out) is Packed:
            return self._out.unpack()
        return make(self._out, version=self._out_ver)

    def _saved_tensors(self) -> list:
        """The tensors/arrays this node keeps alive for backward (for tests and ``make_dot``)."""
        if self._stored is None:
            return []
        out = [a for a in self._stored if isinstance(a, Tensor)]
        if self._out is not None:
            out.append(self._out)
        return out

    def _unpack(self, create_graph: bool) -> tuple:
        args = []
        packed = False
        for a in self._stored:
            if isinstance(a, AVal):
                a = standin(a)
            elif type(a) is Packed:
                packed = True
            args.append(a)
        if packed:  # unpacked last to first, as PyTorch reads them
            for i in range(len(args) - 1, -1, -1):
                if type(args[i]) is Packed:
                    args[i] = args[i].unpack()
        for i, ver in self._saved_ver or ():
            t = args[i]
            if ver is not None and t._vc[0] != ver:
                fn = t._grad_fn
                raise version_error(t, t._vc[0], ver, None if fn is None else fn.name())
        return tuple(args)

    def _output(self, g: Any, create_graph: bool) -> Any:
        if self._out is None:
            return standin(AVal(g._data.shape, g._data.dtype))
        if type(self._out) is Packed:
            return self._out.unpack()
        cur = self._out_ver[0]
        if cur != self._out_saved:
            t = make(self._out)
            raise version_error(t, cur, self._out_saved, self.name())
        if create_graph:
            t = make(self._out, True, self, 0, self._out_ver)
            if SAVED_OUT_TANGENTS:
                SAVED_OUT_TANGENTS[0](self, t)
            return t
        return make(self._out, False, None, 0, self._out_ver)

    def _apply(self, grads: list, create_graph: bool) -> list:
        if self._freed:
            raise RuntimeError(FREED_MSG)
        g = grads[0]
        args = self._unpack(create_graph)
        out = self._output(g, create_graph)
        res = self._op.vjp(g, out, *args, **self._params)
        return fit_grads(self._next, res, args, create_graph, self._op)


def fit_grads(edges: list, res: Any, args: Any, create_graph: bool, op: Any = None) -> list:
    """Un-broadcast each cotangent to its input's shape where the registry's policy says so
    (``unbroadcast_needed``, shared with the static ``gradients()``; ``op`` is ``None`` for an
    ``autograd.Function``) and cast it to the input's dtype."""
    out = []
    for (fn, _), r, a in zip(edges, res, args, strict=False):
        if fn is None or r is None:
            out.append(None)
            continue
        shape, dt = shape_dtype(a)
        if not isinstance(r, Tensor):
            r = make(np.array(np.broadcast_to(np.asarray(r, dt), shape)))
        if unbroadcast_needed(op, r._data.shape, shape, len(args)):
            r = sum_to(r, shape, dt, create_graph)
        if r._data.dtype != dt:
            r = cast(r, dt, create_graph)
        out.append(r)
    return out


_NODE_CLASSES: dict[str, type] = {}


def node_class(name: str) -> type:
    """The (cached) ``OpNode`` subclass called ``name``."""
    cls = _NODE_CLASSES.get(name)
    if cls is None:
        cls = type(name, (OpNode,), {"__slots__": (), "__module__": "torch.autograd"})
        _NODE_CLASSES[name] = cls
    return cls


def renamed(t: Any, name: str) -> Any:
    """Give ``t``'s freshly recorded node PyTorch's class name for this call."""
    fn = t._grad_fn
    if fn is not None:
        fn.__class__ = node_class(name)
    return t


_QUALIFIED = ("CopySlices", "CopyBackwards")


class AccumulateGrad(Node):
    """The sink for a leaf tensor: the engine adds the incoming gradient to ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any) -> None:
        init_node(self, [])
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"


def new_accumulator(variable: Any) -> AccumulateGrad:
    """``AccumulateGrad(variable)`` without the two calls (made once per leaf and graph)."""
    acc = _new(AccumulateGrad)
    acc._next = []
    acc._seq = next(SEQ)
    acc._freed = False
    acc._tensor_hooks = acc._retain = acc._hooks = acc._prehooks = None
    acc.variable = variable
    return acc


_new = object.__new__
