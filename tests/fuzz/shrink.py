"""Reduce a failing program to a small one that still fails the same way.

Greedy passes, repeated until none helps: fewer outputs, a simpler gradient request, no
optimizer, fewer and smaller batches, nodes bypassed (a node replaced by one of its operands of
the same shape) or cut (a node replaced by a fresh input of its shape), float64 instead of
float32, C-ordered feeds, no edge values, smaller static input dims. A candidate counts when
``still_fails(candidate)`` (same signature: which oracle disagrees, how, on which kind of
value). Shapes of every value are re-derived after an edit by evaluating the program with numpy
at three batch sizes; a candidate whose shapes cannot be re-derived is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

from . import composites as K
from .program import Input, Node, Program, compact, concrete, dim_value, refs
from .render import body

Pred = Callable[[Program], bool]
PROBE = (2, 3, 5)
SYM_FORMS = ("B", *(f"(B)*{k}" for k in range(2, 7)), *(f"(B)+{c}" for c in range(1, 7)),
             *(f"max((B)-{c},0)" for c in range(1, 4)), "((B)+1)//2")


def rederive_shapes(prog: Program) -> Program | None:
    """``prog`` with ``shapes`` recomputed from a numpy run at :data:`PROBE` batch sizes (a dim
    that varies keeps its old expression when that still fits, else becomes ``B``); None when
    the program does not run or a dim fits no expression."""
    from staticgraph import ops

    src = body(prog, "np")
    runs = []
    for b in PROBE:
        ns = {"ops": ops, "np": np, "K": K, "DT": np.dtype(prog.dtype)}
        for i, inp in enumerate(prog.inputs):
            shape = concrete(inp.shape, b)
            dt = np.int64 if inp.kind == "int" else np.dtype(prog.dtype)
            ns[f"v{i}"] = np.zeros(shape, dt)
        try:
            with np.errstate(all="ignore"):
                exec(src, ns)  # noqa: S102
        except Exception:  # noqa: BLE001
            return None
        runs.append([np.shape(ns[f"v{v}"]) for v in range(prog.n_values)])
    shapes = []
    for v in range(prog.n_values):
        old = prog.shapes[v] if v < len(prog.shapes) else None
        per = [r[v] for r in runs]
        if any(len(s) != len(per[0]) for s in per):
            return None
        shape = []
        for d in range(len(per[0])):
            vals = [s[d] for s in per]
            if len(set(vals)) == 1:
                shape.append(int(vals[0]))
                continue
            cands = ([old[d]] if old and len(old) == len(per[0]) else []) + list(SYM_FORMS)
            fit = [c for c in cands if isinstance(c, str) and
                   all(dim_value(c, b) == x for b, x in zip(PROBE, vals, strict=True))]
            if not fit:
                return None
            shape.append(fit[0])
        shapes.append(shape)
    out = prog.copy()
    out.shapes = shapes
    return out


def _replace_uses(prog: Program, old: int, new: int) -> Program:
    p = prog.copy()
    for n in p.nodes:
        n.args = [new if (not isinstance(a, dict) and a == old) else a for a in n.args]
    p.outputs = [new if o == old else o for o in p.outputs]
    return p


def cut(prog: Program, v: int) -> Program:
    """Node value ``v`` becomes a fresh placeholder of its shape (its producers drop out)."""
    n_in = len(prog.inputs)
    p = prog.copy()
    k = v - n_in
    shape = prog.shapes[v]
    p.inputs.append(Input(shape=list(shape), kind="ph", domain="sym"))
    # renumber: old inputs keep ids, the new input is n_in, nodes shift by one
    def m(i: int) -> int:
        return i if i < n_in else (n_in if i == v else (i + 1 if i < v else i))
    p.nodes = [Node(x.op, [a if isinstance(a, dict) else m(a) for a in x.args], x.p)
               for j, x in enumerate(p.nodes) if j != k]
    p.outputs = [m(o) for o in p.outputs]
    p.shapes = prog.shapes[:n_in] + [list(shape)] + [s for i, s in enumerate(prog.shapes)
                                                     if i >= n_in and i != v]
    assert len(p.shapes) == p.n_values
    if p.grad:
        p.grad = dict(p.grad, wrt=[m(w) for w in p.grad["wrt"]])
    return compact(p)


def candidates(prog: Program) -> Iterator[Program]:
    """Simpler variants of ``prog``, most promising first."""
    if len(prog.outputs) > 1:
        for o in prog.outputs:
            yield _try(compact, _with(prog, outputs=[o]))
    if prog.train:
        yield _with(prog, train=None)
    g = prog.grad
    if g:
        if g.get("second"):
            yield _with(prog, grad=dict(g, second=False))
        yield _try(compact, _with(prog, grad=None))
        if g.get("ys"):
            yield _with(prog, grad=dict(g, ys=False))
        if len(g["wrt"]) > 1:
            for w in g["wrt"]:
                yield _try(compact, _with(prog, grad=dict(g, wrt=[w])))
    if len(prog.batches) > 1:
        for b in prog.batches:
            yield _with(prog, batches=[b])
    for i, b in enumerate(prog.batches):
        for smaller in (1, 2, 3):  # 0 stays when it is what fails, never replaces
            if smaller < b:
                yield _with(prog, batches=prog.batches[:i] + [smaller] + prog.batches[i + 1:])
    n_in = len(prog.inputs)
    for k in range(len(prog.nodes) - 1, -1, -1):
        v = n_in + k
        for a in prog.nodes[k].args:
            for r in refs(a):
                if (prog.shapes[r] == prog.shapes[v] and r < v and _is_float(prog, r)
                        and _is_float(prog, v)):
                    yield _try(compact, _replace_uses(prog, v, r))
        if OPS_RESULT_F(prog.nodes[k].op):
            yield _try(cut, prog, v)
    if prog.dtype == "float32":
        yield _with(prog, dtype="float64")
    if prog.edge:
        yield _with(prog, edge=0.0)
    for i, inp in enumerate(prog.inputs):
        if inp.layout != "C":
            p = prog.copy()
            p.inputs[i].layout = "C"
            yield p
    for i, inp in enumerate(prog.inputs):
        for d, size in enumerate(inp.shape):
            if isinstance(size, int) and size > 1:
                for smaller in (1, size - 1):
                    p = prog.copy()
                    p.inputs[i].shape[d] = smaller
                    p = _try(rederive_shapes, p)
                    if p is not None:
                        yield p


def OPS_RESULT_F(op: str) -> bool:  # noqa: N802 - reads like the table's field
    from .ops_table import OPS

    return OPS[op].result == "f"


def _is_float(prog: Program, v: int) -> bool:
    if v < len(prog.inputs):
        return prog.inputs[v].kind != "int"
    return OPS_RESULT_F(prog.nodes[v - len(prog.inputs)].op)


def _with(prog: Program, **kw) -> Program:
    p = prog.copy()
    for k, v in kw.items():
        setattr(p, k, v)
    return p


def _try(fn, *args) -> Program | None:
    """An edit's result, or None when the edit does not apply (it raised)."""
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001
        return None


