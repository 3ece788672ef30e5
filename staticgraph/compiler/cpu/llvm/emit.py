"""LLVM IR text for one function body: typed values, conversions, and the compiler of the
Python-expression statements that fusion renders from the registry's ``scalar`` templates.

A value is ``(text, dtype name)``: ``("%t3", "float32")``, ``("0x3FF0000000000000", "float64")``.
Registers hold bools as ``i1``; arrays hold them as bytes. Arithmetic follows numpy on equal
types (small integers wrap in their own width, as the graph's values do), mixed operands promote
with numpy's rules (a Python literal takes its partner's type, as a weak scalar), integer ``//``
and ``%`` are floored with 0 for a zero divisor (numpy's result) and never trap on
``INT_MIN // -1``. Anything else (a call the library does not have, arithmetic on bools, an
unknown dtype) raises :class:`Unsupported`: the kernel is left to numba.

before: Stmt("v1", "sg_relu((a0_ + a1_))", float32)
after:  %t0 = fadd float %a0_, %a1_ / %t1 = fcmp olt float %t0, 0.0 / %t2 = select ...
"""

from __future__ import annotations

import ast
import struct

import numpy as np

LTYPE = {"float32": "float", "float64": "double", "int8": "i8", "int16": "i16", "int32": "i32",
         "int64": "i64", "uint8": "i8", "bool": "i1"}
"""Register types of the dtypes the renderer supports (others: :class:`Unsupported`)."""
MTYPE = {**LTYPE, "bool": "i8"}
"""Array element types (numpy keeps a bool in one byte)."""
BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64, "uint8": 8, "bool": 1}


class Unsupported(Exception):
    """The LLVM renderer declines this kernel (numba compiles it)."""


def dtype_name(dt: object) -> str:
    name = np.dtype(dt).name
    if name not in LTYPE:
        raise Unsupported(f"dtype {name}")
    return name


def is_float(t: str) -> bool:
    return t in ("float32", "float64")


def literal(value: float, t: str) -> str:
    """An LLVM constant of dtype ``t`` (floats as the hex of their double value)."""
    if is_float(t):
        v = float(np.float32(value)) if t == "float32" else float(value)
        return f"0x{struct.unpack('<Q', struct.pack('<d', v))[0]:016X}"
    if t == "bool":
        return "true" if value else "false"
    return str(int(value))


