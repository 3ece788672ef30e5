"""The seeded program generator: random expression graphs over the registry's ops.

``generate(seed)`` draws a :class:`Program`: a dtype (float32 or float64, float16 now and then:
:func:`draw_dtype`), 2-3 batch sizes (0 and 1 included now and
then, occasionally one above the parallel threshold), inputs of mixed ranks with a ``None``
batch dim and size-1 dims, then nodes chosen by weight from the op families below, outputs,
gradients (with or without ``grad_ys``, sometimes of second order) and now and then an
optimizer step. The generator tracks each value's shape, a rough magnitude bound (values are
squashed with ``tanh`` before they could overflow) and whether it is known positive (``log``,
``sqrt``, divisors and ``pow`` bases get a positive operand most of the time, so NaN and inf
positions appear deliberately, not everywhere). The shape and nn families are in
:mod:`.gen_shapes`.
"""

from __future__ import annotations

import math

import numpy as np

from .ops_table import COMPARE, REDUCE
from .program import Input, Node, Program, concrete

LIMIT = {"float64": 1e6, "float32": 1e4, "float16": 1e2}  # float16's largest is 65504
DTYPES = ("float32", "float64", "float16")
HALF_P = 0.12
"""The share of float16 programs among the drawn dtypes (see :func:`draw_dtype`)."""


def draw_dtype(seed: int, u: float, dtypes: tuple[str, ...] | None) -> str:
    """A program's dtype from ``u`` (the generator's first draw, as before float16 was drawn:
    a float32 or float64 seed keeps its program) and a stream of its own for float16 (about
    :data:`HALF_P` of the programs), among ``dtypes`` (default: all of :data:`DTYPES`)."""
    allowed = tuple(dtypes) if dtypes else DTYPES
    unknown = sorted(set(allowed) - set(DTYPES))
    if unknown:  # a typo must not fuzz another dtype quietly
        raise ValueError(f"unknown fuzz dtypes {unknown}; known: {', '.join(DTYPES)}")
    wide = [d for d in ("float32", "float64") if d in allowed]
    if "float16" in allowed and (not wide or np.random.default_rng([seed, 16]).random() < HALF_P):
        return "float16"
    if len(wide) == 2:
        return "float32" if u < 0.5 else "float64"
    return wide[0]
MAX_ELEMENTS = 1 << 21  # per value at the largest batch (a (B, B, 3) broadcast must not OOM)


class TooBig(Exception):
    """A value would exceed :data:`MAX_ELEMENTS`: the family's draw is abandoned."""


def power(a: float, b: float) -> float:
    """``a ** b`` for magnitudes, saturating instead of overflowing."""
    return math.exp(min(b * math.log(max(a, 1e-300)), 690.0))


