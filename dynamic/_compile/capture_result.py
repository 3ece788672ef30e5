"""What a finished capture gives its plan (:mod:`.compiled`): the output spec (graph outputs,
inputs and captured tensors passed through), the writes a whole step's replay repeats (copies
into captured tensors, ``.grad`` set at eager's version or ``None``, optimizer state and step
counts) and the first run's check against the values the eager capture run computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import GRAD_ENABLED
from .call import CompiledCall
from .capture import Capture
from .check import close
from .plan import GuardFailed
from .structure import fill, leaf_specs, out_struct
from .traced_array import TracedArray


def first_run_check(call: CompiledCall, cap: Capture, tensors: list,
               result: Any) -> str | None:
    """Compile the plan now (the first call pays the compile, as in the static mode) and
    check it, fed the values the capture run started from, against what the eager run
    computed (its results and, for a whole step, the values it wrote); a reason when they
    differ."""
    feed = [tensors[i] for i in call.input_pos] + [t for t, *_ in cap.externals]
    needs = tuple(t._requires_grad for t in feed) if not call.step and GRAD_ENABLED[0] \
        and any(t._requires_grad for t in feed) else None
    arrays = [cap.entry[g] for g in call.plan.feeds]
    try:
        outs, res = call.plan.forward(arrays, needs)
    except GuardFailed:
        return "the compiled plan's guards fail on the capture's own inputs"
    leaves: list = []
    out_struct(result, leaves)
    pairs = [(leaf._data, outs[rest[0]]) for (kind, *rest), leaf
             in zip(leaf_specs(call.out_spec), leaves, strict=True) if kind == "out"]
    if call.step:
        pairs += [(call.written(kind, obj, feed, tensors), res[idx])
                  for kind, obj, _, idx, _ in call.effects if idx >= 0]
    for want, got in pairs:
        want, got = np.asarray(want), np.asarray(got)
        tol = 1e-3 if want.dtype.itemsize <= 4 else 1e-8
        if not close(got, want, tol):
            return "the compiled plan's result differs from the eager result"
    if needs is not None:
        b = call.plan.backward_for(needs)
        cots = [np.ones_like(outs[k]) for k in b.float_pos]
        b.run(call.plan, arrays, res, cots)
    return None


def outputs(cap: Capture, result: Any, tensors: list) -> tuple:
    """The output spec: graph outputs, inputs and captured tensors passed through."""
    outputs: list = []
    out_grad: list[bool] = []
    index: dict[int, int] = {}
    inputs = {id(t): i for i, t in enumerate(tensors)}
    exts = {id(t): j for j, (t, *_) in enumerate(cap.externals)}
    leaves: list = []
    struct = out_struct(result, leaves)
    ids = {id(t) for t in leaves}
    specs = []
    for t in leaves:
        if not isinstance(t, Tensor):
            specs.append(("value", t))
            continue
        if id(t) in inputs:
            specs.append(("input", inputs[id(t)]))
            continue
        if id(t) in exts:
            specs.append(("ext", exts[id(t)]))
            continue
        base = t._base
        if base is not None and (id(base) in inputs or id(base) in exts or id(base) in ids
                                 or id(base) not in cap.tensors):
            cap.fail("the function returns a view of an input or of another output",
                     "the return value")
        g = cap.graph_tensor(t) if id(t) in cap.tensors else None
        if g is None:
            if isinstance(t._data, TracedArray) or id(t) in cap.tensors:
                cap.fail("an output was not computed by registry ops", "the return value")
            specs.append(("value", t))
            continue
        if id(t) not in index:
            index[id(t)] = len(outputs)
            outputs.append(g)
            out_grad.append(bool(t._requires_grad))
        specs.append(("out", index[id(t)]))
    it = iter(specs)
    return fill(struct, it), outputs, out_grad


def extra_index(extras: list, g: Any) -> int:
    if g is None:
        return -1
    extras.append(g)
    return len(extras) - 1


def effects(cap: Capture) -> tuple[list, list]:
    """The writes a replay repeats: (kind, target, arg, graph tensor) and the grad guards."""
    out: list = []
    feeds = [t for t, _ in cap.inputs] + [t for t, *_ in cap.externals]
    for k, t in enumerate(feeds):
        g = cap.final_value(t)
        if g is not None:
            out.append(("copy", k, t._vc[0] - cap.entry_vc[id(t)], g))
    guards: list = []
    if cap.step.active:
        effects, guards = cap.step.finish()
        for kind, obj, g in effects:  # a .grad set anew: at eager's version (bumped by each
            arg = obj._grad._vc[0] if kind == "grad_set" else None  # backward adding into it)
            out.append((kind, obj, g, None) if kind == "counter" else (kind, obj, arg, g))
    return out, guards


__all__ = ["effects", "extra_index", "first_run_check", "outputs"]