class Body:
    """Instructions of one function under construction. ``flags``: the fast-math flags of its
    float instructions (kernels: none; library functions: ``contract nsz arcp``)."""

    def __init__(self, flags: str = "") -> None:
        self.lines: list[str] = []
        self.allocas: list[str] = []
        self.flags = (flags + " ") if flags else ""
        self.uses: set[tuple[str, str]] = set()  # library functions called: (name, dtype)
        self.decls: set[str] = set()  # external declarations (libm, calloc, intrinsics)
        self._n = 0

    def tmp(self, stem: str = "t") -> str:
        self._n += 1
        return f"%{stem}{self._n}"

    def emit(self, rhs: str, stem: str = "t") -> str:
        name = self.tmp(stem)
        self.lines.append(f"  {name} = {rhs}")
        return name

    def put(self, line: str) -> None:
        self.lines.append("  " + line)

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")

    def slot(self, t: str, init: str | None = None) -> str:
        """A stack slot (promoted to a register by the optimizer), stored ``init`` here."""
        name = self.tmp("s")
        self.allocas.append(f"  {name} = alloca {t}")
        if init is not None:
            self.put(f"store {t} {init}, ptr {name}")
        return name

    def declare(self, decl: str) -> None:
        self.decls.add(decl)

    # ---------------------------------------------------------------- conversions
    def convert(self, v: tuple, dst: str) -> tuple:
        """numba's (and numpy's ``astype``) conversion of value ``v`` to dtype ``dst``."""
        x, src = v
        if src == dst:
            return v
        ls, ld = LTYPE[src], LTYPE[dst]
        if dst == "bool":
            if is_float(src):
                return self.emit(f"fcmp une {ls} {x}, 0.0"), dst
            return self.emit(f"icmp ne {ls} {x}, 0"), dst
        if is_float(src) and is_float(dst):
            op = "fpext" if dst == "float64" else "fptrunc"
            return self.emit(f"{op} {ls} {x} to {ld}"), dst
        if is_float(src):
            op = "fptoui" if dst == "uint8" else "fptosi"
            return self.emit(f"{op} {ls} {x} to {ld}"), dst
        unsigned = src in ("uint8", "bool")
        if is_float(dst):
            return self.emit(f"{'uitofp' if unsigned else 'sitofp'} {ls} {x} to {ld}"), dst
        if BITS[src] == BITS[dst]:
            return x, dst
        if BITS[src] > BITS[dst]:
            return self.emit(f"trunc {ls} {x} to {ld}"), dst
        return self.emit(f"{'zext' if unsigned else 'sext'} {ls} {x} to {ld}"), dst

    def load(self, ptr: str, t: str) -> tuple:
        x = self.emit(f"load {MTYPE[t]}, ptr {ptr}")
        if t == "bool":
            x = self.emit(f"icmp ne i8 {x}, 0")
        return x, t

    def store(self, v: tuple, ptr: str, t: str) -> None:
        x, _ = self.convert(v, t)
        if t == "bool":
            x = self.emit(f"zext i1 {x} to i8")
        self.put(f"store {MTYPE[t]} {x}, ptr {ptr}")

    def select(self, c: tuple, a: tuple, b: tuple) -> tuple:
        t = a[1]
        return self.emit(f"select i1 {c[0]}, {LTYPE[t]} {a[0]}, {LTYPE[t]} {b[0]}"), t

    def call(self, name: str, rt: str, args: list[tuple]) -> tuple:
        argtxt = ", ".join(f"{LTYPE[t]} {x}" for x, t in args)
        flags = self.flags if is_float(rt) else ""
        return self.emit(f"call {flags}{LTYPE[rt]} @{name}({argtxt})"), rt

    def intrinsic(self, base: str, args: list[tuple]) -> tuple:
        """``llvm.<base>.f32/f64`` on float arguments of one dtype."""
        t = args[0][1]
        lt = LTYPE[t]
        name = f"llvm.{base}.{'f32' if t == 'float32' else 'f64'}"
        self.declare(f"declare {lt} @{name}({', '.join([lt] * len(args))})")
        return self.call(name, t, args)

    def libm(self, name: str, args: list[tuple]) -> tuple:
        """A libm function on float64 (``name``) or float32 (``name`` + ``f``) arguments,
        declared pure (``readonly nounwind``) as numba declares it: LLVM may then treat it as
        its intrinsic and vectorize the loop around it the way it vectorizes numba's (a loop
        that vectorizes in one and not the other sums its blocks in another order)."""
        t = args[0][1]
        lt = LTYPE[t]
        sym = name + ("f" if t == "float32" else "")
        self.declare(f"declare {lt} @{sym}({', '.join([lt] * len(args))}) readonly nounwind")
        return self.call(sym, t, args)

    # ---------------------------------------------------------------- arithmetic
    def arith(self, op: str, a: tuple, b: tuple) -> tuple:
        """``a op b`` (op: + - * / // % & | ^ << >>) for operands of one dtype."""
        t = a[1]
        if t == "bool":
            raise Unsupported("arithmetic on bools")
        lt, x, y = LTYPE[t], a[0], b[0]
        if is_float(t):
            if op in ("//", "%"):
                return self.lib("floordiv" if op == "//" else "mod", t, [a, b])
            ins = {"+": "fadd", "-": "fsub", "*": "fmul", "/": "fdiv"}.get(op)
            if ins is None:
                raise Unsupported(f"float operator {op}")
            return self.emit(f"{ins} {self.flags}{lt} {x}, {y}"), t
        if op == "/":  # true division of integers: float64, as numpy
            return self.arith("/", self.convert(a, "float64"), self.convert(b, "float64"))
        if op in ("//", "%"):
            return self._int_divmod(op, a, b)
        ins = {"+": "add", "-": "sub", "*": "mul", "&": "and", "|": "or", "^": "xor",
               "<<": "shl", ">>": "lshr" if t == "uint8" else "ashr"}[op]
        return self.emit(f"{ins} {lt} {x}, {y}"), t

    def _int_divmod(self, op: str, a: tuple, b: tuple) -> tuple:
        """Floored integer ``//`` / ``%`` with numpy's 0 for a zero divisor; ``x // -1`` is a
        wrapping negation (no ``INT_MIN / -1`` trap)."""
        t = a[1]
        lt, x, y = LTYPE[t], a[0], b[0]
        zero = self.emit(f"icmp eq {lt} {y}, 0")
        if t == "uint8":
            ys = self.emit(f"select i1 {zero}, {lt} 1, {lt} {y}")
            r = self.emit(f"{'udiv' if op == '//' else 'urem'} {lt} {x}, {ys}")
            return self.emit(f"select i1 {zero}, {lt} 0, {lt} {r}"), t
        m1 = self.emit(f"icmp eq {lt} {y}, -1")
        bad = self.emit(f"or i1 {zero}, {m1}")
        ys = self.emit(f"select i1 {bad}, {lt} 1, {lt} {y}")
        q = self.emit(f"sdiv {lt} {x}, {ys}")
        r = self.emit(f"srem {lt} {x}, {ys}")
        nz = self.emit(f"icmp ne {lt} {r}, 0")
        sx = self.emit(f"xor {lt} {r}, {ys}")
        neg = self.emit(f"icmp slt {lt} {sx}, 0")
        adj = self.emit(f"and i1 {nz}, {neg}")
        if op == "//":
            d = self.emit(f"zext i1 {adj} to {lt}")
            q2 = self.emit(f"sub {lt} {q}, {d}")
            negx = self.emit(f"sub {lt} 0, {x}")
            q3 = self.emit(f"select i1 {m1}, {lt} {negx}, {lt} {q2}")
            return self.emit(f"select i1 {zero}, {lt} 0, {lt} {q3}"), t
        add = self.emit(f"select i1 {adj}, {lt} {ys}, {lt} 0")
        r2 = self.emit(f"add {lt} {r}, {add}")
        return self.emit(f"select i1 {bad}, {lt} 0, {lt} {r2}"), t

    def compare(self, op: str, a: tuple, b: tuple) -> tuple:
        t = a[1]
        lt = LTYPE[t]
        if is_float(t):
            cc = {"==": "oeq", "!=": "une", "<": "olt", "<=": "ole", ">": "ogt", ">=": "oge"}[op]
            return self.emit(f"fcmp {self.flags}{cc} {lt} {a[0]}, {b[0]}"), "bool"
        s = "u" if t in ("uint8", "bool") else "s"
        cc = {"==": "eq", "!=": "ne", "<": f"{s}lt", "<=": f"{s}le", ">": f"{s}gt",
              ">=": f"{s}ge"}[op]
        return self.emit(f"icmp {cc} {lt} {a[0]}, {b[0]}"), "bool"

    def lib(self, name: str, t: str, args: list[tuple]) -> tuple:
        """A call of library function ``name`` at dtype ``t`` (defined by :mod:`.library`)."""
        self.uses.add((name, t))
        return self.call(f"sg.{name}.{t}", t, args)


