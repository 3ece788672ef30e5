"""The ``sg_*`` scalar library as LLVM IR: the same algorithms as :mod:`..scalar` (Cody-Waite +
Cephes polynomials for float32 ``exp``/``log``/``tanh``..., libm where numba's library calls
libm), so LLVM kernels give numba's values to a few ulp and vectorize the same way.

Polynomial bodies are written in the statement language of :mod:`.emit` (one assignment per
line, ``return`` last), compiled into ``internal alwaysinline`` functions with the library's
fast-math flags ``contract nsz arcp`` (no ``reassoc``, which would undo the Cody-Waite split);
float ``//`` and ``%`` follow numpy's ``npy_divmod`` with no flags. :data:`CALLS` maps each
``sg_*`` name a kernel statement may use to its emitter.
"""

from __future__ import annotations

from .emit import LTYPE, Body, Exprs, Unsupported, is_float, literal, promote

LIB_FLAGS = "contract nsz arcp"
_INF, _NAN = float("inf"), float("nan")

# name -> {dtype: (constants, body)}; constants are typed as the function's dtype
_SH32, _SH64 = 12582912.0, 6755399441055744.0  # 1.5 * 2**23, 1.5 * 2**52: see scalar.py's exp
_E32 = dict(HI=89.0, LO=-104.0, LOG2E=1.44269504088896341, SHIFT=_SH32, C1=0.693359375,
            C2=-2.12194440e-4, P0=1.9875691500e-4, P1=1.3981999507e-3, P2=8.3334519073e-3,
            P3=4.1665795894e-2, P4=1.6666665459e-1, P5=5.0000001201e-1, ONE=1.0)
_E64 = dict(HI=710.0, LO=-746.0, LOG2E=1.4426950408889634073599, SHIFT=_SH64,
            C1=6.93145751953125e-1, C2=1.42860682030941723212e-6,
            P0=1.26177193074810590878e-4, P1=3.02994407707441961300e-2,
            P2=9.99999999999999999910e-1, Q0=3.00198505138664455042e-6,
            Q1=2.52448340349684104192e-3, Q2=2.27265548208155028766e-1,
            Q3=2.00000000000000000009e0, ONE=1.0, TWO=2.0)
_L32 = dict(MINNORM=1.17549435e-38, TWO23=8388608.0, SQRTH=0.707106781186547524, ONE=1.0,
            P0=7.0376836292e-2, P1=-1.1514610310e-1, P2=1.1676998740e-1, P3=-1.2420140846e-1,
            P4=1.4249322787e-1, P5=-1.6668057665e-1, P6=2.0000714765e-1, P7=-2.4999993993e-1,
            P8=3.3333331174e-1, Q1=-2.12194440e-4, MHALF=-0.5, Q2=0.693359375, INF=_INF,
            NAN=_NAN, ZERO=0.0)
_T32 = dict(CUT=0.625, T1=-5.70498872745e-3, T2=2.06390887954e-2, T3=-5.37397155531e-2,
            T4=1.33314422036e-1, T5=-3.33332819422e-1, ONE=1.0, TWO=2.0, BIG=9.1,
            **{k: _E32[k] for k in ("LOG2E", "SHIFT", "C1", "C2", "P0", "P1", "P2", "P3", "P4",
                                    "P5")})
_T64 = dict(CUT=0.625, P0=-9.64399179425052238628e-1, P1=-9.92877231001918586564e1,
            P2=-1.61468768441708447952e3, Q0=1.12811678491632931402e2,
            Q1=2.23548839060100448583e3, Q2=4.84406305325125486048e3, ONE=1.0, TWO=2.0,
            BIG=20.0, **{k: _E64[k] for k in ("LOG2E", "SHIFT", "C1", "C2")},
            **{"E" + k: _E64[k] for k in ("P0", "P1", "P2", "Q0", "Q1", "Q2", "Q3")})
_ONE = dict(ONE=1.0, ZERO=0.0, MONE=-1.0, INF=_INF, NAN=_NAN, CUT=-17.5, HALF=0.5, MHALF=-0.5)

