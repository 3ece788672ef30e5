"""What a capture run did besides computing tensors: the things a replayed graph would not do.

A replay runs only the graph, so a call whose capture run printed, appended to a list that
outlives the call, set a module attribute or a global, drew random numbers, registered a tensor
hook or kept a non-leaf's ``.grad`` cannot be replayed: :class:`EffectWatch` notices each of
these (a profile function during the capture run, and snapshots before and after) and names
it, and that signature stays eager. The same profile function reports backward passes,
optimizer steps and ``zero_grad`` to the whole-step capture (:mod:`.step`).
"""

from __future__ import annotations

import builtins
import os
import sys
import weakref
from typing import Any

from .. import _random
from .._tensor import Tensor
from .capture import _LIB_DIRS
from .deferred import hooked

_MUTATORS = {
    list: {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"},
    dict: {"update", "pop", "popitem", "setdefault", "clear"},
    set: {"add", "update", "discard", "remove", "pop", "clear"},
}
_GC_CALLBACKS = frozenset(type(w)()._remove.__code__ for w in (
    weakref.WeakSet(), weakref.WeakKeyDictionary(), weakref.WeakValueDictionary()))
"""The weak containers' removal callbacks: they run whenever the collector frees an entry
(at any allocation of the capture run), so their ``discard``/``append`` is no effect of the
function's."""
_WATCHED = {
    Tensor.register_hook.__code__: "register_hook() inside the function",
    Tensor.retain_grad.__code__: "retain_grad() inside the function",
}


_USER: dict[str, bool] = {}  # co_filename -> outside dynamic, staticgraph and numpy


def _is_user(frame: Any) -> bool:
    fn = frame.f_code.co_filename
    user = _USER.get(fn)
    if user is None:
        user = _USER[fn] = not os.path.abspath(fn).startswith(_LIB_DIRS)
    return user


def _module_state(m: Any) -> dict:
    """Identities of a module's attributes, parameters and buffers."""
    d = m.__dict__
    state = {k: id(v) for k, v in d.items()}
    for key in ("_parameters", "_buffers"):
        state.update({(key, k): id(v) for k, v in d.get(key, {}).items()})
    return state


class EffectWatch:
    """Context manager around a capture run; ``reasons`` lists what it saw."""

    def __init__(self, fn: Any, modules: list, step: Any = None) -> None:
        self.fn = fn
        self.step = step  # the capture's StepCapture: sees backward/optimizer calls
        self.modules = modules
        self.reasons: list[str] = []
        self.containers: list[tuple[Any, str]] = []

    def __enter__(self) -> EffectWatch:
        self._rng = _random._GEN[0]
        self._rng_state = self._rng.bit_generator.state
        self._mods = [(m, _module_state(m)) for m in self.modules]
        code = getattr(self.fn, "__code__", None)
        g = getattr(self.fn, "__globals__", {})
        self._globals = {n: id(g[n]) for n in (code.co_names if code else ()) if n in g}
        self._prev = sys.getprofile()
        self._patch = None
        if self.step is not None and self.step.cap.deferred is not None:
            self._patch = hooked()  # backward of pending values (deferred.py)
            self._patch.__enter__()
        sys.setprofile(self._profile_fn())
        return self

    def _profile_fn(self) -> Any:
        """The profile function: a closure over what it reads (it runs at every Python call,
        return and builtin call of the capture run, so each attribute lookup counts); the
        events it ignores (``c_return``, calls of code neither the step capture nor
        :data:`_WATCHED` knows) cost one dict lookup."""
        step_event = self.step.event if self.step is not None else None
        codes = dict.fromkeys(self.step.hooks if self.step is not None else (), True)
        codes.update(dict.fromkeys(_WATCHED, False))
        reasons, containers, mutators = self.reasons, self.containers, _MUTATORS
        prnt, gc_codes, watched = builtins.print, _GC_CALLBACKS, _WATCHED

        def profile(frame: Any, event: str, arg: Any) -> None:
            if event == "c_call":
                if arg is prnt:
                    if "print() inside the function" not in reasons:
                        reasons.append("print() inside the function")
                    return
                owner = getattr(arg, "__self__", None)
                names = mutators.get(type(owner))
                if names is None or arg.__name__ not in names:
                    return
                code = frame.f_code
                if code not in gc_codes and _is_user(frame):
                    containers.append((owner, f"{type(owner).__name__}.{arg.__name__}() at "
                                              f"{code.co_filename}:{frame.f_lineno}"))
            elif event == "call" or event == "return":
                code = frame.f_code
                step = codes.get(code)
                if step is None:
                    return
                if step:
                    step_event(frame, event, arg)
                elif event == "call":
                    why = watched[code]
                    if why not in reasons:
                        reasons.append(why)

        return profile

    def __exit__(self, *exc: Any) -> None:
        sys.setprofile(self._prev)
        if self._patch is not None:
            self._patch.__exit__(None, None, None)
            self.step.cap.deferred.end_body()  # pending writes: plain classes again

    def finish(self, result: Any) -> list[str]:
        """The reasons, given the function's ``result`` (containers it returns are its own)."""
        reasons = list(self.reasons)
        if _random._GEN[0] is not self._rng or self._rng.bit_generator.state != self._rng_state:
            reasons.append("random numbers drawn inside the function (dropout, rand...)")
        for m, before in self._mods:
            if _module_state(m) != before:
                reasons.append(f"an attribute of {type(m).__name__} was set inside the function")
                break
        g = getattr(self.fn, "__globals__", {})
        changed = [n for n, i in self._globals.items() if id(g.get(n)) != i]
        if changed:
            reasons.append(f"global {changed[0]!r} was assigned inside the function")
        owned = _ids(result)
        seen: set[int] = set()
        for obj, where in self.containers:
            if id(obj) in owned or id(obj) in seen:
                continue
            seen.add(id(obj))
            # our records, the loop variable and getrefcount's argument hold a dead local
            if sys.getrefcount(obj) > 2 + sum(o is obj for o, _ in self.containers):
                reasons.append(f"{where} on a container that outlives the call")
                break
        self.containers.clear()
        return reasons


def _ids(x: Any, out: set | None = None) -> set[int]:
    out = set() if out is None else out
    out.add(id(x))
    if isinstance(x, (list, tuple, set)):
        for i in x:
            _ids(i, out)
    elif isinstance(x, dict):
        for i in x.values():
            _ids(i, out)
    return out