# -------------------------------------------------------------------- expressions
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
           ast.Mod: "%", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
           ast.RShift: ">>"}
_CMPOPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
           ast.GtE: ">="}
_WEAK = "weak"  # the dtype marker of a Python literal until it meets a typed partner


def promote(body: Body, a: tuple, b: tuple) -> tuple[tuple, tuple]:
    """Both operands at their common dtype (numpy's promotion; a literal is weak)."""
    if a[1] == _WEAK and b[1] == _WEAK:
        a, b = _settle(a, "float64" if "." in a[0] + b[0] else "int64"), b
    if a[1] == _WEAK:
        a = _settle(a, b[1])
    if b[1] == _WEAK:
        b = _settle(b, a[1])
    if a[1] == b[1]:
        return a, b
    t = np.promote_types(a[1], b[1]).name
    if t not in LTYPE:
        raise Unsupported(f"promotion of {a[1]} and {b[1]}")
    return body.convert(a, t), body.convert(b, t)


def _settle(v: tuple, t: str) -> tuple:
    py = float(v[0]) if "." in v[0] or "e" in v[0] or "inf" in v[0] else int(v[0])
    if isinstance(py, float) and not is_float(t):
        t = "float64"
    if t == "bool":
        t = "int64"
    return literal(py, t), t