BODIES: dict[str, dict[str, tuple[dict, str]]] = {
    "exp": {"float32": (_E32, """
xc = HI if x > HI else x
xc = LO if xc < LO else xc
sh = xc * LOG2E + SHIFT
n = sh - SHIFT
r = xc - n * C1
r = r - n * C2
z = r * r
p = (((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5) * z + r + ONE
ni = bits_i32(sh) - 1262485504
n1 = ni >> 1
n2 = ni - n1
s1 = bits_f32((n1 + 127) << 23)
s2 = bits_f32((n2 + 127) << 23)
return p * s1 * s2"""), "float64": (_E64, """
xc = HI if x > HI else x
xc = LO if xc < LO else xc
sh = xc * LOG2E + SHIFT
n = sh - SHIFT
r = xc - n * C1
r = r - n * C2
xx = r * r
px = r * ((P0 * xx + P1) * xx + P2)
q = ((Q0 * xx + Q1) * xx + Q2) * xx + Q3
e = ONE + TWO * (px / (q - px))
ni = bits_i64(sh) - 4843621399236968448
n1 = ni >> 1
n2 = ni - n1
s1 = bits_f64((n1 + 1023) << 52)
s2 = bits_f64((n2 + 1023) << 52)
return e * s1 * s2""")},
    "log": {"float32": (_L32, """
sub = x < MINNORM
xs = x * TWO23 if sub else x
bits = bits_i32(xs)
e = ((bits >> 23) & 255) - 126
e = e - 23 if sub else e
m = bits_f32((bits & -2139095041) | 1056964608)
small = m < SQRTH
e = e - 1 if small else e
m = (m + m - ONE) if small else (m - ONE)
fe = f32(e)
z = m * m
y = (((((P0 * m + P1) * m + P2) * m + P3) * m + P4) * m + P5) * m + P6
y = ((y * m + P7) * m + P8) * m * z
y = y + Q1 * fe
y = y + MHALF * z
r = m + y
r = r + Q2 * fe
r = r if x < INF else x
r = -INF if x == ZERO else r
return NAN if x < ZERO else r"""), "float64": (_ONE, """
r = libm_log(x) if x > ZERO else (-INF if x == ZERO else (x if x != x else NAN))
return r""")},
    "tanh": {"float32": (_T32, """
a = fabs(x)
z = x * x
small = ((((T1 * z + T2) * z + T3) * z + T4) * z + T5) * z * x + x
ac = a if a < BIG else BIG
xc = ac + ac
sh = xc * LOG2E + SHIFT
n = sh - SHIFT
r = xc - n * C1
r = r - n * C2
zr = r * r
p = (((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5) * zr + r + ONE
s = bits_f32((bits_i32(sh) - 1262485377) << 23)
big = ONE - TWO / (p * s + ONE)
r = big if a >= CUT else small
return copysign(r, x)"""), "float64": (_T64, """
a = fabs(x)
z = x * x
small = x + x * z * (((P0 * z + P1) * z + P2) / (((z + Q0) * z + Q1) * z + Q2))
ac = a if a < BIG else BIG
xc = ac + ac
sh = xc * LOG2E + SHIFT
n = sh - SHIFT
r = xc - n * C1
r = r - n * C2
xx = r * r
px = r * ((EP0 * xx + EP1) * xx + EP2)
q = ((EQ0 * xx + EQ1) * xx + EQ2) * xx + EQ3
e = ONE + TWO * (px / (q - px))
s = bits_f64((bits_i64(sh) - 4843621399236967425) << 52)
big = ONE - TWO / (e * s + ONE)
r = big if a >= CUT else small
return copysign(r, x)""")},
    "sigmoid": {t: (_ONE, """
e = exp(-fabs(x))
return (ONE if x >= ZERO else e) / (ONE + e)""") for t in ("float32", "float64")},
    "log1p": {"float32": (_ONE, """
u = ONE + x
r = log(u) * (x / (u - ONE))
r = x if u == ONE else r
return x if x == INF else r"""), "float64": (_ONE, "return libm_log1p(x)")},
    "expm1": {"float32": (_ONE, """
u = exp(x)
r = (u - ONE) * (x / log(u))
r = x if u == ONE else r
r = MONE if x < CUT else r
return u if u == INF else r"""), "float64": (_ONE, "return libm_expm1(x)")},
    "softplus": {"float32": (_ONE, """
m = x if x > ZERO else ZERO
return m + log1p(exp(-fabs(x)))"""), "float64": (_ONE, """
m = x if x > ZERO else ZERO
return m + libm_log1p(exp(-fabs(x)))""")},
    "sin": {t: (_ONE, "d = x - x\nreturn sin(x) if d == d else d") for t in ("float32", "float64")},
    "cos": {t: (_ONE, "d = x - x\nreturn cos(x) if d == d else d") for t in ("float32", "float64")},
    "fpow": {t: (_ONE, """
s = sqrt(x)
return s if y == HALF else (ONE / s if y == MHALF else pow(x, y))""")
             for t in ("float32", "float64")},
    "floordiv": {t: (_ONE, """
q = x / y
mod = fmod(x, y)
div = (x - mod) / y
adj = mod != ZERO and ((y < ZERO) != (mod < ZERO))
div = div - ONE if adj else div
fl = floor(div)
fl = fl + ONE if div - fl > HALF else fl
fl = fl if div != ZERO else copysign(ZERO, q)
return q if y == ZERO else fl""") for t in ("float32", "float64")},
    "mod": {t: (_ONE, """
mod = fmod(x, y)
adj = mod != ZERO and ((y < ZERO) != (mod < ZERO))
m2 = mod + y if adj else mod
m2 = m2 if mod != ZERO else copysign(ZERO, y)
return mod if y == ZERO else m2""") for t in ("float32", "float64")},
}
_ARGS = {"fpow": "xy", "floordiv": "xy", "mod": "xy"}
_FLAGS = {"fpow": "contract nsz", "floordiv": "", "mod": ""}  # pow: no arcp (1/sqrt exact)


