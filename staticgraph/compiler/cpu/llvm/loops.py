"""A fused :class:`~...kernel.Kernel` as an LLVM IR function: the loop nest of
:func:`..render.render_kernel` (same loop order, same accumulation: register accumulators,
blocks of :data:`..render.BLOCK` summed with a reassociable ``fadd`` into a float64 total, row
accumulators in a ``calloc``'d float64 copy of the output) around the statements compiled by
:mod:`.emit`.

The function has numba's calling convention, so the native tier's ``ctypes`` path runs it
unchanged (:class:`..native.NativeKernel`): ``i32 f(ptr ret, ptr excinfo, <each array as
meminfo, parent, nitems, itemsize, data, shape..., strides...>)``; arrays are C-contiguous, so
element indices come from the shapes. Loop counters and accumulators live in stack slots that
the optimizer promotes to registers.

before: Kernel(rank=1, stmts=[v0 = a0_ * c0], reductions=[r0 = sum of v0])
after:  define i32 @sg_llvm_kernel(...) { ... blocks of 2048: %b = fadd reassoc ... }
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ..render import BLOCK, suffix_reduction
from .accumulate import accumulate, init_value
from .chunks import render_chunked
from .emit import LTYPE, MTYPE, Body, Exprs, Unsupported, dtype_name, literal
from .library import CALLS

SYMBOL = "sg_llvm_kernel"


class Frame:
    """Parameters and addressing of one kernel function under construction."""

    def __init__(self, names: list[str], argspec: tuple) -> None:
        self.b = Body()
        self.params = ["ptr %ret", "ptr %exc"]
        self.nd: dict[str, int] = {}
        self.dt: dict[str, str] = {}
        for nm, (dt, nd) in zip(names, argspec, strict=True):
            self.nd[nm], self.dt[nm] = nd, dtype_name(dt)
            self.params += [f"ptr %{nm}.mi", f"ptr %{nm}.pa", f"i64 %{nm}.n", f"i64 %{nm}.isz",
                            f"ptr %{nm}"]
            self.params += [f"i64 %{nm}.s{a}" for a in range(nd)]
            self.params += [f"i64 %{nm}.st{a}" for a in range(nd)]
        self._strides: dict[tuple, str] = {}
        self._label = 0
        self.attrs: list[str] = []  # function attributes beyond nounwind (chunks.py)

    def shape(self, nm: str, ax: int) -> str:
        return f"%{nm}.s{ax}"

    def stride(self, nm: str, ax: int) -> str:
        """Elements between neighbours along ``ax`` (C order), computed once in the prologue."""
        key = (nm, ax)
        if key not in self._strides:
            acc = "1"
            for a in range(ax + 1, self.nd[nm]):
                acc = self.b.emit(f"mul i64 {acc}, {self.shape(nm, a)}") if acc != "1" \
                    else self.shape(nm, a)
            self._strides[key] = acc
        return self._strides[key]

    def prepare_strides(self) -> None:
        for nm, nd in self.nd.items():
            for ax in range(nd):
                self.stride(nm, ax)

    def ptr(self, nm: str, pattern: tuple, iv: dict) -> str:
        """The address of ``nm[pattern]`` (pattern: loop dim or None per array dim)."""
        return self.at(nm, self.index(nm, pattern, iv))

    def index(self, nm: str, pattern: tuple, iv: dict) -> str:
        """The element index of ``nm[pattern]`` in C order."""
        b = self.b
        idx = "0"
        for ax, p in enumerate(pattern):
            if p is None:
                continue
            st = self.stride(nm, ax)
            term = iv[p] if st == "1" else b.emit(f"mul nsw i64 {iv[p]}, {st}")
            idx = term if idx == "0" else b.emit(f"add nsw i64 {idx}, {term}")
        return idx

    def at(self, nm: str, idx: str) -> str:
        return self.b.emit(f"getelementptr inbounds {MTYPE[self.dt[nm]]}, ptr %{nm}, i64 {idx}")

    @contextmanager
    def loop(self, n: str, start: str = "0"):
        """``for i in range(start, n)``; yields the counter's value inside the body."""
        b = self.b
        self._label += 1
        lb = f"L{self._label}"
        slot = b.slot("i64", start)
        b.put(f"br label %{lb}.h")
        b.label(f"{lb}.h")
        i = b.emit(f"load i64, ptr {slot}")
        c = b.emit(f"icmp slt i64 {i}, {n}")
        b.put(f"br i1 {c}, label %{lb}.b, label %{lb}.x")
        b.label(f"{lb}.b")
        yield i
        nx = b.emit(f"add nuw nsw i64 {i}, 1")
        b.put(f"store i64 {nx}, ptr {slot}")
        b.put(f"br label %{lb}.h")
        b.label(f"{lb}.x")

    def function(self) -> str:
        b = self.b
        return "\n".join([f"define i32 @{SYMBOL}({', '.join(self.params)}) "
                          f"{' '.join(['nounwind', *self.attrs])} {{",
                          "entry:", *b.allocas, *b.lines, "  ret i32 0", "}"])