class Exprs:
    """Compiles statement expressions into ``body``; ``env`` maps names (inputs ``a0_``,
    statements ``v3``, constants ``c1``) to values, ``calls`` the ``sg_*`` names to emitters
    (:data:`.library.CALLS`)."""

    def __init__(self, body: Body, env: dict, calls: dict) -> None:
        self.body, self.env, self.calls = body, env, calls

    def __call__(self, text: str) -> tuple:
        try:
            tree = ast.parse(text, mode="eval").body
        except SyntaxError as e:
            raise Unsupported(f"cannot parse {text!r}") from e
        v = self.expr(tree)
        if v[1] == _WEAK:
            v = _settle(v, "float64" if "." in v[0] else "int64")
        return v

    def expr(self, n: ast.AST) -> tuple:
        b = self.body
        if isinstance(n, ast.Name):
            if n.id not in self.env:
                raise Unsupported(f"unknown name {n.id}")
            return self.env[n.id]
        if isinstance(n, ast.Constant) and isinstance(n.value, bool):
            return literal(n.value, "bool"), "bool"
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)):
            return repr(n.value), _WEAK
        if isinstance(n, ast.BinOp) and type(n.op) in _BINOPS:
            x, y = promote(b, self.expr(n.left), self.expr(n.right))
            return b.arith(_BINOPS[type(n.op)], x, y)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            x = self.expr(n.operand)
            if x[1] == _WEAK:
                return "-" + x[0], _WEAK
            if is_float(x[1]):
                return b.emit(f"fneg {b.flags}{LTYPE[x[1]]} {x[0]}"), x[1]
            return b.arith("-", (literal(0, x[1]), x[1]), x)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
            t = self.truth(n.operand)
            return b.emit(f"xor i1 {t[0]}, true"), "bool"
        if isinstance(n, ast.Compare) and len(n.ops) == 1 and type(n.ops[0]) in _CMPOPS:
            x, y = promote(b, self.expr(n.left), self.expr(n.comparators[0]))
            return b.compare(_CMPOPS[type(n.ops[0])], x, y)
        if isinstance(n, ast.BoolOp):
            vals = [self.truth(v) for v in n.values]
            op = "and" if isinstance(n.op, ast.And) else "or"
            acc = vals[0]
            for v in vals[1:]:
                acc = b.emit(f"{op} i1 {acc[0]}, {v[0]}"), "bool"
            return acc
        if isinstance(n, ast.IfExp):
            c = self.truth(n.test)
            x, y = promote(b, self.expr(n.body), self.expr(n.orelse))
            return b.select(c, x, y)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and not n.keywords:
            fn = self.calls.get(n.func.id)
            if fn is None:
                raise Unsupported(f"no LLVM form of {n.func.id}")
            args = [self.expr(a) for a in n.args]
            args = [_settle(a, "float64" if "." in a[0] else "int64") if a[1] == _WEAK else a
                    for a in args]
            return fn(b, *args)
        raise Unsupported(f"expression {ast.dump(n)[:80]}")

    def truth(self, n: ast.AST) -> tuple:
        v = self.expr(n)
        if v[1] == _WEAK:
            v = _settle(v, "int64")
        return self.body.convert(v, "bool")