def size(prog: Program) -> tuple:
    """What the shrinker minimizes, lexicographically."""
    elems = sum(int(np.prod(concrete(i.shape, max(prog.batches)))) for i in prog.inputs)
    return (len(prog.nodes), len(prog.inputs), bool(prog.train), bool(prog.grad),
            len(prog.outputs), len(prog.batches), max(prog.batches), elems)


def shrink(prog: Program, still_fails: Pred, budget_s: float = 300.0,
           log: Callable[[str], None] = lambda s: None) -> Program:
    """The smallest variant found within ``budget_s`` seconds that still fails."""
    t0 = time.monotonic()
    best = prog
    progress = True
    tried = 0
    while progress and time.monotonic() - t0 < budget_s:
        progress = False
        for cand in candidates(best):
            if time.monotonic() - t0 > budget_s:
                break
            if cand is None or cand.dumps() == best.dumps():
                continue
            tried += 1
            try:
                ok = still_fails(cand)
            except Exception:  # noqa: BLE001 - a broken candidate is just not smaller
                ok = False
            if ok:
                log(f"shrink: {size(best)} -> {size(cand)}")
                best = cand
                progress = True
                break
    log(f"shrink: {tried} candidates in {time.monotonic() - t0:.0f}s, final size {size(best)}")
    return best
