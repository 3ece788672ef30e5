"""``generate(seed)``: one random program (see :mod:`.generator` for what is drawn)."""

from __future__ import annotations

import numpy as np

from . import gen_shapes as S
from . import gen_special as GSP
from . import gen_wide as GW
from .gen_alias import alias_forms
from .generator import Gen, TooBig, g_binary, g_cast, g_cond, g_cumsum, g_reduce, g_unary, g_where
from .program import Input, Node, Program, compact, reaching

FAMILIES = {  # name: (generator, weight)
    "unary": (g_unary, 18), "binary": (g_binary, 20), "where": (g_where, 4),
    "cast": (g_cast, 1), "reduce": (g_reduce, 12), "cumsum": (g_cumsum, 3),
    "cond": (g_cond, 2), "matmul": (S.g_matmul, 8), "reshape": (S.g_reshape, 5),
    "permute": (S.g_permute, 6), "expand": (S.g_expand_squeeze, 3),
    "getitem": (S.g_getitem, 6), "cat": (S.g_cat, 5), "broadcast_to": (S.g_broadcast_to, 2),
    "softmax": (S.g_softmax, 5), "loss": (S.g_loss, 4), "gather": (S.g_gather, 2),
    "conv": (S.g_conv, 3),
}
CORE = tuple(FAMILIES)  # the first fuzzer's families (the CI seeds were picked over these)
WIDE = {  # the ops added since (see :mod:`.gen_wide`)
    "unary_wide": (GW.g_unary_wide, 4), "binary_wide": (GW.g_binary_wide, 2),
    "scan_arg": (GW.g_scan_arg, 3), "moments": (GW.g_moments, 3), "sort": (GW.g_sort, 2),
    "move": (GW.g_move, 4), "pad": (GW.g_pad, 2), "einsum": (GW.g_einsum, 2),
    "index": (GW.g_index, 3), "norm_attn": (GW.g_norm_attn, 3), "linalg": (GW.g_linalg, 3),
    "while": (GW.g_while, 2),
}
FAMILIES.update(WIDE)
SPECIAL = {"special": (GSP.g_special, 2)}  # the special-function records (:mod:`.gen_special`)
FAMILIES.update(SPECIAL)
OPTIMIZERS = ("sgd", "momentum", "adam", "adagrad", "rmsprop")


def _first_inputs(G: Gen) -> None:
    for _ in range(1 if G.chance(0.5) else 2):
        rank = int(G.r.choice([0, 1, 2, 3, 4], p=[.08, .22, .38, .22, .1]))
        shape = [G.dim() for _ in range(rank)]
        if rank and G.chance(0.8):
            shape[0] = "B"
        while True:
            try:
                G.new_input(shape, kind="ph")
                break
            except TooBig:  # a big batch times many dims: drop the last dim
                shape = shape[:-1]


def _finish(G: Gen) -> Program:
    """Renumber (inputs first), pick outputs, gradients and an optimizer step."""
    ins = [i for i, x in enumerate(G.items) if isinstance(x, Input)]
    nodes = [i for i, x in enumerate(G.items) if isinstance(x, Node)]
    new = {old: j for j, old in enumerate(ins + nodes)}
    p = G.prog
    p.inputs = [G.items[i] for i in ins]
    p.nodes = [Node(x.op, [a if isinstance(a, dict) else new[a] for a in x.args], x.p)
               for x in (G.items[i] for i in nodes)]
    p.shapes = [G.shapes[i] for i in ins + nodes]
    kinds = [G.kind[i] for i in ins + nodes]
    floats = [new[i] for i in nodes if G.kind[i] == "f"]
    used = {a for n in p.nodes for a in n.args if not isinstance(a, dict)}
    leaves = [f for f in floats[:-1] if f not in used]
    p.outputs = [floats[-1]] + [int(x) for x in G.r.permutation(leaves)[:2]]
    live = reaching(p)
    cands = [i for i, x in enumerate(p.inputs) if x.kind in ("ph", "var") and i in live
             and kinds[i] == "f"]
    if cands and G.chance(0.8):
        wrt = sorted(int(x) for x in G.r.choice(cands, size=int(G.r.integers(1, len(cands) + 1)),
                                                replace=False))
        p.grad = {"wrt": wrt, "ys": G.chance(0.5), "second": G.chance(0.3)}
    if any(p.inputs[i].kind == "var" for i in live if i < len(p.inputs)) and G.chance(0.2):
        p.train = {"opt": G.choice(list(OPTIMIZERS)), "lr": 0.1}
    return compact(alias_forms(p, kinds))


def generate(seed: int, max_nodes: int = 8, big: bool = True,
             families: tuple[str, ...] | None = None, edge: float | None = None,
             **batch_opts) -> Program:
    """A program of about 2..``max_nodes`` nodes drawn from ``families`` (default: all);
    ``edge``: the rate of edge values in the data (default: 0.05 in about a third of them);
    ``batch_opts``: :class:`Gen`'s ``sizes`` (batch sizes to draw from), ``big_p`` (chance
    of one batch in ``[big_max/5, big_max)``), ``big_max`` and ``dtypes`` (the dtypes to draw
    from, default all: :func:`.generator.draw_dtype`)."""
    G = Gen(seed, max_nodes, big, **batch_opts)
    if edge is not None:  # an explicit rate: inf, -inf and NaN join the edge values
        G.prog.edge, G.prog.nonfinite = edge, edge > 0
    unknown = sorted(set(families or ()) - set(FAMILIES))
    if unknown:  # a typo must not fuzz nothing (or less) quietly
        raise ValueError(f"unknown fuzz families {unknown}; known: {', '.join(FAMILIES)}")
    fams = {k: v for k, v in FAMILIES.items() if families is None or k in families}
    names = list(fams)
    w = np.array([fams[n][1] for n in names], float)
    _first_inputs(G)
    target = int(G.r.integers(2, max_nodes + 1))
    for _ in range(60):
        if G.n_nodes >= target:
            break
        fn = fams[names[int(G.r.choice(len(names), p=w / w.sum()))]][0]
        try:
            fn(G)
        except TooBig:
            continue
    if not any(isinstance(x, Node) and G.kind[i] == "f" for i, x in enumerate(G.items)):
        g_unary(G)  # same shape as its operand: never too big
    return _finish(G)
