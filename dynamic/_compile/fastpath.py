"""The per-call fast path of a compiled plan: one generated Python function doing exactly what a
repeated call must (the ``Session.run`` fast path's idea, one level up).

For a plan whose call takes positional tensors only and needs no autograd node (a whole step,
or a call without gradients), :func:`build` generates ``fast(args)``: the guards unrolled with
their expected values as constants (argument count, each input's class, dtype, shape and
``requires_grad``, the grad mode, each captured tensor's shape/dtype/``requires_grad``, the
``.grad``/optimizer-state guards, param-group values read inline, the Python-value guards),
the feeds found by reference (no flattening, no resolver calls; SGD's ``-lr`` array cached per
``lr`` object), one run, the write-backs and the result's structure built directly. The run
calls the executor's prepared runner for this plan's fetches and feeds directly (what
``Session.run`` would call after checking each feed's type, dtype and shape, which the guards
above already establish; ``Session.run`` itself where there is no runner). ``.grad`` and the
outputs wrap the results (the executor reuses a result buffer only when nothing holds it);
a parameter's new value becomes its storage when nobody else holds its array (:mod:`.swap`);
captured tensors reached through Python objects are checked by identity (:mod:`.identity`);
fetched placeholders, constants and repeated fetches are copied first (``copy`` effects).
Where the plan runs as the compiler's single numba driver, the run and the write-backs are
:mod:`.driver_direct`'s (the driver called with result buffers of the fast path's own; the
runner path below stays for a run the driver cannot take).
Any failed check returns :data:`MISS` and the call takes the general path
(:meth:`.compiled.CompiledFunction.__call__`), which also logs why it recompiles.
"""

from __future__ import annotations

import math
from sys import getrefcount
from typing import Any

import numpy as np

from .._tensor import Tensor, make
from ..autograd.grad_mode import GRAD_ENABLED
from . import driver_direct, swap
from .direct import run_lines
from .fast_optim import NOTHING as _NOTHING
from .fast_optim import group_guards, host_expr
from .grad_recycle import RECYCLE_MAX_BYTES, recycle_lines
from .identity import lines as identity_lines
from .swap import swap_lines, taker_for

MISS = object()

_FRESH = {"_requires_grad": "False", "_retains_grad": "False", "_output_nr": "0", "_vc": "[0]",
          "_grad_fn": "None", "_grad": "None", "_base": "None", "_view": "None", "_aval": "None",
          "_acc": "None", "_hooks": "None"}
"""Each slot of a fresh ``Tensor`` without history and its value (:func:`.._tensor.wrap`'s)."""
_INLINE = set(_FRESH) | {"_data"} == set(Tensor.__slots__) - {"__weakref__"}


def wrap_src(name: str, expr: str) -> str:
    """One source line binding ``name`` to a fresh ``Tensor`` over the array ``expr`` (no
    copy, no history), as ``make(expr)`` but without its call and optional arguments: the
    slots stored inline (~0.07 us less per tensor; a ``seed`` call returns three). Falls back
    to ``make`` if ``Tensor``'s slots are not the ones :data:`_FRESH` knows. Needs ``NEW``
    and ``TENSOR`` bound (:class:`_Gen` binds them)."""
    if not _INLINE:
        return f"{name} = make({expr})"
    by_value: dict[str, list[str]] = {}  # one chained store per constant (``_vc``: its own)
    for slot, v in _FRESH.items():
        by_value.setdefault(v, []).append(slot)
    stores = "; ".join(" = ".join(f"{name}.{s}" for s in slots) + f" = {v}"
                       for v, slots in by_value.items())
    return f"{name} = NEW(TENSOR); {name}._data = {expr}; {stores}"