def _bitcast(t: str):
    return lambda b, v: (b.emit(f"bitcast {LTYPE[v[1]]} {v[0]} to {LTYPE[t]}"), t)


def _lib_call(name: str):
    return lambda b, x: b.lib(name, x[1], [x])


def _cast(t: str):
    return lambda b, x: b.convert(x, t)


_INTERNAL = {
    "floor": lambda b, x: b.intrinsic("floor", [x]),
    "fabs": lambda b, x: b.intrinsic("fabs", [x]),
    "sqrt": lambda b, x: b.intrinsic("sqrt", [x]),
    "sin": lambda b, x: b.intrinsic("sin", [x]),
    "cos": lambda b, x: b.intrinsic("cos", [x]),
    "pow": lambda b, x, y: b.intrinsic("pow", [x, y]),
    "copysign": lambda b, x, y: b.intrinsic("copysign", [x, y]),
    "fmod": lambda b, x, y: (b.emit(f"frem {LTYPE[x[1]]} {x[0]}, {y[0]}"), x[1]),
    "i32": lambda b, x: b.convert(x, "int32"), "i64": lambda b, x: b.convert(x, "int64"),
    "f32": lambda b, x: b.convert(x, "float32"), "f64": lambda b, x: b.convert(x, "float64"),
    "bits_f32": _bitcast("float32"), "bits_i32": _bitcast("int32"),
    "bits_f64": _bitcast("float64"), "bits_i64": _bitcast("int64"),
    "libm_log": lambda b, x: b.intrinsic("log", [x]),  # numba's math.log
    "libm_log1p": lambda b, x: b.libm("log1p", [x]),
    "libm_expm1": lambda b, x: b.libm("expm1", [x]),
    **{nm: _lib_call(nm) for nm in ("exp", "log", "log1p")},
}


def define(name: str, t: str) -> tuple[str, set, set]:
    """The IR of library function ``sg.<name>.<t>``: (definition, library functions it calls,
    external declarations)."""
    if name == "ipow":
        return _ipow(t), set(), set()
    consts, text = BODIES[name][t]
    body = Body(_FLAGS.get(name, LIB_FLAGS))
    args = _ARGS.get(name, "x")
    env = {a: (f"%{a}", t) for a in args}
    env.update({k: (literal(v, t), t) for k, v in consts.items()})
    ex = Exprs(body, env, _INTERNAL)
    lines = [ln for ln in text.strip().splitlines()]
    for ln in lines[:-1]:
        var, expr = ln.split(" = ", 1)
        env[var.strip()] = ex(expr)
    assert lines[-1].startswith("return ")
    val = ex(lines[-1][len("return "):])
    lt = LTYPE[t]
    params = ", ".join(f"{lt} %{a}" for a in args)
    src = [f"define internal {lt} @sg.{name}.{t}({params}) alwaysinline nounwind {{",
           *body.lines, f"  ret {lt} {val[0]}", "}"]
    return "\n".join(src), body.uses, body.decls


def _ipow(t: str) -> str:
    """Integer ``x ** y`` by squaring (numba's loop: 1 for ``y <= 0``)."""
    lt = LTYPE[t]
    sh, pos = ("lshr", "ne") if t == "uint8" else ("ashr", "sgt")
    return f"""define internal {lt} @sg.ipow.{t}({lt} %x, {lt} %y) alwaysinline nounwind {{
entry:
  br label %loop
loop:
  %r = phi {lt} [1, %entry], [%r2, %body]
  %b = phi {lt} [%x, %entry], [%b2, %body]
  %e = phi {lt} [%y, %entry], [%e2, %body]
  %c = icmp {pos} {lt} %e, 0
  br i1 %c, label %body, label %done
body:
  %odd = and {lt} %e, 1
  %isodd = icmp ne {lt} %odd, 0
  %rm = mul {lt} %r, %b
  %r2 = select i1 %isodd, {lt} %rm, {lt} %r
  %b2 = mul {lt} %b, %b
  %e2 = {sh} {lt} %e, 1
  br label %loop
done:
  ret {lt} %r
}}"""


