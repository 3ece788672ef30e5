"""The ``compile`` oracle: each program's eager form run through ``dynamic.compile`` (issue #14:
"correct or eager, never wrong"), checked against the same protocol run eagerly.

The program becomes a Python function of its placeholder inputs (``def fuzz_fn(v0, ...)``, the
same node lines as the ``eager`` oracle); variables and constants are globals of that function
(captured tensors, fed from their storage at every call); an output that is a view is returned
as a copy (``OWN``: a view output makes ``dynamic.compile`` run eagerly). Calls: three with
the first batch size and fresh values each (capture with deferred values, the compiled plan,
the per-call fast path), then one per other batch size (a recompile with symbolic dims, then
the general plan).
Each call records the outputs (``y``), and with a gradient: ``autograd.grad`` of the outputs
(``g``; second order ``h`` through ``create_graph=True``), then ``backward()`` of the same
weighted sum into ``.grad`` (``a``: a variable's ``.grad`` accumulates over the calls, never
zeroed). Programs with variables also run a training step: ``zero_grad``, the forward, the
mean-of-outputs loss, ``backward()`` and ``SGD.step`` (momentum when the program's optimizer
is momentum) inside one compiled function (``loss`` as ``y``, the variables after the step as
``w``, their ``.grad`` as ``a``), on runs after the forward runs.

The eager twin is the uncompiled function under the same protocol (same data); the comparator
checks the compiled run against it (:func:`tests.fuzz.compare.compare_compile`). ``stats``
records whether the calls ran compiled: the plans made and the graph breaks with reasons.
"""

from __future__ import annotations

import textwrap

import numpy as np

from . import composites as K
from . import wide_forms as W
from .program import Data, Program
from .render import body

REPEATS = 3  # calls at the first batch size: capture, plan, fast path
STEP_ALL = True
"""Run the training-step protocol on every program with variables, not only on those with an
optimizer step (``prog.train``): a whole step's first compile is the oracle's dearest part."""


def calls_program(prog: Program) -> Program:
    """The program with one run per call: the forward protocol's sizes, then (with variables)
    the training step's same sizes (every run gets fresh values from :class:`Data`)."""
    b = list(prog.batches)
    seq = [b[0]] * REPEATS + b[1:]
    p = prog.copy()
    p.batches = seq + (seq if trains(prog) else [])
    return p


def trains(prog: Program) -> bool:
    """Whether the training-step protocol runs (:data:`STEP_ALL`)."""
    return (STEP_ALL or bool(prog.train)) and any(i.kind == "var" for i in prog.inputs)


def n_forward(prog: Program) -> int:
    """Forward runs of :func:`calls_program` (the rest are training steps)."""
    return REPEATS + len(prog.batches) - 1


def fn_source(prog: Program, src: str, step: bool) -> str:
    """The program as the function the protocol compiles (``step``: the training step)."""
    args = [f"v{i}" for i, inp in enumerate(prog.inputs) if inp.kind in ("ph", "int")]
    own = ", ".join(f"OWN(v{o})" for o in prog.outputs)
    lines = [f"def fuzz_{'step' if step else 'fn'}({', '.join(args)}):"]
    if step:
        lines.append("    OPT.zero_grad()")
    lines.append(textwrap.indent(src, "    ") if src else "    pass")
    if step:
        loss = " + ".join(f"ops.mean(v{o})" for o in prog.outputs)
        lines += [f"    loss = {loss}", "    loss.backward()", "    OPT.step()",
                  f"    return (loss, {own})"]
    else:
        lines.append(f"    return ({own},)")
    return "\n".join(lines)


def _own(t):
    """``t``, or a copy of it when it is a view: ``dynamic.compile`` runs a function that
    returns a view of an input or of another output eagerly (its plan's results are separate
    arrays), which would leave the program's compiled path untested."""
    return t.clone() if t._base is not None else t


def _namespace(prog: Program, data, dynamic, dt) -> dict:
    """Globals of the rendered function: the modules, and each variable (a leaf that needs a
    gradient) and constant as a fresh tensor of its own."""
    import dynamic.nn.functional as DF  # noqa: N812
    from staticgraph import ops

    ns = {"ops": ops, "np": np, "K": K, "W": W, "DF": DF, "DT": dt, "dynamic": dynamic,
          "OWN": _own}
    for i, inp in enumerate(prog.inputs):
        if inp.kind == "var":
            ns[f"v{i}"] = dynamic.tensor(np.array(data.static[i], copy=True), requires_grad=True)
        elif inp.kind == "const":
            ns[f"v{i}"] = dynamic.tensor(np.array(data.static[i], copy=True))
    return ns


def _args(prog: Program, feeds: dict, dynamic) -> list:
    return [dynamic.tensor(np.array(feeds[f"x{i}"]), requires_grad=inp.kind == "ph")
            for i, inp in enumerate(prog.inputs) if inp.kind in ("ph", "int")]