def broadcast(a: list, b: list) -> list | None:
    """The broadcast shape, or None when ``a`` and ``b`` do not broadcast for every batch."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return out[::-1]


class Gen:
    """Generation state: the program so far and per-value bookkeeping."""

    def __init__(self, seed: int, max_nodes: int = 8, big: bool = True,
                 sizes: tuple = (0, 1, 2, 3, 4, 5, 7), big_p: float = 0.08,
                 big_max: int = 1500, dtypes: tuple[str, ...] | None = None) -> None:
        self.r = np.random.default_rng(seed)
        r = self.r
        dtype = draw_dtype(seed, r.random(), dtypes)
        n = min(int(r.integers(2, 4)), len(sizes))
        batches = list(r.choice(list(sizes), size=n, replace=False))
        if big and r.random() < big_p:
            batches[int(r.integers(len(batches)))] = int(r.integers(big_max // 5, big_max))
        self.prog = Program(dtype=dtype, inputs=[], nodes=[], outputs=[],
                            batches=[int(b) for b in batches],
                            data_seed=int(r.integers(2**31)),
                            edge=0.05 if r.random() < 0.3 else 0.0)
        self.max_nodes = max_nodes
        self.items: list = []  # inputs and nodes in creation order (renumbered at the end)
        self.shapes: list = []
        self.kind: list[str] = []
        self.mag: list[float] = []
        self.pos: list[bool] = []
        self.limit = LIMIT[dtype]

    # ------------------------------------------------------------------ bookkeeping
    @property
    def n_nodes(self) -> int:
        return sum(isinstance(x, Node) for x in self.items)

    def chance(self, p: float) -> bool:
        return bool(self.r.random() < p)

    def choice(self, seq):
        return seq[int(self.r.integers(len(seq)))]

    def dim(self) -> int:
        return int(self.r.choice([0, 1, 1, 2, 3, 3, 4, 5], p=[.02, .18, .1, .2, .2, .1, .12, .08]))

    def new_input(self, shape: list, kind: str = "ph", domain: str | None = None,
                  high=0) -> int:
        if kind == "ph" and all(isinstance(d, int) for d in shape) and self.chance(0.3):
            kind = "var" if self.chance(0.7) else "const"
        domain = domain or self.choice(["sym", "sym", "sym", "pos", "unit"])
        layout = self.choice(["C", "C", "C", "C", "F", "T", "S"])
        v = self._value(list(shape), "i" if kind == "int" else "f",
                        {"sym": 2.0, "pos": 2.0, "unit": 1.3}[domain] * 30,
                        domain == "pos" and self.prog.edge == 0)
        self.items.append(Input(shape=list(shape), kind=kind, domain=domain, layout=layout,
                                high=high))
        return v

    def _value(self, shape, kind, mag, pos) -> int:
        if np.prod(concrete(list(shape), max(self.prog.batches)), dtype=float) > MAX_ELEMENTS:
            raise TooBig(shape)
        self.shapes.append(list(shape))
        self.kind.append(kind)
        self.mag.append(float(mag))
        self.pos.append(bool(pos))
        return len(self.shapes) - 1

    def node(self, op: str, args: list, p: dict, shape: list, kind: str = "f",
             mag: float = 1.0, pos: bool = False) -> int:
        v = self._value(shape, kind, min(mag, 1e150), pos)
        self.items.append(Node(op=op, args=list(args), p=dict(p)))
        return v

    def floats(self) -> list[int]:
        return [i for i, k in enumerate(self.kind) if k == "f"]

    def pick(self, pred=None) -> int | None:
        """A float value, recent ones more likely."""
        c = [i for i in self.floats() if pred is None or pred(i)]
        if not c:
            return None
        w = np.arange(1, len(c) + 1, dtype=float) ** 2
        return int(self.r.choice(c, p=w / w.sum()))

    def size(self, v: int) -> int:
        """Element count at the largest batch."""
        return int(np.prod(concrete(self.shapes[v], max(self.prog.batches)))) if \
            self.shapes[v] else 1

    # ------------------------------------------------------------------ operands
    def bounded(self, v: int, limit: float | None = None) -> int:
        if self.mag[v] <= (limit or self.limit):
            return v
        return self.node("tanh", [v], {}, self.shapes[v], mag=1.0)

    def positive(self, v: int, p: float = 0.8) -> int:
        """Most of the time, a positive function of ``v`` (else ``v`` itself: NaN/inf cases)."""
        if self.pos[v] or not self.chance(p):
            return v
        s = self.shapes[v]
        how = self.choice(["sq", "sig", "exp", "abs"])
        if how == "sq":
            v = self.bounded(v, 1e3)
            t = self.node("square", [v], {}, s, mag=self.mag[v] ** 2)
            return self.node("add", [t, {"c": 0.5}], {}, s, mag=self.mag[t] + 1, pos=True)
        if how == "sig":
            return self.node("sigmoid", [v], {}, s, mag=1.0, pos=True)
        if how == "exp":
            t = self.node("tanh", [v], {}, s)
            return self.node("exp", [t], {}, s, mag=3.0, pos=True)
        t = self.node("abs", [v], {}, s, mag=self.mag[v])
        return self.node("add", [t, {"c": 0.25}], {}, s, mag=self.mag[v] + 1, pos=True)

    def derived_shape(self, s: list) -> list:
        """A shape that broadcasts with ``s``: fewer leading dims, size-1 dims, more dims."""
        s = list(s)
        how = self.choice(["same", "drop", "ones", "ones", "prepend", "scalar"])
        if how == "drop" and s:
            s = s[int(self.r.integers(1, len(s) + 1)):]
        elif how == "ones":
            s = [1 if self.chance(0.5) else d for d in s]
        elif how == "prepend" and len(s) < 4:
            s = [int(self.r.integers(1, 4))] + s
        elif how == "scalar":
            s = []
        return s

    def operand_like(self, a: int) -> int | dict:
        """A second operand that broadcasts with ``a``: existing value, new input, scalar."""
        s = self.shapes[a]
        u = self.r.random()
        if u < 0.35:
            b = self.pick(lambda i: i != a and broadcast(self.shapes[i], s) is not None)
            if b is not None:
                return b
        if u < 0.8:
            return self.new_input(self.derived_shape(s))
        return {"c": float(self.choice([2.0, 0.5, -1.5, 3.0, 1.0, 0.0, -0.25]))}

    def smag(self, x) -> float:
        return abs(x["c"]) if isinstance(x, dict) else self.mag[x]

    def sshape(self, x) -> list:
        return [] if isinstance(x, dict) else self.shapes[x]


# ---------------------------------------------------------------------------- elementwise
def g_unary(G: Gen) -> int | None:
    v = G.pick()
    op = G.choice(["neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs",
                   "sign", "square", "reciprocal", "clamp", "exp", "log", "tanh", "relu"])
    s = G.shapes[v]
    if op == "exp":
        v = G.bounded(v, 8.0)
        return G.node("exp", [v], {}, s, mag=math.exp(min(G.mag[v], 700)), pos=True)
    if op in ("log", "sqrt", "reciprocal"):
        v = G.positive(v)
        mag = {"log": max(5.0, math.log(G.mag[v] + 1)), "sqrt": math.sqrt(G.mag[v]) + 1,
               "reciprocal": 10.0}[op]
        return G.node(op, [v], {}, s, mag=mag, pos=op == "sqrt" and G.pos[v])
    if op == "square":
        v = G.bounded(v, math.sqrt(G.limit))
        return G.node(op, [v], {}, s, mag=G.mag[v] ** 2)
    if op == "clamp":
        lo = G.choice([None, -1.0, 0.0, -0.5])
        hi = G.choice([None, 1.0, 0.5]) if lo is not None else G.choice([1.0, 0.5])
        return G.node(op, [v], {"lo": lo, "hi": hi}, s, mag=G.mag[v])
    mag = 1.0 if op in ("sin", "cos", "tanh", "sigmoid", "sign") else G.mag[v]
    return G.node(op, [v], {}, s, mag=mag, pos=op == "sigmoid")


def g_binary(G: Gen) -> int | None:
    a = G.bounded(G.pick(), math.sqrt(G.limit))
    op = G.choice(["add", "sub", "mul", "div", "pow", "maximum", "minimum", "add", "mul", "sub"])
    b = G.operand_like(a)
    if not isinstance(b, dict):
        b = G.bounded(b, math.sqrt(G.limit))
    if op == "div":
        if isinstance(b, dict):
            b = {"c": G.choice([2.0, 0.5, -3.0, 0.0])}
        else:
            b = G.positive(b, 0.85)
        mag = G.mag[a] * 10
    elif op == "pow":
        a = G.positive(G.bounded(a, 100.0), 0.8)
        if isinstance(b, dict) or G.chance(0.6):
            b = {"c": G.choice([2.0, 3.0, 0.5, -1.0, 0.0, 1.0, 1.5, -0.5])}
        else:
            b = G.node("tanh", [b], {}, G.shapes[b])
        mag = power(max(G.mag[a], 10.0), max(G.smag(b), 1.0))
    elif op == "mul":
        mag = G.mag[a] * G.smag(b)
    else:
        mag = G.mag[a] + G.smag(b)
    args = [a, b]
    if isinstance(b, dict) and op != "pow" and G.chance(0.3):
        args = [b, a]
    elif not isinstance(b, dict) and G.chance(0.5) and op != "pow":
        args = [b, a]
    shape = broadcast(G.shapes[a], G.sshape(b))
    if shape is None:
        return None
    pos = op in ("add", "mul", "maximum") and G.pos[a] and (not isinstance(b, dict) and
                                                            G.pos[b])
    return G.node(op, args, {}, shape, mag=mag, pos=pos)


def compare_node(G: Gen, a: int) -> int:
    b = G.operand_like(a)
    shape = broadcast(G.shapes[a], G.sshape(b)) or G.shapes[a]
    if broadcast(G.shapes[a], G.sshape(b)) is None:
        b = {"c": 0.0}
    return G.node(G.choice(list(COMPARE)), [a, b], {}, shape, kind="b")


def g_where(G: Gen) -> int | None:
    c = compare_node(G, G.pick())
    x = G.pick(lambda i: broadcast(G.shapes[i], G.shapes[c]) is not None)
    y = G.operand_like(x)
    if G.chance(0.3):
        x, y = y, x
    shape = broadcast(G.shapes[c], G.sshape(x))
    shape = None if shape is None else broadcast(shape, G.sshape(y))  # [] (a scalar) is falsy
    if shape is None:
        return None
    return G.node("where", [c, x, y], {}, shape, mag=max(G.smag(x), G.smag(y)))


def g_cast(G: Gen) -> int | None:
    c = compare_node(G, G.pick())
    return G.node("cast_f", [c], {}, G.shapes[c], mag=1.0)


def g_reduce(G: Gen) -> int | None:
    v = G.pick(lambda i: len(G.shapes[i]) >= 1)
    if v is None:
        return None
    s = G.shapes[v]
    op = G.choice(list(REDUCE) + ["sum", "mean"])
    full = G.chance(0.25)
    dims = list(range(len(s))) if full else sorted(
        int(d) for d in G.r.choice(len(s), size=int(G.r.integers(1, len(s) + 1)), replace=False))
    if op == "prod" and (max(G.prog.batches) > 8 and any(isinstance(s[d], str) for d in dims)):
        op = "sum"
    keep = G.chance(0.4)
    n = int(np.prod([concrete([s[d]], max(G.prog.batches))[0] for d in dims]))
    if op == "prod":
        v = G.bounded(v, 2.0)
    elif op == "logsumexp":
        v = G.bounded(v, 50.0)
    mag = {"sum": G.mag[v] * max(n, 1), "mean": G.mag[v], "amax": G.mag[v],
           "amin": G.mag[v], "logsumexp": G.mag[v] + math.log(n + 1),
           "prod": power(G.mag[v], max(n, 1))}[op]
    out = [1 if d in dims else x for d, x in enumerate(s)] if keep else \
        [x for d, x in enumerate(s) if d not in dims]
    return G.node(op, [v], {"dim": dims, "keepdim": keep, "full": full}, out, mag=mag)


def g_cumsum(G: Gen) -> int | None:
    v = G.pick(lambda i: len(G.shapes[i]) >= 1)
    if v is None:
        return None
    s = G.shapes[v]
    d = int(G.r.integers(len(s)))
    n = concrete([s[d]], max(G.prog.batches))[0]
    return G.node("cumsum", [v], {"dim": d, "reverse": G.chance(0.4)}, s,
                  mag=G.mag[v] * max(n, 1))


def g_cond(G: Gen) -> int | None:
    a = G.pick()
    sm = G.node("sum", [a], {"dim": list(range(len(G.shapes[a]))), "keepdim": False,
                             "full": True}, [], mag=G.mag[a] * G.size(a))
    p = G.node(G.choice(["gt", "lt"]), [sm, {"c": 0.0}], {}, [], kind="b")
    b = G.pick(lambda i: G.shapes[i] == G.shapes[a] and i != a) or a
    safe = ["tanh", "sin", "cos", "neg", "sigmoid", "square"]
    a, b = G.bounded(a, 1e3), G.bounded(b, 1e3)
    return G.node("cond", [p, a, b], {"t": G.choice(safe), "f": G.choice(safe)},
                  G.shapes[a], mag=max(G.mag[a], G.mag[b]) ** 2 + 1)