def definitions(uses: set) -> tuple[list[str], set]:
    """Definitions of the library functions ``uses`` and everything they call, and the
    external declarations they need."""
    done: dict[tuple, str] = {}
    decls: set = set()
    todo = list(uses)
    while todo:
        key = todo.pop()
        if key in done:
            continue
        src, more, d = define(*key)
        done[key] = src
        decls |= d
        todo += [m for m in more if m not in done]
    return [done[k] for k in sorted(done)], decls


# ------------------------------------------------------------------ the kernel-level names
def _float_arg(b: Body, x: tuple) -> tuple:
    """numba's library takes integers and bools to float64."""
    return x if is_float(x[1]) else b.convert(x, "float64")


def _unary_lib1(name: str):
    def call(b: Body, x: tuple) -> tuple:
        x = _float_arg(b, x)
        return b.lib(name, x[1], [x])
    return call


def _relu(b: Body, x: tuple) -> tuple:
    zero = (literal(0, x[1]), x[1])
    return b.select(b.compare("<", x, zero), zero, x)


def _abs(b: Body, x: tuple) -> tuple:
    if is_float(x[1]):
        return b.intrinsic("fabs", [x])
    if x[1] == "bool":
        raise Unsupported("abs of bool")
    if x[1] == "uint8":
        return x
    neg = b.arith("-", (literal(0, x[1]), x[1]), x)
    return b.select(b.compare("<", x, (literal(0, x[1]), x[1])), neg, x)


def _sign(b: Body, x: tuple) -> tuple:
    t = x[1]
    if t == "bool":
        return x
    zero, one, mone = ((literal(v, t), t) for v in (0, 1, -1))
    inner = b.select(b.compare("<", x, zero), mone, zero)
    return b.select(b.compare(">", x, zero), one, inner)


def _maxmin(op: str):
    def call(b: Body, x: tuple, y: tuple) -> tuple:
        x, y = promote(b, x, y)
        c = b.compare(op, x, y)
        if is_float(x[1]):
            nan = b.compare("!=", x, x)
            c = b.emit(f"or i1 {c[0]}, {nan[0]}"), "bool"
        return b.select(c, x, y)
    return call


def _clamp(b: Body, x: tuple, lo: tuple, hi: tuple) -> tuple:
    x1, lo = promote(b, x, lo)
    r = b.select(b.compare("<", x1, lo), lo, x1)
    r, hi = promote(b, r, hi)
    return b.select(b.compare(">", r, hi), hi, r)


def _pow(b: Body, x: tuple, y: tuple) -> tuple:
    x, y = promote(b, x, y)
    if x[1] == "bool":
        raise Unsupported("pow of bools")
    return b.lib("fpow" if is_float(x[1]) else "ipow", x[1], [x, y])


def _rounding(name: str):
    def call(b: Body, x: tuple) -> tuple:
        return b.intrinsic(name, [x]) if is_float(x[1]) else x
    return call


def _erf(b: Body, x: tuple) -> tuple:
    r = b.libm("erf", [b.convert(x, "float64")])
    return b.convert(r, "float32") if x[1] == "float32" else r


def _libm_double(name: str):
    """A libm function in float64, rounded once for float32 operands (``scalar_special``);
    integer operands are left to numba (``fmod``'s integer remainder)."""
    def call(b: Body, *xs: tuple) -> tuple:
        if not all(is_float(x[1]) for x in xs):
            raise Unsupported(f"sg_{name} of integers")
        r = b.libm(name, [b.convert(x, "float64") for x in xs])
        return b.convert(r, "float32") if all(x[1] == "float32" for x in xs) else r
    return call


def _sqrt(b: Body, x: tuple) -> tuple:
    return b.intrinsic("sqrt", [_float_arg(b, x)])


CALLS: dict = {
    **{f"sg_{nm}": _unary_lib1(nm) for nm in ("exp", "log", "tanh", "sigmoid", "log1p",
                                              "expm1", "softplus", "sin", "cos")},
    "sg_relu": _relu, "sg_abs": _abs, "sg_sign": _sign, "sg_max": _maxmin(">="),
    "sg_min": _maxmin("<="), "sg_clamp": _clamp, "sg_pow": _pow, "sg_erf": _erf,
    "sg_sqrt": _sqrt, "sg_floor": _rounding("floor"), "sg_ceil": _rounding("ceil"),
    "sg_trunc": _rounding("trunc"), "sg_round": _rounding("rint"),
    **{f"sg_{nm}": _libm_double(nm) for nm in ("atan2", "hypot", "fmod", "sinh", "cosh",
                                               "asinh", "exp2", "lgamma")},
    **{f"sg_cast_{t}": _cast(t) for t in
       ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")},
}
"""Every ``sg_*`` name a kernel statement may call -> ``emitter(body, *args) -> value``."""
