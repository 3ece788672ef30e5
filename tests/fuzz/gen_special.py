"""Generator family for the special-function rows (:mod:`.ops_special`): inputs are kept where
the functions are finite and smooth (``sinh``/``cosh``/``exp2`` of bounded values, the gamma
functions of values above 0.5, ``erfinv`` of ``0.9 * tanh``), so every oracle, finite
differences included, applies; ``atan2``/``hypot``/``fmod`` take a second tensor operand."""

from __future__ import annotations

import math

from .generator import Gen, broadcast


def g_special(G: Gen) -> int | None:
    v = G.pick()
    op = G.choice(["atan2", "hypot", "fmod", "sinh", "cosh", "asinh", "exp2", "lgamma",
                   "digamma", "erfinv"])
    s = G.shapes[v]
    if op in ("atan2", "hypot", "fmod"):
        a = G.bounded(v, 1e3)
        b = G.operand_like(a)
        if isinstance(b, dict):
            b = G.new_input(G.derived_shape(G.shapes[a]))
        if op == "fmod":
            b = G.positive(G.bounded(b, 1e3), 1.0)
        shape = broadcast(G.shapes[a], G.shapes[b])
        if shape is None:
            return None
        mag = math.pi if op == "atan2" else G.mag[a] + G.mag[b]
        return G.node(op, [a, b], {}, shape, mag=mag, pos=op == "hypot")
    if op in ("sinh", "cosh", "exp2"):
        v = G.bounded(v, 8.0)
        return G.node(op, [v], {}, s, mag=math.exp(min(G.mag[v], 700)), pos=op != "sinh")
    if op == "asinh":
        return G.node(op, [v], {}, s, mag=math.log(G.mag[v] + 2))
    if op == "erfinv":
        t = G.node("tanh", [v], {}, s)
        w = G.node("mul", [t, {"c": 0.9}], {}, s)
        return G.node(op, [w], {}, s, mag=2.0)
    # lgamma, digamma: x = 0.5 + sigmoid-like positive values
    p = G.node("sigmoid", [G.bounded(v, 1e3)], {}, s, mag=1.0, pos=True)
    x = G.node("add", [G.node("mul", [p, {"c": 4.0}], {}, s, mag=4.0, pos=True), {"c": 0.5}],
               {}, s, mag=4.5, pos=True)
    return G.node(op, [x], {}, s, mag=5.0)
