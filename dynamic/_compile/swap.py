"""Parameter write-back by reference: after a whole-step run, a parameter's new value becomes its
storage (``p._data = new``) instead of being copied into the old array, as the static mode swaps
a variable's value, whenever nobody can see the difference.

Who can see it: anyone holding the parameter's array (``p.data``, ``p.numpy()``, a view, a
tensor sharing the storage, autograd's saved arrays). Each of them holds a reference to the
array (a numpy view holds its base; an array that is itself a view is never swapped, since views
of it reference its base instead), so the generated fast path swaps only when the array's
reference count is what the fast path's own locals explain; otherwise it copies, as before.

The new value is an escape buffer of the compiled instance. The executor's
:meth:`~staticgraph.compiler.cpu.instance.Instance.taker` takes it out of its pool, so the
instance holds no reference to the parameter's storage and never writes into it again, and
puts the parameter's previous array (ours since the last swap, unreferenced) in its place:
two buffers per parameter, no allocation, no copy. The instance is found once per fast path,
on its first run (plans with exact input shapes only: one instance).

Small parameters are copied, not swapped (:data:`SWAP_MIN_BYTES`): below a few KiB the copy
(``x[...] = new``, ~0.3 us) costs less than the swap's reference-count tests plus the
instance's ``take`` call, so the xor models (parameters of 4 to 128 bytes) copy and
``mlp-step``'s 1.6 MB ``W1`` swaps.
"""

from __future__ import annotations

from typing import Any

SWAP_MIN_BYTES = 4096  # a parameter smaller than this is copied back (module docstring)


def taker_for(runner: Any, feeds: list, positions: list[int]) -> Any:
    """The instance's ``take`` for these result positions, or ``False`` when the feeds run on
    the reference executor or a control-flow driver (the fast path then copies)."""
    inst = runner.instance(feeds) if hasattr(runner, "instance") else None
    return False if inst is None else inst.taker(positions)


def swap_lines(g: Any, swaps: list[tuple[int, int, int]]) -> tuple[list[str], list[str]]:
    """Source lines (inside ``if tk:``) swapping each ``(ext j, result position q, version
    delta)`` and, for the ``else`` branch, the plain copies. ``xJ`` holds the parameter's array
    on entry, ``eJ`` the tensor, ``F`` the feed list, ``r`` the results."""
    swap, copy = [], []
    gives = []
    for s, (j, q, delta) in enumerate(swaps):
        last = g.const([None], "L")
        g.caches.append(g.ns[last])  # emptied when the fast path is dropped
        x, e, n = f"x{j}", f"e{j}", f"n{s}"
        # references on entry: the tensor's slot, the local, F, getrefcount's argument, and
        # ``last`` when the array is the one swapped in by the previous call
        swap += [f"{n} = r[{q}]",
                 f"if {x} is {last}[0] and rc({x}) == 5:",
                 f"    gv{s} = {x}",
                 f"    {e}._data = {last}[0] = {n}",
                 f"elif {x}.base is None and rc({x}) == 4:",
                 f"    gv{s} = None",
                 f"    {e}._data = {last}[0] = {n}",
                 "else:",
                 f"    {x}[...] = {n}",
                 f"    gv{s} = {n}",
                 f"{e}._vc[0] += {delta}"]
        gives.append(f"gv{s}")
        copy += [f"{x}[...] = r[{q}]", f"{e}._vc[0] += {delta}"]
    swap.append(f"tk(r, [{', '.join(gives)}])")
    return swap, copy
