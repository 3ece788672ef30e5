"""The per-call fast path of a compiled plan: one generated Python function doing exactly what a
repeated call must (the ``Session.run`` fast path's idea, one level up).

For a plan whose call takes positional tensors only and needs no autograd node (a whole step,
or a call without gradients), :func:`build` generates ``fast(args)``: the guards unrolled with
their expected values as constants (argument count, each input's class, dtype, shape and
``requires_grad``, the grad mode, each captured tensor's shape/dtype/``requires_grad``, the
``.grad``/optimizer-state guards, the Python-value guards), the feeds found by reference (no
flattening, no resolver calls), one ``Session.run``, the write-backs and the result's structure
built directly. Any failed check returns :data:`MISS` and the call takes the general path
(:meth:`.compiled.CompiledFunction.__call__`), which also logs why it recompiles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, make
from ..autograd.grad_mode import GRAD_ENABLED

MISS = object()


class _Gen:
    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"MISS": MISS, "make": make, "asarray": np.asarray,
                                   "array": np.array, "copyto": np.copyto, "GE": GRAD_ENABLED}
        self.lines: list[str] = []

    def const(self, value: Any, stem: str = "C") -> str:
        name = f"{stem}{len(self.ns)}"
        self.ns[name] = value
        return name

    def line(self, s: str) -> None:
        self.lines.append("    " + s)


def _leaf_expr(gen: _Gen, desc: tuple) -> str:
    """Source for the tensor a resolver descriptor names (``.call.CompiledCall.desc``)."""
    kind = desc[0]
    if kind == "input":
        return f"a{desc[1]}"
    if kind == "fixed":
        return gen.const(desc[1], "T")
    return f"{gen.const(desc[1], 'D')}[{desc[2]!r}]"  # a module's parameter/buffer slot


def _out_expr(spec: Any, gen: _Gen) -> str:
    if isinstance(spec, tuple) and spec and spec[0] in ("list", "tuple", "dict"):
        kind, items = spec
        if kind == "dict":
            return "{" + ", ".join(f"{gen.const(k)}: {_out_expr(v, gen)}" for k, v in items) + "}"
        inner = ", ".join(_out_expr(i, gen) for i in items)
        return f"[{inner}]" if kind == "list" else f"({inner}{',' if len(items) == 1 else ''})"
    kind = spec[0]
    if kind == "out":
        return f"o{spec[1]}"
    if kind == "input":
        return f"a{spec[1]}"
    if kind == "ext":
        return f"e{spec[1]}"
    if kind == "copy":
        return f"make({gen.const(spec[1])}._data.copy())"
    return gen.const(spec[1])


def _guard_ok(guards: list) -> str | None:
    for d, k, v in guards:
        cur = d.cell_contents if k is None else d.get(k, _guard_ok)
        if cur is not v and cur != v:
            return f"{'a closure variable' if k is None else repr(k)} changed from {v!r} to " \
                   f"{cur!r}"
    return None


def build(call: Any, struct: Any, key_avals: tuple, grad_mode: bool) -> Any:
    """``fast(args)`` for ``call`` (module docstring), or ``None`` when it does not apply."""
    plan = call.plan
    if plan.guards or not (isinstance(struct, tuple) and struct[0] == "tuple"):
        return None
    args_spec, kw_spec = struct[1]
    if kw_spec != ("dict", ()) or args_spec[0] != "tuple" or any(s != "T" for s in args_spec[1]):
        return None
    n = len(args_spec[1])
    if not call.step and grad_mode and (any(rg for *_, rg in key_avals) or any(
            rg for *_, rg in call.ext_avals)):
        return None  # the call is an autograd node: the general path builds it
    g = _Gen()
    g.line(f"if len(args) != {n}: return MISS")
    if n:
        g.line(f"{''.join(f'a{i}, ' for i in range(n))}= args")
    g.line(f"if GE[0] is not {grad_mode}: return MISS")
    shapes = dict(zip(call.input_pos, call.spec if call.general else call.shape, strict=True))
    for i, (cls, dt, _nd, rg) in enumerate(key_avals):
        test = [f"a{i}.__class__ is not {g.const(cls)}", f"d{i}.dtype is not {g.const(dt)}",
                f"a{i}._requires_grad is not {rg}"]
        s = shapes.get(i)
        if s is not None and None in s:
            test.append(f"len(d{i}.shape) != {len(s)}")
            test += [f"d{i}.shape[{j}] != {d}" for j, d in enumerate(s) if d is not None]
        elif s is not None:
            test.append(f"d{i}.shape != {tuple(s)!r}")
        g.line(f"d{i} = a{i}._data")
        g.line(f"if {' or '.join(test)}: return MISS")
    for j, (desc, (shape, dt, rg)) in enumerate(zip(call.desc, call.ext_avals, strict=True)):
        if desc[0] == "grad":
            g.line(f"e{j} = {_leaf_expr(g, desc[1])}._grad")
            g.line(f"if e{j} is None: return MISS")
        else:
            g.line(f"e{j} = {_leaf_expr(g, desc)}")
        g.line(f"x{j} = e{j}._data")
        g.line(f"if x{j}.shape != {tuple(shape)!r} or x{j}.dtype is not {g.const(dt)} or "
               f"e{j}._requires_grad is not {rg}: return MISS")
    for (leaf_desc, none) in call.grad_checks:
        g.line(f"if ({_leaf_expr(g, leaf_desc)}._grad is None) is not {none}: return MISS")
    for f, v in call.state_checks:
        g.line(f"if {g.const(f)}() != {g.const(v)}: return MISS")
    if call.py_guards:
        g.ns["guard_ok"] = _guard_ok
        g.line(f"if guard_ok({g.const(call.py_guards)}) is not None: return MISS")
    feeds = [f"d{i}" for i in call.input_pos] + [f"x{j}" for j in range(len(call.desc))]
    feeds += [f"{g.const(opt, 'O')}.state[{g.const(p, 'P')}][{key!r}]"
              for opt, p, key in call.state]
    feeds += [f"{g.const(fn, 'H')}()" for fn in call.host]
    fd = ", ".join(f"{g.const(t, 'F')}: {v}" for t, v in zip(plan.feeds, feeds, strict=True))
    fetch = list(plan.outputs) + list(plan.extras)
    g.line(f"r = {g.const(plan.session, 'S')}.run({g.const(fetch, 'FETCH')}, {{{fd}}})")
    n_out = len(plan.outputs)
    for kind, target, arg, idx, copy in call.effects:
        val = "None" if idx < 0 else f"r[{n_out + idx}]"
        if copy:
            val = f"array({val}, copy=True)"
        if kind == "copy":
            t = f"d{call.input_pos[target]}" if target < len(call.input_pos) else \
                f"x{target - len(call.input_pos)}"
            tt = f"a{call.input_pos[target]}" if target < len(call.input_pos) else \
                f"e{target - len(call.input_pos)}"
            g.line(f"copyto({t}, {val}, casting='unsafe')")
            g.line(f"{tt}._vc[0] += {arg}")
        elif kind == "grad_set":
            g.line(f"{_leaf_expr(g, target)}._grad = make(asarray({val}))")
        elif kind == "grad_none":
            g.line(f"{_leaf_expr(g, target)}._grad = None")
        elif kind == "state":
            opt, p, key = target
            g.line(f"{g.const(opt, 'O')}.state.setdefault({g.const(p, 'P')}, {{}})[{key!r}] = "
                   f"asarray({val})")
        elif kind == "counter":
            opt, p = target
            g.line(f"st = {g.const(opt, 'O')}.state.setdefault({g.const(p, 'P')}, {{}})")
            g.line(f"st['step'] = st.get('step', 0) + {arg}")
    for k in range(n_out):
        g.line(f"o{k} = make(asarray(r[{k}]))")
    g.line(f"return {_out_expr(call.out_spec, g)}")
    src = "def fast(args):\n" + "\n".join(g.lines) + "\n"
    exec(compile(src, f"<dynamic.compile fast path of {call.owner.__name__}>", "exec"), g.ns)  # noqa: S102
    fast = g.ns["fast"]
    fast.source = src
    return fast


__all__ = ["MISS", "Tensor", "build"]