def render_kernel(k, argspec: tuple, quick: bool = False) -> Frame:
    """The IR function of kernel ``k`` (``argspec``: (dtype, ndim) of each parameter).

    ``quick``: the IR is compiled without optimisation passes (the first tier of a cold
    process), so nothing vectorizes a block's reassociable float sum into lane partials: a
    block of 2048 float32 values added one by one loses ~1e-5 relative. Quick kernels sum
    their blocks in float64 instead (more exact than the optimised kernel, not its bits)."""
    for r in k.reductions:
        if r.op == "mean" and np.dtype(r.dtype).kind != "f":
            raise Unsupported("integer mean")
    f = Frame(k.params(), argspec)
    b = f.b
    for i in k.inputs:
        if len(i.pattern) != f.nd[i.name]:
            raise Unsupported("input rank")
    f.prepare_strides()
    n = []
    for d in range(k.rank):
        ext = k.extents[d]
        n.append("1" if ext is None else str(int(ext[1])) if ext[0] == "const"
                 else f.shape(ext[0], ext[1]))
    env: dict = {c: (literal(v, dtype_name(dt)), dtype_name(dt)) for c, (v, dt) in
                 k.consts.items()}
    for i in k.inputs:
        if i.is_scalar:
            env[f"{i.name}_"] = b.load(f.at(i.name, "0"), dtype_name(i.dtype))
    red = set(k.reduced_dims)
    cnt = "1"
    for d in sorted(red):
        cnt = n[d] if cnt == "1" else b.emit(f"mul i64 {cnt}, {n[d]}")
    blocked = {j for j, r in enumerate(k.reductions) if r.float_sum}
    ex = Exprs(b, env, CALLS)
    if k.chunk:  # rank 1, chunk partials in chunk order (numba's bits)
        render_chunked(f, k, ex, n[0])
    elif k.rank == 0 or not k.reductions or suffix_reduction(k):
        mode = "plain" if not blocked or k.rank == 0 else \
            "short" if k.short_reduction else "blocked"
        _nest(f, k, ex, n, mode, cnt, quick)
    else:
        _row_nest(f, k, ex, n, blocked, cnt)
    return f


def _element(f: Frame, k, ex: Exprs, iv: dict) -> None:
    """Loads, statements (each value at its statement's dtype, as numpy), stores."""
    b = f.b
    for i in k.inputs:
        if not i.is_scalar:
            ex.env[f"{i.name}_"] = b.load(f.ptr(i.name, i.pattern, iv), dtype_name(i.dtype))
    for s in k.stmts:
        ex.env[s.var] = b.convert(ex(s.expr), dtype_name(s.dtype))
    for o in k.outputs:
        b.store(ex.env[o.var], f.ptr(o.name, o.pattern, iv), dtype_name(o.dtype))


