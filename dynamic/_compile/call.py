"""``CompiledCall``: one captured plan and how a call feeds it, checks its guards, and puts its
results back: outputs, and for a whole-step plan the writes a replay repeats after a successful
run (parameters and ``.grad`` storage, ``.grad`` set or ``None``, optimizer state, counters).

Feeds are resolved by reference at each call: inputs from the call's tensors, captured tensors
through their resolver (a module slot, else the tensor), a leaf's ``.grad`` through the leaf,
optimizer state from ``optimizer.state``, host scalars from their function. Nothing is written
before the plan has run, so a failing run leaves every tensor as it was.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import make
from ..autograd.engine import grad as autograd_grad
from ..autograd.grad_mode import GRAD_ENABLED, enable_grad
from .plan import CallFunction, GuardFailed
from .structure import leaf_specs, out_struct, unflatten


def resolve(desc: tuple, ts: list) -> Any:
    """The tensor a descriptor names at this call: ``("input", i)``, ``("fixed", t)``,
    ``("slot", dict, name)`` (a module's parameter or buffer) or ``("grad", leaf descriptor)``."""
    kind = desc[0]
    if kind == "input":
        return ts[desc[1]]
    if kind == "fixed":
        return desc[1]
    if kind == "slot":
        return desc[1][desc[2]]
    g = resolve(desc[1], ts)._grad
    if g is None:
        raise GuardFailed("a .grad the plan reads is None")
    return g


class CompiledCall:
    """One plan and how a call's tensors feed it and its outputs come back."""

    def __init__(self, owner: Any, cap: Any, plan: Any, spec: tuple, input_pos: list[int],
                 out_spec: Any, out_grad: list[bool], struct: Any, py_guards: list,
                 effects: list, grad_guards: list) -> None:
        self.owner, self.plan, self.spec = owner, plan, spec
        self.input_pos = input_pos
        self.out_spec, self.out_grad = out_spec, out_grad
        self.struct = struct
        self.py_guards = py_guards
        self.signature = cap.signature
        self.symbolic = None in {d for s in spec for d in s}
        self.general = not self.symbolic  # a symbolic plan holds for other sizes once checked
        self.shape: tuple = ()
        self.guard_text = [w for _, _, w in cap.guards]
        self.step = cap.step.active
        in_pos = {id(t): input_pos[k] for k, (t, _) in enumerate(cap.inputs)}

        def desc(t: Any) -> tuple:
            if id(t) in in_pos:
                return ("input", in_pos[id(t)])
            slot = owner.slot_of(t)
            return ("fixed", t) if slot is None else ("slot", *slot)

        self.desc = [desc(t) if how is None else ("grad", desc(how[1]))
                     for t, _, how in cap.externals]
        self.ext_avals = tuple((t._data.shape, t._data.dtype, t._requires_grad)
                               for t, *_ in cap.externals)
        sc = cap.step
        self.state = [sc.state_keys[k] for k, g in sc.state_in.items() if g is not None]
        self.host = [fn for fn, _ in sc.host]
        self.grad_checks = [(desc(leaf), none) for leaf, none in grad_guards]
        self.state_checks = list(sc.guards)
        self.effects = [(kind, desc(obj) if kind in ("grad_set", "grad_none") else obj,
                         arg, idx, copy) for kind, obj, arg, idx, copy in effects]
        self.fast: Any = None
        self.id_checks: list = []  # identity.py: captured tensors reached via Python objects
        self.n_feed = len(cap.inputs) + len(cap.externals)

    def matches(self, tensors: list) -> bool:
        if not self.general:
            return all(tensors[i]._data.shape == s
                       for i, s in zip(self.input_pos, self.shape, strict=True))
        for i, s in zip(self.input_pos, self.spec, strict=True):
            shape = tensors[i]._data.shape
            if len(shape) != len(s) or any(d is not None and d != n
                                           for d, n in zip(s, shape, strict=True)):
                return False
        return True

    def run(self, tensors: list) -> Any:
        exts = [resolve(d, tensors) for d in self.desc]
        if tuple((e._data.shape, e._data.dtype, e._requires_grad) for e in exts) \
                != self.ext_avals:
            raise GuardFailed("a captured tensor changed its shape, dtype or requires_grad")
        if any((resolve(d, tensors)._grad is None) != none for d, none in self.grad_checks) \
                or any(f() != v for f, v in self.state_checks):
            raise GuardFailed("a .grad or the optimizer state changed from None to a value "
                              "or back")
        feed = [tensors[i] for i in self.input_pos] + exts
        if self.step:
            arrays = [t._data for t in feed]
            for opt, p, key in self.state:
                arrays.append(opt.state[p][key])
            arrays += [fn() for fn in self.host]
            arrays_out, extra = self.plan.forward(arrays, None)
            self._write_back(feed, extra, tensors)
            outs = [make(a) for a in arrays_out]
        elif GRAD_ENABLED[0] and any(t._requires_grad for t in feed):
            outs = _apply(self, feed)
            for o, rg in zip(outs, self.out_grad, strict=True):
                if not rg:
                    o._requires_grad, o._grad_fn = False, None
        else:
            arrays, _ = self.plan.forward([t._data for t in feed], None)
            outs = [make(a) for a in arrays]
        return unflatten(self.out_spec, lambda s: _leaf(s, outs, tensors, exts))

    def _write_back(self, feed: list, extra: list, tensors: list) -> None:
        """Repeat the step's writes with the run's values (module docstring)."""
        for kind, target, arg, idx, copy in self.effects:
            val = extra[idx] if idx >= 0 else None
            if copy:
                val = np.array(val, copy=True)
            if kind == "copy":
                t = feed[target]
                np.copyto(t._data, val, casting="unsafe")
                t._vc[0] += arg
            elif kind == "grad_set":  # at eager's version (``arg``: the step's bumps of it)
                g = resolve(target, tensors)._grad = make(np.asarray(val))
                g._vc[0] = arg
            elif kind == "grad_none":
                resolve(target, tensors)._grad = None
            elif kind == "state":
                opt, p, key = target
                opt.state.setdefault(p, {})[key] = np.asarray(val)
            elif kind == "counter":
                opt, p = target
                st = opt.state.setdefault(p, {})
                st["step"] = st.get("step", 0) + arg

    def written(self, kind: str, target: Any, feed: list, tensors: list) -> Any:
        """The value the eager run wrote for one effect (the first run checks against it)."""
        if kind == "copy":
            return feed[target]._data
        if kind == "grad_set":
            return resolve(target, tensors)._grad._data
        opt, p, key = target
        return opt.state[p][key]

    def eager_grads(self, feed: tuple, needs: tuple, grads: tuple) -> list:
        """``create_graph=True``: the gradients from an eager replay of the function."""
        n = len(self.input_pos)
        ins = list(feed[:n])  # the inputs themselves: the replayed graph starts at them
        it = iter([ins[k] for k in self.leaf_map])
        args, kwargs = unflatten(self.struct, lambda s: next(it) if s == "T" else s[2])
        with enable_grad():
            out = self.owner.fn(*args, **kwargs)
        leaves: list = []
        out_struct(out, leaves)
        outs: dict[int, Any] = {}
        for spec, leaf in zip(leaf_specs(self.out_spec), leaves, strict=True):
            if spec[0] == "out":
                outs.setdefault(spec[1], leaf)
        pairs = [(outs[k], g) for k, g in enumerate(grads)
                 if outs[k]._data.dtype.kind == "f" and outs[k]._requires_grad]
        wrt = [t for t, nd in zip(list(ins) + list(feed[n:]), needs, strict=True) if nd]
        res = iter(autograd_grad([o for o, _ in pairs], wrt, [g for _, g in pairs],
                                 create_graph=True, allow_unused=True))
        return [next(res) if nd else None for nd in needs]


def _apply(call: CompiledCall, feed: list) -> list:
    outs = CallFunction.apply(call, *feed)
    return list(outs) if isinstance(outs, tuple) else [outs]


def _leaf(s: Any, outs: list, tensors: list, exts: list) -> Any:
    kind = s[0]
    if kind == "out":
        return outs[s[1]]
    if kind == "input":
        return tensors[s[1]]
    if kind == "ext":
        return exts[s[1]]
    if kind == "copy":
        return make(s[1]._data.copy())
    return s[1]
