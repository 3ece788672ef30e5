"""Row kernels (softmax, log_softmax, softmax-CE forward and backward) as LLVM IR: the bodies of
:data:`..render._ROW_SRC` line for line (NaN-propagating row max, ``exp(x - m)`` summed in
blocks with a reassociable ``fadd`` into a float64 total, log-probabilities as
``(x - m) - log(s)``, the loss summed over rows in float64). A target out of ``[0, C)`` or a
target length that is not the batch returns status 1, which the native call reports as an
error (the runner then asks the reference executor for the op's message).
"""

from __future__ import annotations

from ..render import BLOCK
from .emit import LTYPE, Unsupported, dtype_name, literal
from .library import CALLS
from .loops import Frame

_NAMES = {"softmax": ["x", "p"], "log_softmax": ["x", "lp"], "ce_fwd": ["x", "t", "lp", "loss"],
          "ce_bwd": ["g", "lp", "t", "dx"]}


def render_row(k, argspec: tuple) -> Frame:
    """The IR function of row kernel ``k`` (``argspec``: its parameters' (dtype, ndim))."""
    if k.kind not in _NAMES:
        raise Unsupported(f"row kernel {k.kind}")
    f = Frame(_NAMES[k.kind], argspec[:len(_NAMES[k.kind])])
    dt = dtype_name(k.dtype)
    if dt not in ("float32", "float64"):
        raise Unsupported(f"row kernel of {dt}")
    _Row(f, k, dt).render()
    return f