def _nest(f: Frame, k, ex: Exprs, n: list, mode: str, cnt: str, quick: bool = False) -> None:
    """Reductions over trailing dims into registers (see :func:`..render._nest`); ``quick``:
    blocks summed in float64 (see :func:`render_kernel`)."""
    b = f.b
    red = set(k.reduced_dims)
    n_outer = k.rank - len(red)
    blocked = {j for j, r in enumerate(k.reductions) if r.float_sum} if mode != "plain" else set()
    rts = [dtype_name(r.dtype) for r in k.reductions]
    # the block accumulators' dtype: the reduction's, float64 in quick kernels' blocks
    bts = {j: "float64" if quick and mode == "blocked" else rts[j] for j in blocked}
    slots: dict = {}
    iv: dict = {}

    def init_accumulators() -> None:
        for j, r in enumerate(k.reductions):
            if j not in blocked:
                slots[j] = b.slot(LTYPE[rts[j]], init_value(r.op, rts[j]))
            elif mode == "short":
                slots[j] = b.slot(LTYPE[rts[j]], literal(0, rts[j]))
            else:
                slots[j] = b.slot("double", "0.0")

    def inner() -> None:
        _element(f, k, ex, iv)
        for j, r in enumerate(k.reductions):
            t = bts[j] if j in bslots else rts[j]
            sl = bslots.get(j, slots[j])
            cur = (b.emit(f"load {LTYPE[t]}, ptr {sl}"), t)
            v = ex.env[r.var]
            if j in blocked:
                v = b.convert(v, t)
                new = b.emit(f"fadd reassoc nsz {LTYPE[t]} {cur[0]}, {v[0]}"), t
            else:
                new = accumulate(b, r.op, cur, v)
            b.put(f"store {LTYPE[t]} {new[0]}, ptr {sl}")

    bslots: dict = {}

    def level(d: int) -> None:
        if d == n_outer:
            init_accumulators()
        if d == k.rank:
            inner()
            return
        if mode == "blocked" and d == k.rank - 1:
            nb = b.emit(f"sdiv i64 {b.emit(f'add i64 {n[d]}, {BLOCK - 1}')}, {BLOCK}")
            with f.loop(nb) as ib:
                io = b.emit(f"mul nsw i64 {ib}, {BLOCK}")
                for j in sorted(blocked):
                    bslots[j] = b.slot(LTYPE[bts[j]], literal(0, bts[j]))
                rest = b.emit(f"sub i64 {n[d]}, {io}")
                lt = b.emit(f"icmp slt i64 {rest}, {BLOCK}")
                m = b.emit(f"select i1 {lt}, i64 {rest}, i64 {BLOCK}")
                with f.loop(m) as ir:
                    iv[d] = b.emit(f"add nsw i64 {io}, {ir}")
                    inner()
                for j in sorted(blocked):  # each block's sum joins the float64 total
                    t = bts[j]
                    bs = b.convert((b.emit(f"load {LTYPE[t]}, ptr {bslots[j]}"), t), "float64")
                    tot = b.emit(f"load double, ptr {slots[j]}")
                    b.put(f"store double {b.emit(f'fadd double {tot}, {bs[0]}')}, "
                          f"ptr {slots[j]}")
            bslots.clear()
        else:
            with f.loop(n[d]) as i:
                iv[d] = i
                level(d + 1)
        if d == n_outer:
            _store_reductions(f, k, slots, blocked, mode, rts, cnt, iv)

    if k.rank == 0:
        init_accumulators()
        inner()
        _store_reductions(f, k, slots, blocked, mode, rts, cnt, iv)
    else:
        level(0)


def _store_reductions(f: Frame, k, slots: dict, blocked: set, mode: str, rts: list, cnt: str,
                      iv: dict) -> None:
    b = f.b
    for j, r in enumerate(k.reductions):
        t = rts[j]
        if j in blocked and mode == "blocked":
            val = (b.emit(f"load double, ptr {slots[j]}"), "float64")
        else:
            val = (b.emit(f"load {LTYPE[t]}, ptr {slots[j]}"), t)
        if r.op == "mean":
            c = b.convert((cnt, "int64"), "float64" if j in blocked else t)
            val = b.arith("/", b.convert(val, c[1]), c)
        b.store(val, f.ptr(r.name, r.pattern, iv), t)


def _row_nest(f: Frame, k, ex: Exprs, n: list, blocked: set, cnt: str) -> None:
    """Reductions into output rows (reduced dims not trailing): float sums into a float64
    scratch copy of the output (``calloc``/``free``), rounded once at the end."""
    b = f.b
    b.declare("declare noalias ptr @calloc(i64, i64)")
    b.declare("declare void @free(ptr)")
    rts = [dtype_name(r.dtype) for r in k.reductions]
    w: dict = {}
    for j, r in enumerate(k.reductions):
        if j in blocked:
            w[j] = b.emit(f"call ptr @calloc(i64 %{r.name}.n, i64 8)")
        else:
            with f.loop(f"%{r.name}.n") as q:
                b.store((init_value(r.op, rts[j]), rts[j]), f.at(r.name, q), rts[j])
    iv: dict = {}

    def level(d: int) -> None:
        if d < k.rank:
            with f.loop(n[d]) as i:
                iv[d] = i
                level(d + 1)
            return
        _element(f, k, ex, iv)
        for j, r in enumerate(k.reductions):
            idx = f.index(r.name, r.pattern, iv)
            v = ex.env[r.var]
            if j in blocked:
                wp = b.emit(f"getelementptr inbounds double, ptr {w[j]}, i64 {idx}")
                cur = b.emit(f"load double, ptr {wp}")
                v64 = b.convert(v, "float64")
                b.put(f"store double {b.emit(f'fadd double {cur}, {v64[0]}')}, ptr {wp}")
            else:
                p = f.at(r.name, idx)
                cur = b.load(p, rts[j])
                b.store(accumulate(b, r.op, cur, v), p, rts[j])

    level(0)
    for j, r in enumerate(k.reductions):
        if j not in blocked:
            continue
        with f.loop(f"%{r.name}.n") as q:
            wp = b.emit(f"getelementptr inbounds double, ptr {w[j]}, i64 {q}")
            val = (b.emit(f"load double, ptr {wp}"), "float64")
            if r.op == "mean":
                val = b.arith("/", val, b.convert((cnt, "int64"), "float64"))
            b.store(val, f.at(r.name, q), rts[j])
        b.put(f"call void @free(ptr {w[j]})")
