"""The fast path's run as one call of the compiled single driver, with result buffers of its own.

A small plan runs as one numba-compiled driver (``staticgraph.compiler.cpu.njit_driver``):
``drv(feeds..., escape buffers..., A, O)``. Its instance's ``call`` picks each escape buffer
from a pool (a reference-count test per result, since the caller may still hold last run's
result), calls the driver, and returns the buffers in a list; the fast path then copies the
new parameter values into the parameters' arrays and each ``.grad`` into the recycled
``.grad`` tensor's array (:mod:`.grad_recycle`). On ``xor-linear``'s step (5 feeds, 5
results) the instance's call cost 1.58 us of which the driver 1.17; each copy ~0.15 us.

Here the fast path owns one buffer per result (``bJ``, closure cells of the generated
function) and calls the driver itself, under the instance's lock (the arena ``A`` is shared
with the instance's own runs; the buffers and the write-back are ours). After the run:

* a parameter's new value (a ``copy`` effect of a captured tensor, same dtype) becomes its
  storage when nobody else holds its array (the reference-count test of :mod:`.swap`: the
  tensor, the local, the identity cache, the argument), and its old array becomes our
  buffer for the next run; otherwise it is copied in, and our buffer stays ours;
* a new ``.grad`` replaces the storage of the ``.grad`` tensor the fast path made last time
  when no one can observe that tensor (:mod:`.grad_recycle`'s test), and the old array
  becomes our buffer; otherwise the ``.grad`` is a new tensor on our buffer, and we take a
  new buffer;
* an output (the loss) or optimizer state wraps our buffer; before the next run a buffer
  that someone still holds is replaced by a new one (the state array a run replaced becomes
  our buffer when nobody holds it: momentum buffers alternate between two arrays).

So every run writes only into arrays nobody else references, and nothing outside them is
written before the driver returned: an exception of the driver (an argument of another
memory layout, a kernel's error) leaves every tensor as it was, and the same feeds then run
through the executor's runner (which normalizes layouts and maps errors to the op at fault).

Applies to a plan with exact input shapes bound to one instance running the numba single
driver (not the native tier, which hands over to numba later: the fast path is rebuilt then),
with no graph variables, each fetched value returned in its own escape buffer and used once.
"""

from __future__ import annotations

from sys import getrefcount
from typing import Any

import numpy as np

from .grad_recycle import UNSET, bind, recycle_test

ENABLED = True
"""Off: the fast path calls the instance (tests of that path; A/B measurements)."""


def instance_of(rp: Any) -> Any:
    """The one bound instance of ``rp``'s runner, or ``None``."""
    bound = getattr(rp.runner, "bound", None)
    if not bound or len(bound) != 1:
        return None
    inst = next(iter(bound.values()))
    return inst if hasattr(inst, "tier") else None  # not the reference executor's marker


def escapes_for(inst: Any, at: list[int], used: list[int]) -> list[int] | None:
    """The escape buffer index of each fetch (``at``: fetch -> result position), or ``None``
    when the instance is not a numba single driver or a fetch has no escape buffer of its
    own (``used``: the fetches something reads)."""
    if inst.tier != "numba" or getattr(inst, "driver_args", None) is None or not inst.small:
        return None
    prog, src = inst.plan.prog, inst.plan.njit_src
    if src is None or prog.variables or prog.updates:
        return None
    if any(w != "e" for w, _ in src.returns):
        return None
    qs = [at[k] for k in used]
    if len(set(qs)) != len(qs):
        return None  # one result read twice: the general copies handle it
    return [src.returns[q][1] for q in at]


def feed_args(inst: Any, feeds: list[str]) -> list[str]:
    """The driver's feed arguments, from the fast path's feed expressions in feed order."""
    return [feeds[i] for i in inst.plan.njit_src.feeds]