class _Row:
    def __init__(self, f: Frame, k, dt: str) -> None:
        self.f, self.b, self.k, self.dt = f, f.b, k, dt
        self.lt = LTYPE[dt]

    def el(self, arr: str, i: str, j: str) -> str:
        """The address of ``arr[i, j]`` in a C-ordered 2-D array."""
        b = self.b
        row = b.emit(f"mul nsw i64 {i}, %{arr}.s1")
        return self.f.at(arr, b.emit(f"add nsw i64 {row}, {j}"))

    def fail_unless(self, ok: str) -> None:
        """Return status 1 unless the i1 ``ok`` holds."""
        b, f = self.b, self.f
        f._label += 1
        lb = f"E{f._label}"
        b.put(f"br i1 {ok}, label %{lb}.ok, label %{lb}.err")
        b.label(f"{lb}.err")
        b.put("ret i32 1")
        b.label(f"{lb}.ok")

    def row_max(self, i: str) -> tuple:
        b, dt = self.b, self.dt
        m = b.slot(self.lt, literal(float("-inf"), dt))
        with self.f.loop("%x.s1") as j:
            cur = (b.emit(f"load {self.lt}, ptr {m}"), dt)
            new = CALLS["sg_max"](b, cur, b.load(self.el("x", i, j), dt))
            b.put(f"store {self.lt} {new[0]}, ptr {m}")
        return b.emit(f"load {self.lt}, ptr {m}"), dt

    def sum_exp(self, i: str, m: tuple, store_p: bool = False) -> tuple:
        """``sum(exp(x[i] - m))`` blockwise into float64 (softmax also stores each ``e``)."""
        b, f, dt, lt = self.b, self.f, self.dt, self.lt
        sw = b.slot("double", "0.0")
        nb = b.emit(f"sdiv i64 {b.emit(f'add i64 %x.s1, {BLOCK - 1}')}, {BLOCK}")
        with f.loop(nb) as jb:
            jo = b.emit(f"mul nsw i64 {jb}, {BLOCK}")
            blk = b.slot(lt, literal(0, dt))
            rest = b.emit(f"sub i64 %x.s1, {jo}")
            m2 = b.emit(f"select i1 {b.emit(f'icmp slt i64 {rest}, {BLOCK}')}, i64 {rest}, "
                        f"i64 {BLOCK}")
            with f.loop(m2) as jr:
                j = b.emit(f"add nsw i64 {jo}, {jr}")
                xv = b.load(self.el("x", i, j), dt)
                e = b.lib("exp", dt, [b.arith("-", xv, m)])
                if store_p:
                    b.store(e, self.el("p", i, j), dt)
                cur = b.emit(f"load {lt}, ptr {blk}")
                b.put(f"store {lt} {b.emit(f'fadd reassoc nsz {lt} {cur}, {e[0]}')}, ptr {blk}")
            bs = b.convert((b.emit(f"load {lt}, ptr {blk}"), dt), "float64")
            tot = b.emit(f"load double, ptr {sw}")
            b.put(f"store double {b.emit(f'fadd double {tot}, {bs[0]}')}, ptr {sw}")
        return b.emit(f"load double, ptr {sw}"), "float64"

    def log_probs(self, i: str, m: tuple, out: str) -> None:
        b, dt = self.b, self.dt
        s = b.convert(self.sum_exp(i, m), dt)
        ls = b.lib("log", dt, [s])
        with self.f.loop("%x.s1") as j:
            xv = b.load(self.el("x", i, j), dt)
            b.store(b.arith("-", b.arith("-", xv, m), ls), self.el(out, i, j), dt)

    def check_batch(self, rows: str) -> None:
        self.fail_unless(self.b.emit(f"icmp eq i64 %t.s0, {rows}"))

    def target(self, i: str, c: str) -> str:
        """``t[i]`` as int64, after checking ``0 <= t[i] < c``."""
        b = self.b
        ti = b.convert(b.load(self.f.at("t", i), self.f.dt["t"]), "int64")[0]
        ok = b.emit(f"and i1 {b.emit(f'icmp sge i64 {ti}, 0')}, "
                    f"{b.emit(f'icmp slt i64 {ti}, {c}')}")
        self.fail_unless(ok)
        return ti

    def render(self) -> None:
        getattr(self, "_" + self.k.kind)()

    def _softmax(self) -> None:
        b, dt = self.b, self.dt
        with self.f.loop("%x.s0") as i:
            m = self.row_max(i)
            sw = self.sum_exp(i, m, store_p=True)
            r = b.arith("/", (literal(1.0, dt), dt), b.convert(sw, dt))
            with self.f.loop("%x.s1") as j:
                p = self.el("p", i, j)
                b.store(b.arith("*", b.load(p, dt), r), p, dt)

    def _log_softmax(self) -> None:
        with self.f.loop("%x.s0") as i:
            self.log_probs(i, self.row_max(i), "lp")

    def _ce_fwd(self) -> None:
        b, dt = self.b, self.dt
        self.check_batch("%x.s0")
        tot = b.slot("double", "0.0")
        with self.f.loop("%x.s0") as i:
            self.log_probs(i, self.row_max(i), "lp")
            ti = self.target(i, "%x.s1")
            v = b.convert(b.load(self.el("lp", i, ti), dt), "float64")
            cur = b.emit(f"load double, ptr {tot}")
            b.put(f"store double {b.emit(f'fsub double {cur}, {v[0]}')}, ptr {tot}")
        val = (b.emit(f"load double, ptr {tot}"), "float64")
        if self.k.reduction == "mean":  # an empty batch: NaN
            val = b.arith("/", val, b.convert(("%x.s0", "int64"), "float64"))
        elif self.k.reduction != "sum":
            raise Unsupported(f"ce_fwd reduction {self.k.reduction}")
        b.store(val, self.f.at("loss", "0"), dt)

    def _ce_bwd(self) -> None:
        b, f, dt = self.b, self.f, self.dt
        self.check_batch("%lp.s0")
        red = self.k.reduction
        if red == "mean":
            one = b.emit("icmp sgt i64 %lp.s0, 1")
            n1 = b.emit(f"select i1 {one}, i64 %lp.s0, i64 1")
            s = b.arith("/", b.load(f.at("g", "0"), dt), b.convert((n1, "int64"), dt))
        elif red == "sum":
            s = b.load(f.at("g", "0"), dt)
        elif red == "none":
            s = None
        else:
            raise Unsupported(f"ce_bwd reduction {red}")
        with f.loop("%lp.s0") as i:
            si = s if s is not None else b.load(f.at("g", i), dt)
            with f.loop("%lp.s1") as j:
                e = b.lib("exp", dt, [b.load(self.el("lp", i, j), dt)])
                b.store(b.arith("*", si, e), self.el("dx", i, j), dt)
            ti = self.target(i, "%lp.s1")
            p = self.el("dx", i, ti)
            b.store(b.arith("-", b.load(p, dt), si), p, dt)