class _Gen:
    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"MISS": MISS, "NOTHING": _NOTHING, "make": make,
                                   "asarray": np.asarray, "array": np.array,
                                   "copyto": np.copyto, "GE": GRAD_ENABLED,
                                   "NEW": object.__new__, "TENSOR": Tensor}
        self.lines: list[str] = []
        self.cells: dict[str, Any] = {}  # closure variables of ``fast`` and their first values
        self.caches: list[list] = []  # boxes holding tensors or arrays: emptied on a drop
        self.shared: dict[Any, str] = {}  # host-feed caches shared by several feeds
        self.state_dicts: dict[tuple, str] = {}  # (id(opt), id(p)) -> local of its state dict
        self.state_seen: dict[int, str] = {}  # state k -> cell: the array last put there

    def const(self, value: Any, stem: str = "C") -> str:
        name = f"{stem}{len(self.ns)}"
        self.ns[name] = value
        return name

    def line(self, s: str) -> None:
        self.lines.append("    " + s)

    def cell(self, stem: str, value: Any) -> str:
        """A closure variable of ``fast`` (cheaper to read and rebind than a list slot)."""
        name = f"{stem}{len(self.cells)}"
        self.cells[name] = value
        return name


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


def _runner(plan: Any, fetch: list) -> Any:
    """The executor's prepared per-run path of ``plan.session.run(fetch, feeds)`` (the call
    already ran once, so its plan is cached) and where each fetch lands in its results; ``None``
    when there is none (the reference executor) or a feed's placeholder differs from what the
    fast path's guards establish (the session would convert that feed)."""
    from staticgraph.session_cache import general_key

    rp = plan.session._plans.get(general_key(fetch, dict.fromkeys(plan.feeds)))
    if rp is None or rp.runner is None or len(rp.leaf_pos) != len(fetch):
        return None
    for spec in rp.feed_specs:
        if spec[2] is None:  # unknown rank: the session's check decides
            return None
    return rp


def _swaps(call: Any, key_avals: tuple, rp: Any, at: list, n_out: int) -> list:
    """``(ext j, result position, version delta)`` of the parameter write-backs that may swap
    references (:mod:`.swap`): a captured tensor (not an input, not a ``.grad``) whose new
    value is a result of its own dtype, in a plan with exact input shapes (one instance), of
    at least :data:`.swap.SWAP_MIN_BYTES` (a smaller one is cheaper to copy)."""
    if any(None in s for s in (call.spec if call.general else call.shape)):
        return []
    n_in = len(call.input_pos)
    out = []
    for kind, target, arg, idx, copy in call.effects:
        if kind != "copy" or target < n_in or idx < 0 or copy:
            continue
        j = target - n_in
        shape, dt, _ = call.ext_avals[j]
        if call.desc[j][0] == "grad" or call.plan.extras[idx].dtype.np_dtype != dt or \
                math.prod(shape) * np.dtype(dt).itemsize < swap.SWAP_MIN_BYTES:
            continue
        out.append((j, at[n_out + idx], arg))
    return out


def _direct_lines(g: _Gen, call: Any, rp: Any, key_avals: tuple, feeds: list[str],
                  seen_ext: dict[int, str], n_out: int) -> list[str]:
    """The run through the compiled driver with buffers of the fast path's own, returning the
    call's result, where it applies (:mod:`.driver_direct`); else nothing."""
    return driver_direct.block(g, call, rp, key_avals, feeds, seen_ext, n_out, _leaf_expr,
                               _out_expr)