def run_protocol(prog: Program, data, compiled: bool) -> tuple[dict, dict, dict]:
    """``(values, errors, stats)`` of the protocol on :func:`calls_program`'s runs (``prog``
    is the original program; ``data`` serves the calls program's runs)."""
    import dynamic

    from .oracles import _err

    cp = calls_program(prog)
    dt = np.dtype(prog.dtype)
    src = body(prog, "dyn")
    values: dict = {}
    errors: dict = {}
    stats: dict = {"plans": 0, "breaks": []}
    nf = n_forward(prog)
    wrap = dynamic.compile if compiled else (lambda f: f)

    ns = _namespace(prog, data, dynamic, dt)
    exec(fn_source(prog, src, step=False), ns)  # noqa: S102 - our own rendered program
    fn = wrap(ns["fuzz_fn"])
    for k in range(nf):
        try:
            _forward_call(prog, fn, ns, data.batch(k), k, values, dynamic)
        except Exception as e:  # noqa: BLE001 - compared with the twin's outcome
            errors[k] = _err(e)
    _stats(fn, stats)
    if len(cp.batches) > nf:
        ns = _namespace(prog, data, dynamic, dt)
        params = [ns[f"v{i}"] for i, inp in enumerate(prog.inputs) if inp.kind == "var"]
        t = prog.train or {}
        ns["OPT"] = dynamic.optim.SGD(params, lr=0.1,
                                      momentum=0.9 if t.get("opt") == "momentum" else 0.0)
        exec(fn_source(prog, src, step=True), ns)  # noqa: S102
        step = wrap(ns["fuzz_step"])
        for k in range(nf, len(cp.batches)):
            try:
                _step_call(prog, step, ns, data.batch(k), k, values, dynamic)
            except Exception as e:  # noqa: BLE001
                errors[k] = _err(e)
        _stats(step, stats)
    return values, errors, stats


def mode(stats: dict | None) -> str | None:
    """How a case's compiled calls ran: ``compiled`` (plans, no graph break), ``partial``
    (plans and breaks: one of its functions, or some signatures, ran eagerly), ``eager``
    (no plan at all: a fuzzer that only falls back tests nothing)."""
    if stats is None:
        return None
    if not stats["breaks"]:
        return "compiled" if stats["plans"] else "eager"
    return "partial" if stats["plans"] else "eager"


def _stats(fn, stats: dict) -> None:
    stats["plans"] += getattr(fn, "n_plans", 0)
    stats["breaks"] += list(getattr(fn, "break_reasons", []))


def _np(t) -> np.ndarray:
    return t.detach().numpy().copy()


def _forward_call(prog: Program, fn, ns: dict, feeds: dict, k: int, values: dict,
                  dynamic) -> None:
    args = _args(prog, feeds, dynamic)
    ys = list(fn(*args))
    for j, y in enumerate(ys):
        values[f"b{k}/y{j}"] = _np(y)
    g = prog.grad
    if not g:
        return
    by_id = {f"v{i}": a for i, a in zip(
        [i for i, inp in enumerate(prog.inputs) if inp.kind in ("ph", "int")], args,
        strict=True)}
    wrt = [by_id.get(f"v{w}", ns.get(f"v{w}")) for w in g["wrt"]]
    gys = ([dynamic.tensor(feeds[f"gy{j}"]) for j in range(len(ys))] if g.get("ys")
           else [dynamic.ones_like(y) for y in ys])
    keep = [(y, gy) for y, gy in zip(ys, gys, strict=True) if y.requires_grad]
    if not keep:
        return
    second = bool(g.get("second"))
    G = dynamic.autograd.grad([y for y, _ in keep], wrt, [gy for _, gy in keep],
                              create_graph=second, retain_graph=True, allow_unused=True)
    for i, gi in enumerate(G):
        if gi is not None:
            values[f"b{k}/g{i}"] = _np(gi)
    pairs = [(gi, dynamic.tensor(feeds[f"gv{i}"])) for i, gi in enumerate(G)
             if second and gi is not None and gi.requires_grad]
    if pairs:
        H = dynamic.autograd.grad([a for a, _ in pairs], wrt, [b for _, b in pairs],
                                  retain_graph=True, allow_unused=True)
        for i, h in enumerate(H):
            if h is not None:
                values[f"b{k}/h{i}"] = _np(h)
    loss = None
    for y, gy in keep:
        term = (y * gy).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    for i, w in enumerate(wrt):
        if w.grad is not None:
            values[f"b{k}/a{i}"] = _np(w.grad)


def _step_call(prog: Program, step, ns: dict, feeds: dict, k: int, values: dict,
               dynamic) -> None:
    out = step(*_args(prog, feeds, dynamic))
    for j, y in enumerate(out):
        values[f"b{k}/y{j}"] = _np(y)
    for i, inp in enumerate(prog.inputs):
        if inp.kind == "var":
            p = ns[f"v{i}"]
            values[f"b{k}/w{i}"] = _np(p)
            if p.grad is not None:
                values[f"b{k}/a{i}"] = _np(p.grad)


def run_compile(prog: Program, data: Data):
    """The ``compile`` oracle's :class:`~tests.fuzz.oracles.Result`: the compiled protocol's
    values, with its eager twin as ``against`` (skipped where the eager oracle is)."""
    from .oracles import Result

    res = Result()
    if body(prog, "dyn") is None:
        res.skipped = "an op has no eager form"
        return res
    cp = calls_program(prog)
    cdata = Data(cp)
    res.values, res.errors, res.stats = run_protocol(prog, cdata, compiled=True)
    twin = Result()
    twin.values, twin.errors, _ = run_protocol(prog, cdata, compiled=False)
    res.against = twin
    res.calls = cp
    return res


def compile_snippet(prog: Program) -> str:
    """What a failing ``compile`` case runs: the functions (globals ``v{i}``: variables and
    constants; ``OPT``: the SGD optimizer), and how to replay it."""
    src = body(prog, "dyn") or ""
    parts = ["# dynamic.compile(fuzz_fn) / dynamic.compile(fuzz_step) against the same "
             "functions run eagerly", fn_source(prog, src, step=False)]
    if trains(prog):
        parts.append(fn_source(prog, src, step=True))
    parts.append(f"# calls at batch sizes {calls_program(prog).batches}; replay with: "
                 "python -m tests.fuzz --replay FILE.json --oracles reference,compile")
    return "\n\n".join(parts) + "\n"