def c_order(x: np.ndarray) -> np.ndarray:
    """``x``, or a C-contiguous copy of it. The driver is compiled for C-contiguous arrays
    (numba's dispatcher rejects others) and only reads its feeds. A captured tensor may hold
    another layout for good: eager's gradient of ``nn.Linear``'s weight is a transposed
    (Fortran-order) array, which ``zero_grad(set_to_none=False)`` zeroes in place and each
    step then writes in place (``x[...] = new`` keeps any layout)."""
    return x if x.flags.c_contiguous else np.ascontiguousarray(x)


def ext_feed(x: str, seen: str | None) -> str:
    """The driver's argument for captured tensor array ``x``: itself when it is the array of
    its identity cache ``seen`` (which holds C-contiguous arrays only), else :func:`c_order`
    of it (an expression, no local: a swap's reference count must not see it)."""
    return f"({x} if {x} is {seen}[0] else CO({x}))" if seen else f"CO({x})"


def new_buffers(inst: Any) -> list[np.ndarray]:
    """One buffer per escape slot, as the instance's own (shape, dtype, C order)."""
    return [np.empty_like(inst.buffers[sl], order="C") for sl in inst.plan.njit_src.escapes]


def param_lines(x: str, e: str, b: str, refs: int, seen: str | None, delta: int) -> list[str]:
    """Parameter ``e`` (array in local ``x``) takes the new value in ``b``: by reference when
    ``x`` has exactly ``refs`` references (module docstring), else by copy."""
    swap = [f"    {e}._data = {b}", *([f"    {seen}[0] = {b}"] if seen else []),
            f"    {b} = {x}"]
    return [f"if {x}.base is None and rc({x}) == {refs}:", *swap,
            "else:", f"    {x}[...] = {b}", f"{e}._vc[0] += {delta}"]


def grad_lines(leaf: str, b: str, lg: str, ld: str, version: int = 0) -> list[str]:
    """``leaf``'s new ``.grad`` (in ``b``) at version ``version``: the last one's storage
    replaced when nobody can observe it (``lg``/``ld``: the tensor and array the fast path
    gave last), else a new tensor on ``b`` and a new buffer."""
    return [f"G = {leaf}._grad",
            f"if G is {lg} and G._data is {ld} and {recycle_test('G', ld, version)}:",
            f"    G._data = {b}",
            f"    {ld}, {b} = {b}, {ld}",
            "else:",
            f"    {leaf}._grad = {lg} = make({b})",
            *([f"    {lg}._vc[0] = {version}"] if version else []),
            f"    {ld} = {b}",
            f"    {b} = empty_like({b})",
            "G = None"]


