"""What a whole step's eager rerun may write, saved before it and put back if it raises.

A replay whose kernel rejects the call's values (a class label out of range) has written
nothing; the call then runs eagerly so that eager's error is raised at the user's line with
eager's message (``compiled.CompiledFunction._kernel_error``). Eager would have made its writes
before the failing line (``zero_grad``, an earlier ``backward``); the plan's effects name every
tensor and state entry the step writes, so those are saved first and restored when the eager
run raises: parameters, their ``.grad`` (the object, its values and version), optimizer state
and step counts are as they were before the call, as a failing compiled run leaves them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .call import resolve
from .plan import GuardFailed


def _tensor(t: Any) -> tuple:
    return t, t._data, np.array(t._data, copy=True), t._vc[0]


def _put_tensor(saved: tuple) -> None:
    t, arr, vals, ver = saved
    t._data = arr
    np.copyto(arr, vals)
    t._vc[0] = ver


def save(call: Any, tensors: list) -> list:
    """The current values of everything ``call``'s effects write (see :func:`restore`)."""
    out: list = []
    feed = [tensors[i] for i in call.input_pos]
    for d in call.desc:
        try:
            feed.append(resolve(d, tensors))
        except GuardFailed:  # a .grad feed that is None now: nothing of it to save
            feed.append(None)
    for kind, target, _arg, _idx, _copy in call.effects:
        if kind == "copy" and feed[target] is not None:
            out.append(("tensor", _tensor(feed[target])))
        elif kind in ("grad_set", "grad_none"):
            leaf = resolve(target, tensors)
            g = leaf._grad
            out.append(("grad", leaf, g, None if g is None else _tensor(g)))
        elif kind in ("state", "counter"):
            opt, p = target[0], target[1]
            st = opt.state.get(p)
            out.append(("state", opt, p, st, None if st is None else {
                k: (v, np.array(v, copy=True) if isinstance(v, np.ndarray) else v)
                for k, v in st.items()}))
    return out


def restore(saved: list) -> None:
    """Put back what :func:`save` saved (each state dict and array object as it was)."""
    for entry in saved:
        if entry[0] == "tensor":
            _put_tensor(entry[1])
        elif entry[0] == "grad":
            _, leaf, g, vals = entry
            leaf._grad = g
            if vals is not None:
                _put_tensor(vals)
        else:
            _, opt, p, st, items = entry
            if st is None:
                opt.state.pop(p, None)
                continue
            st.clear()
            for k, (v, copy) in items.items():
                if isinstance(v, np.ndarray):
                    np.copyto(v, copy)
                st[k] = v
            opt.state[p] = st


__all__ = ["restore", "save"]