def _nbytes(shape: tuple, dt: Any) -> int:
    """Bytes of an array of ``shape``; a symbolic shape (a ``None`` dim) is never small."""
    if None in shape:
        return 1 << 62
    return math.prod(shape) * np.dtype(dt).itemsize  # (static ints: math.prod is ~20x np.prod)


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
    fetch = list(plan.outputs) + list(plan.extras)
    rp = _runner(plan, fetch)
    g = _Gen()
    groups: dict = {}
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
        if s is not None and None not in s and _nbytes(s, dt) < swap.SWAP_MIN_BYTES:
            # a small input's array: its dtype and shape checked once, then known by identity
            seen = g.const([None], "B")
            g.caches.append(g.ns[seen])
            g.line(f"if {' or '.join(test[::2])}: return MISS")
            g.line(f"if d{i} is not {seen}[0]:")
            g.line(f"    if {' or '.join(test[1::2])}: return MISS")
            g.line(f"    {seen}[0] = d{i}")
        else:
            g.line(f"if {' or '.join(test)}: return MISS")
    exact = not any(None in s for s in (call.spec if call.general else call.shape))
    seen_ext: dict[int, str] = {}  # ext j -> its identity cache (small parameters)
    for j, (desc, (shape, dt, rg)) in enumerate(zip(call.desc, call.ext_avals, strict=True)):
        if desc[0] == "grad":
            g.line(f"e{j} = {_leaf_expr(g, desc[1])}._grad")
            g.line(f"if e{j} is None: return MISS")
        else:
            g.line(f"e{j} = {_leaf_expr(g, desc)}")
        g.line(f"x{j} = e{j}._data")
        test = f"x{j}.shape != {tuple(shape)!r} or x{j}.dtype is not {g.const(dt)}"
        if desc[0] != "grad" and _nbytes(shape, dt) < swap.SWAP_MIN_BYTES:
            # a small parameter's array: checked once, then known by identity (an array
            # keeps its shape and dtype; the cache's reference is not counted by swap.py,
            # which handles only larger ones)
            seen = seen_ext[j] = g.const([None], "B")
            g.caches.append(g.ns[seen])
            g.line(f"if x{j} is not {seen}[0]:")
            g.line(f"    if {test}: return MISS")
            g.line(f"    if x{j}.flags.c_contiguous: {seen}[0] = x{j}  # (driver_direct)")
            g.line(f"if e{j}._requires_grad is not {rg}: return MISS")
        else:
            g.line(f"if {test} or e{j}._requires_grad is not {rg}: return MISS")
    for (leaf_desc, none) in call.grad_checks:
        g.line(f"if ({_leaf_expr(g, leaf_desc)}._grad is None) is not {none}: return MISS")
    tests = group_guards(g, call.state_checks, groups)
    if tests:
        g.line(f"if {' or '.join(tests)}: return MISS")
    for ln in identity_lines(g, call.id_checks):
        g.line(ln)
    if call.py_guards:
        g.ns["guard_ok"] = _guard_ok
        g.line(f"if guard_ok({g.const(call.py_guards)}) is not None: return MISS")
    feeds = [f"d{i}" for i in call.input_pos] + [f"x{j}" for j in range(len(call.desc))]
    for k, (opt, p, key) in enumerate(call.state):
        ph = plan.feeds[len(feeds)]
        sd = g.state_dicts.get((id(opt), id(p)))
        if sd is None:  # each parameter's state dict read once
            sd = g.state_dicts[id(opt), id(p)] = f"sd{len(g.state_dicts)}"
            g.line(f"{sd} = {g.const(opt, 'O')}.state[{g.const(p, 'P')}]")
        g.line(f"s{k} = {sd}[{key!r}]")
        if rp is not None:  # the session's feed check, where the runner is called directly;
            # skipped for the array the driver's path put there last (a state cell)
            seen = g.state_seen[k] = g.cell("qs", None)
            g.line(f"if s{k} is not {seen} and (s{k}.__class__ is not ndarray or s{k}.dtype is "
                   f"not {g.const(ph.dtype.np_dtype)} or s{k}.shape != "
                   f"{tuple(ph.aval.shape)!r}): return MISS")
        feeds.append(f"s{k}")
    feeds += [host_expr(g, fn, k, groups) for k, fn in enumerate(call.host)]
    n_out = len(plan.outputs)
    direct = rp is not None and exact and _direct_lines(g, call, rp, key_avals, feeds, seen_ext,
                                                          n_out)
    for ln in direct or ():  # the driver called with buffers of our own (driver_direct)
        g.line(ln)
    if rp is not None:
        g.ns.update(ndarray=np.ndarray, CO=driver_direct.c_order)
        if exact:  # a single driver's instance takes C-contiguous arrays only
            n_in = len(call.input_pos)
            feeds = feeds[:n_in] + [driver_direct.ext_feed(f, seen_ext.get(j)) for j, f in
                                    enumerate(feeds[n_in:n_in + len(call.desc)])] + \
                feeds[n_in + len(call.desc):]
        g.line(f"F = [{', '.join(feeds)}]")
        if exact:  # one instance: call it directly (:mod:`.direct`)
            for ln in run_lines(g, rp.runner, plan.session._state):
                g.line(ln)
        else:
            g.line(f"r = {g.const(rp.runner, 'R')}(F, {g.const(plan.session._state, 'ST')})")
        at = list(rp.leaf_pos)
    else:
        fd = ", ".join(f"{g.const(t, 'F')}: {v}" for t, v in zip(plan.feeds, feeds, strict=True))
        g.line(f"r = {g.const(plan.session, 'S')}.run({g.const(fetch, 'FETCH')}, {{{fd}}})")
        at = list(range(len(fetch)))
    swaps = _swaps(call, key_avals, rp, at, n_out) if rp is not None else []
    if swaps:
        g.ns.update(rc=getrefcount, TAKER=taker_for)
        tk = g.const([None], "TK")
        g.line(f"tk = {tk}[0]")
        g.line("if tk is None:")
        g.line(f"    tk = {tk}[0] = TAKER({g.const(rp.runner, 'R')}, F, "
               f"{[q for _, q, _ in swaps]!r})")
        swapping, copy = swap_lines(g, swaps)
        g.line("if tk:")
        for ln in swapping:
            g.line("    " + ln)
        g.line("else:")
        for ln in copy:
            g.line("    " + ln)
        g.line("F = None")
    swapped = {len(call.input_pos) + j for j, _, _ in swaps}
    for kind, target, arg, idx, copy in call.effects:
        if kind == "copy" and target in swapped:
            continue
        val = "None" if idx < 0 else f"r[{at[n_out + idx]}]"
        if copy:
            val = f"array({val}, copy=True)"
        elif idx >= 0 and rp is None:
            val = f"asarray({val})"
        if kind == "copy":
            t = f"d{call.input_pos[target]}" if target < len(call.input_pos) else \
                f"x{target - len(call.input_pos)}"
            tt = f"a{call.input_pos[target]}" if target < len(call.input_pos) else \
                f"e{target - len(call.input_pos)}"
            same = idx >= 0 and plan.extras[idx].dtype.np_dtype == (
                key_avals[call.input_pos[target]][1] if target < len(call.input_pos)
                else call.ext_avals[target - len(call.input_pos)][1])
            g.line(f"{t}[...] = {val}" if same else f"copyto({t}, {val}, casting='unsafe')")
            g.line(f"{tt}._vc[0] += {arg}")
        elif kind == "grad_set" and rp is not None and idx >= 0 and _nbytes(
                plan.extras[idx].aval.shape, plan.extras[idx].dtype.np_dtype) < RECYCLE_MAX_BYTES:
            for ln in recycle_lines(g, _leaf_expr(g, target), f"r[{at[n_out + idx]}]", arg):
                g.line(ln)  # a small .grad: the old tensor reused when unobservable
        elif kind == "grad_set":
            g.line(wrap_src("G", val))
            g.line(f"{_leaf_expr(g, target)}._grad = G")
            if arg:  # eager's version: one bump per later backward() that added into it
                g.line(f"G._vc[0] = {arg}")
            g.line("G = None")
        elif kind == "grad_none":
            g.line(f"{_leaf_expr(g, target)}._grad = None")
        elif kind == "state":
            opt, p, key = target
            g.line(f"{g.const(opt, 'O')}.state.setdefault({g.const(p, 'P')}, {{}})[{key!r}] = "
                   f"{val}")
        elif kind == "counter":
            opt, p = target
            g.line(f"st = {g.const(opt, 'O')}.state.setdefault({g.const(p, 'P')}, {{}})")
            g.line(f"st['step'] = st.get('step', 0) + {arg}")
    for k in range(n_out):
        g.line(wrap_src(f"o{k}", f"r[{at[k]}]" if rp is not None else f"asarray(r[{at[k]}])"))
    g.line(f"return {_out_expr(call.out_spec, g)}")
    src = "def fast(args):\n" + "\n".join(g.lines) + "\n"
    if g.cells:  # ``fast`` inside a factory holding its closure variables
        names = ", ".join(g.cells)
        src = f"def factory({names}):\n" + "".join(
            "    " + ln + "\n" for ln in src.splitlines()[:1] + [f"    nonlocal {names}"]
            + src.splitlines()[1:]) + "    return fast\n"
    from staticgraph.compiler.code_cache import compiled  # (its text's code: cached on disk)

    exec(compiled(src, f"<dynamic.compile fast path of {call.owner.__name__}>"), g.ns)  # noqa: S102
    fast = g.ns["factory"](*g.cells.values()) if g.cells else g.ns["fast"]
    fast.source = src
    fast.direct = bool(direct)
    fast.caches = g.caches
    return fast


__all__ = ["MISS", "Tensor", "build"]
