"""Program forms the expression generator never drew: shared operands and aliased outputs.

Applied to a finished program from a random stream of its own (seeded by the program's
``data_seed``), so the draws of the other generators, and every recorded seed's program
apart from these edits, stay as they were:

* ``x op x``: a binary node whose second operand becomes its first (``f(x, x)``: the
  gradient adds two paths into one value; a kernel must not write its output over an input it
  still reads twice);
* an intermediate that later nodes read, fetched as an output too (the memory planner must
  not reuse or write in place over a buffer the caller receives);
* the same value fetched twice (one tensor under two fetch names);
* an input fetched as an output (a placeholder's value or a variable: the result must be a
  fresh array, never the feed or the variable's own buffer).
"""

from __future__ import annotations

import numpy as np

from .program import Program

SELF_OPS = ("add", "sub", "mul", "div", "maximum", "minimum")  # pow: x**x overflows float32
P_SELF, P_INTERMEDIATE, P_TWICE, P_INPUT = 0.12, 0.2, 0.1, 0.08


def alias_forms(prog: Program, kinds: list[str]) -> Program:
    """``prog`` with some of the forms above (``prog.shapes`` filled in; ``kinds[v]``: ``f``
    for a float value)."""
    r = np.random.default_rng([prog.data_seed, 7])
    n_in = len(prog.inputs)
    for k, node in enumerate(prog.nodes):
        a = node.args
        if (node.op in SELF_OPS and len(a) == 2 and all(not isinstance(x, dict) for x in a)
                and prog.shapes[a[0]] == prog.shapes[n_in + k] and r.random() < P_SELF):
            node.args = [a[0], a[0]]
    floats = [n_in + k for k in range(len(prog.nodes)) if kinds[n_in + k] == "f"]
    used = {x for n in prog.nodes for x in n.args if not isinstance(x, dict)}
    read_later = [v for v in floats if v in used and v not in prog.outputs]
    if read_later and r.random() < P_INTERMEDIATE:
        prog.outputs.append(int(r.choice(read_later)))
    if r.random() < P_TWICE:
        prog.outputs.append(int(r.choice(prog.outputs)))
    fed = [i for i, x in enumerate(prog.inputs) if x.kind in ("ph", "var") and kinds[i] == "f"]
    if fed and r.random() < P_INPUT:
        prog.outputs.append(int(r.choice(fed)))
    return prog

