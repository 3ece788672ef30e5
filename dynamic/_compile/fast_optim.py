"""The fast path's reads of optimizer settings (:mod:`.fastpath`): param-group guards and the
host feeds (SGD's ``-lr``, Adam's bias-corrected step size and ``sqrt(1 - beta2**step)``),
generated as source lines of the fast path's function.

A guard on a param group's simple values is one ``itemgetter(names)(group) != values``
compare; SGD's ``-lr`` array is cached per ``lr`` object; Adam's two host feeds per parameter
are cached per call and shared by the parameters of a group at the same step (on
``nn-xor-adam``'s four parameters: two computations per call instead of eight).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from .optim_graph import AdamHost, GroupValue, NegLR, StatePresent

NOTHING = object()  # an empty cache slot (never an ``lr``)
EMPTY: dict = {}  # an absent state dict (only read)


def _state_guard(g: Any, f: Any, v: Any, groups: dict) -> str:
    """A guard ``f() != v`` as an expression; a param group's value and the presence of an
    optimizer state entry read inline."""
    if isinstance(f, GroupValue) and type(v) in (bool, int, float, str, type(None)):
        return f"{_group(g, f.opt, f.gi, groups)}[{f.name!r}] != {g.const(v)}"
    if isinstance(f, StatePresent) and type(v) is bool:
        st = f"{g.const(f.opt, 'O')}.state"
        if f.key is None:
            return f"{'not ' if v else ''}{st}.get({g.const(f.p, 'P')})"
        g.ns["EMPTY"] = EMPTY
        got = f"{st}.get({g.const(f.p, 'P')}, EMPTY).get({f.key!r})"
        return f"{got} is {'' if v else 'not '}None"
    return f"{g.const(f)}() != {g.const(v)}"


def group_guards(g: Any, checks: list, groups: dict) -> list[str]:
    """The state guards as expressions: a param group's simple values compared at once
    (``itemgetter(names)(group) != values``: one C call and a tuple compare instead of one
    lookup and compare per name), the others one by one."""
    simple: dict = {}
    out = []
    for f, v in checks:
        if isinstance(f, GroupValue) and type(v) in (bool, int, float, str, type(None)):
            simple.setdefault((id(f.opt), f.gi), (f.opt, f.gi, []))[2].append((f.name, v))
        else:
            out.append(_state_guard(g, f, v, groups))
    for opt, gi, items in simple.values():
        grp = _group(g, opt, gi, groups)
        if len(items) == 1:
            out.append(_state_guard(g, GroupValue(opt, gi, items[0][0]), items[0][1], groups))
            continue
        get = g.const(itemgetter(*[n for n, _ in items]), "IG")
        out.append(f"{get}({grp}) != {g.const(tuple(v for _, v in items))}")
    return out


def _group(g: Any, opt: Any, gi: int, groups: dict) -> str:
    """A local holding ``opt.param_groups[gi]`` (read once per call)."""
    key = (id(opt), gi)
    name = groups.get(key)
    if name is None:
        name = groups[key] = f"g{len(groups)}"
        g.line(f"{name} = {g.const(opt, 'O')}.param_groups[{gi}]")
    return name


def host_expr(g: Any, fn: Any, k: int, groups: dict) -> str:
    """The host feed ``fn()``; SGD's ``-lr`` cached per ``lr`` object (recomputed when the
    group's ``lr`` is another object; never cached for a non-float ``lr``); Adam's
    (:func:`_adam_host`) shared by the parameters at the same step."""
    if isinstance(fn, AdamHost):
        return _adam_host(g, fn, k, groups)
    if not isinstance(fn, NegLR):
        return f"{g.const(fn, 'H')}()"
    cache = g.const([NOTHING, None], "K")
    grp = _group(g, fn.opt, fn.gi, groups)
    g.line(f"lr{k} = {grp}['lr']")
    g.line(f"if lr{k} is not {cache}[0]:")
    g.line(f"    {cache}[1] = asarray(-lr{k}, {g.const(fn.dtype)})")
    g.line(f"    {cache}[0] = lr{k} if lr{k}.__class__ is float else None")
    return f"{cache}[1]"


def _adam_host(g: Any, fn: AdamHost, k: int, groups: dict) -> str:
    """Adam's host feed ``fn`` through a cache shared by the feeds of one kind, beta, dtype and
    param group: ``[step, lr, value]``, recomputed when this parameter's step (an ``int``)
    or the group's ``lr`` object (a ``float``) is another; so the parameters of a group,
    all at the same step, compute each value once per call instead of once each."""
    key = ("adam", fn.kind, id(fn.opt), fn.gi, fn.beta, fn.dtype)
    box = g.shared.get(key)
    if box is None:
        box = g.shared[key] = g.const([None, NOTHING, None], "KA")
        g.caches.append(g.ns[box])
    sd = g.state_dicts.get((id(fn.opt), id(fn.p))) or \
        f"{g.const(fn.opt, 'O')}.state[{g.const(fn.p, 'P')}]"  # (the local the guards read)
    n = f"{fn.done + 1}" if fn.init else f"{sd}['step'] + {fn.done + 1}"
    g.line(f"an{k} = {n}")
    test = f"an{k}.__class__ is not int or an{k} != {box}[0]"
    if fn.kind == "lr":
        grp = _group(g, fn.opt, fn.gi, groups)
        g.line(f"lr{k} = {grp}['lr']")
        test += f" or lr{k} is not {box}[1]"
    g.line(f"if {test}:")  # AdamHost.__call__'s arithmetic, inline (no second step lookup)
    b, dt = g.const(fn.beta, "BETA"), g.const(fn.dtype, "DT")
    val = f"(1 - {b} ** an{k}) ** 0.5" if fn.kind == "bc2" else f"-lr{k} / (1 - {b} ** an{k})"
    g.line(f"    {box}[2] = asarray({val}, {dt})")
    g.line(f"    {box}[0] = an{k}")
    if fn.kind == "lr":
        g.line(f"    {box}[1] = lr{k} if lr{k}.__class__ is float else NOTHING")
    g.line(f"ah{k} = {box}[2]")  # this parameter's value (the box may change for the next)
    return f"ah{k}"


__all__ = ["NOTHING", "group_guards", "host_expr"]