def block(g: Any, call: Any, rp: Any, key_avals: tuple, feeds: list[str],
          seen_ext: dict[int, str], n_out: int, leaf_expr: Any, out_expr: Any) -> list[str]:
    """Fast-path source running the plan through the driver with our buffers and returning
    the call's result (module docstring), or ``[]`` where it does not apply. Runs after the
    guards: ``aI``/``dI`` hold the inputs and their arrays, ``eJ``/``xJ`` the captured tensors
    and theirs, ``feeds`` the feed expressions; ``seen_ext`` maps a captured tensor to its
    identity cache; ``leaf_expr``/``out_expr`` are the fast path's source helpers."""
    inst = instance_of(rp) if ENABLED else None
    if inst is None:
        return []
    if inst.tier == "native":  # rebuilt once numba's driver takes over
        inst.subscribe(lambda old, new: drop(call))
        if inst.tier == "native":  # (else it took over meanwhile: go on)
            return []
    effects = call.effects
    if any(cp or (idx < 0 and kind in ("copy", "grad_set")) for kind, _, _, idx, cp in effects):
        return []
    at = list(rp.leaf_pos)
    used = list(range(n_out)) + [n_out + idx for *_, idx, _ in effects if idx >= 0]
    esc = escapes_for(inst, at, used)
    if esc is None:
        return []
    g.ns.update(rc=getrefcount, empty_like=np.empty_like, CO=c_order)
    bind(g.ns)
    b = [g.cell("qb", buf) for buf in new_buffers(inst)]
    drv, A, O = inst.driver_args
    plan, n_in = call.plan, len(call.input_pos)
    feeds = list(feeds)
    for j in range(len(call.desc)):
        feeds[n_in + j] = ext_feed(feeds[n_in + j], seen_ext.get(j))
    args = feed_args(inst, feeds) + b + [g.const(A, "AR"), g.const(O, "AO")]
    pre: list[str] = []
    body: list[str] = []

    def held(m: int) -> None:  # a buffer the caller may keep: replaced before a run if held
        pre.append(f"if rc({b[m]}) > 2: {b[m]} = empty_like({b[m]})")

    for kind, target, arg, idx, _ in effects:
        m = esc[n_out + idx] if idx >= 0 else -1
        if kind == "copy":
            dt = plan.extras[idx].dtype.np_dtype
            if target >= n_in:
                j = target - n_in
                if call.desc[j][0] != "grad" and dt == call.ext_avals[j][1]:
                    body += param_lines(f"x{j}", f"e{j}", b[m], 4 if j in seen_ext else 3,
                                        seen_ext.get(j), arg)
                    continue
                t, tt, want = f"x{j}", f"e{j}", call.ext_avals[j][1]
            else:
                i = call.input_pos[target]
                t, tt, want = f"d{i}", f"a{i}", key_avals[i][1]
            body.append(f"{t}[...] = {b[m]}" if dt == want else
                        f"copyto({t}, {b[m]}, casting='unsafe')")
            body.append(f"{tt}._vc[0] += {arg}")
        elif kind == "grad_set":
            body += grad_lines(leaf_expr(g, target), b[m], g.cell("qg", UNSET),
                               g.cell("qd", None), arg)
        elif kind == "grad_none":
            body.append(f"{leaf_expr(g, target)}._grad = None")
        elif kind == "state":
            opt, p, key = target
            if m >= 0:
                held(m)
            body.append(f"{state_dict(g, opt, p)}[{key!r}] = {b[m] if m >= 0 else None}")
            k = next((k for k, (o, q, kk) in enumerate(call.state)
                      if o is opt and q is p and kk == key), None)
            if m >= 0 and k is not None:  # the state it replaces, if nobody holds it: our buffer
                if k in g.state_seen:  # known by identity at the next call's check
                    body.append(f"{g.state_seen[k]} = {b[m]}")
                body += [f"if s{k}.base is None and rc(s{k}) == 2:", f"    {b[m]} = s{k}"]
        elif kind == "counter":
            opt, p = target
            body.append(f"st = {state_dict(g, opt, p)}")
            body.append(f"st['step'] = st.get('step', 0) + {arg}")
        else:
            return []
    for k in range(n_out):
        held(esc[k])
        body.append(f"o{k} = make({b[esc[k]]})")
    body.append(f"return {out_expr(call.out_spec, g)}")
    return [f"with {g.const(inst.lock, 'LK')}:", *("    " + ln for ln in pre), "    try:",
            f"        {g.const(drv, 'DRV')}({', '.join(args)})",
            "    except Exception:  # the runner below maps the error or normalizes layouts",
            "        pass", "    else:", *("        " + ln for ln in body)]


def state_dict(g: Any, opt: Any, p: Any) -> str:
    """Source for ``opt.state[p]``, made if absent: the local the guards read it into, when
    they did (the state existed on entry and nothing between replaces the dict)."""
    sd = g.state_dicts.get((id(opt), id(p)))
    return sd or f"{g.const(opt, 'O')}.state.setdefault({g.const(p, 'P')}, {{}})"


def drop(call: Any) -> None:
    """Forget ``call``'s fast path (the next call builds it again: the instance changed)."""
    old, call.fast = call.fast, None
    if old and call.owner._hot is old:
        call.owner._hot = None
    for box in getattr(old, "caches", ()):  # the old path's references to parameter arrays
        box[0] = None  # (its namespace is a cycle, freed only by the cycle collector)


__all__ = ["ENABLED", "block", "c_order", "drop", "escapes_for", "ext_feed", "feed_args",
           "grad_lines", "instance_of", "new_buffers", "param_lines", "state_dict"]
