"""Generator families for shape ops, matmul, the softmax/loss family, gather and conv/pool.

Symbolic dims are strings in ``B``; a reshape or concat over a symbolic dim produces an
expression (``"(B)*6"``, ``"(B)+(B)"``) so later inputs can be declared with that size.
"""

from __future__ import annotations

import math

import numpy as np

from .composites import plan
from .generator import Gen, broadcast


def _is_sym(d) -> bool:
    return isinstance(d, str)


def sym_mul(d, k: int):
    if k == 1:
        return d
    return d * k if isinstance(d, int) else f"({d})*{k}"


def sym_add(a, b):
    return a + b if isinstance(a, int) and isinstance(b, int) else f"({a})+({b})"


def _factor(n: int, r: np.random.Generator) -> list[int]:
    """A random factorization of ``n`` (with a size-1 dim now and then)."""
    f, p = [], 2
    while n > 1 and p * p <= n:
        while n % p == 0:
            f.append(p)
            n //= p
        p += 1
    if n > 1:
        f.append(n)
    r.shuffle(f)
    groups: list[int] = []
    for x in f:
        if groups and r.random() < 0.5:
            groups[-1] *= x
        else:
            groups.append(x)
    while len(groups) > 3:  # merge the last two (not ``groups[-2] *= groups.pop()``: the
        last = groups.pop()   # index -2 would be taken again after the pop)
        groups[-1] *= last
    if r.random() < 0.2:
        groups.insert(int(r.integers(len(groups) + 1)), 1)
    return groups


def g_reshape(G: Gen) -> int | None:
    v = G.pick(lambda i: len(G.shapes[i]) >= 1)
    if v is None:
        return None
    s = G.shapes[v]
    syms = [d for d in s if _is_sym(d)]
    static = int(np.prod([d for d in s if not _is_sym(d)]))
    if len(syms) > 1 or static == 0:
        return None
    parts = _factor(static, G.r)
    if syms:  # some factors merge into the -1 dim with the symbol
        k = int(G.r.integers(len(parts) + 1))
        merged = int(np.prod(parts[:k]))
        rest = parts[k:]
        pos = int(G.r.integers(len(rest) + 1))
        shape = rest[:pos] + [-1] + rest[pos:]
        out = rest[:pos] + [sym_mul(syms[0], merged)] + rest[pos:]
    else:
        shape = list(parts) or []
        if shape and G.chance(0.3):
            shape[int(G.r.integers(len(shape)))] = -1
        out = [static // max(1, int(np.prod([d for d in shape if d != -1]))) if d == -1 else d
               for d in shape]
    return G.node("reshape", [v], {"shape": shape}, out, mag=G.mag[v])


def g_permute(G: Gen) -> int | None:
    v = G.pick(lambda i: len(G.shapes[i]) >= 2)
    if v is None:
        return None
    s = G.shapes[v]
    if G.chance(0.3):
        d0, d1 = (int(x) for x in G.r.choice(len(s), 2, replace=False))
        out = list(s)
        out[d0], out[d1] = out[d1], out[d0]
        return G.node("transpose", [v], {"d0": d0, "d1": d1}, out, mag=G.mag[v])
    perm = [int(x) for x in G.r.permutation(len(s))]
    if perm == sorted(perm):
        perm = perm[::-1]
    return G.node("permute", [v], {"perm": perm}, [s[p] for p in perm], mag=G.mag[v])


def g_expand_squeeze(G: Gen) -> int | None:
    v = G.pick()
    s = G.shapes[v]
    ones = [i for i, d in enumerate(s) if d == 1]
    if ones and G.chance(0.5):
        dims = sorted(set(int(x) for x in G.r.choice(ones, size=int(G.r.integers(1, len(ones) +
                                                                               1)))))
        return G.node("squeeze", [v], {"dims": dims}, [d for i, d in enumerate(s)
                                                        if i not in dims], mag=G.mag[v])
    if len(s) >= 4:
        return None
    d = int(G.r.integers(len(s) + 1))
    return G.node("expand_dims", [v], {"dims": [d]}, s[:d] + [1] + s[d:], mag=G.mag[v])


_SYM_SLICES = [([None, None, None], "{d}"), ([1, None, None], "max(({d})-1,0)"),
               ([None, None, -1], "{d}"), ([None, None, 2], "(({d})+1)//2"),
               ([None, -1, None], "max(({d})-1,0)")]


def g_getitem(G: Gen) -> int | None:
    v = G.pick(lambda i: len(G.shapes[i]) >= 1)
    if v is None:
        return None
    index, out = [], []
    for d in G.shapes[v]:
        if G.chance(0.1):
            index.append(None)
            out.append(1)
        if _is_sym(d):
            sl, expr = _SYM_SLICES[int(G.r.integers(len(_SYM_SLICES)))]
            index.append(sl)
            out.append(d if expr == "{d}" else expr.format(d=d))
        elif d > 0 and G.chance(0.2):
            index.append(int(G.r.integers(-d, d)))
        else:
            sl = [G.choice([None, 0, 1, -1, -2]), G.choice([None, -1, 1, 2, d]),
                  G.choice([None, 1, 2, -1, -2])]
            index.append(sl)
            out.append(len(range(*slice(*sl).indices(d))))
    while index and index[-1] == [None, None, None] and G.chance(0.5):
        index.pop()
    if len(index) > 1 and index[0] == [None, None, None] and G.chance(0.5):
        index[0] = "..."
    if not index:
        return None
    return G.node("getitem", [v], {"index": index}, out, mag=G.mag[v])


def _like_except(G: Gen, s: list, dim: int, size) -> int:
    other = G.pick(lambda i: len(G.shapes[i]) == len(s) and all(
        a == b for j, (a, b) in enumerate(zip(G.shapes[i], s, strict=True)) if j != dim) and (
        size is None or G.shapes[i][dim] == size))
    if other is not None and G.chance(0.5):
        return other
    shape = list(s)
    if size is not None:
        shape[dim] = size
    elif not _is_sym(s[dim]) or G.chance(0.5):
        shape[dim] = int(G.choice([0, 1, 2, 3]) if G.chance(0.9) else 0)
    return G.new_input(shape)


def g_cat(G: Gen) -> int | None:
    v = G.pick(lambda i: len(G.shapes[i]) >= 1)
    if v is None:
        return None
    s = G.shapes[v]
    stack = G.chance(0.3)
    dim = int(G.r.integers(len(s) + (1 if stack else 0)))
    n = int(G.r.integers(2, 4))
    args = [v]
    for _ in range(n - 1):
        args.append(v if G.chance(0.25) else _like_except(G, s, min(dim, len(s) - 1),
                                                          s[min(dim, len(s) - 1)] if stack
                                                          else None))
    mag = max(G.mag[a] for a in args)
    if stack:
        return G.node("stack", args, {"dim": dim}, s[:dim] + [len(args)] + s[dim:], mag=mag)
    total = G.shapes[args[0]][dim]
    for a in args[1:]:
        total = sym_add(total, G.shapes[a][dim])
    return G.node("cat", args, {"dim": dim}, s[:dim] + [total] + s[dim + 1:], mag=mag)


def g_broadcast_to(G: Gen) -> int | None:
    v = G.pick(lambda i: not any(_is_sym(d) for d in G.shapes[i]) and len(G.shapes[i]) < 4)
    if v is None:
        return None
    s = [int(G.r.integers(1, 4)) if d == 1 and G.chance(0.6) else d for d in G.shapes[v]]
    if G.chance(0.5):
        s = [int(G.r.integers(1, 4))] + s
    return G.node("broadcast_to", [v], {"shape": s}, s, mag=G.mag[v])


def g_matmul(G: Gen) -> int | None:
    a = G.pick(lambda i: len(G.shapes[i]) >= 1)
    if a is None:
        return None
    a = G.bounded(a, 1e3)
    s = G.shapes[a]
    k = s[-1]
    m = int(G.r.integers(1, 5))
    b = G.pick(lambda i: len(G.shapes[i]) == 2 and G.shapes[i][0] == k and i != a)
    if b is None or G.chance(0.5):
        if len(s) >= 3 and G.chance(0.3):
            bs = list(s[:-2]) + [k, m]
        else:
            bs = [k] if (G.chance(0.2) and len(s) >= 2) else [k, m]
        b = G.new_input(bs)
    b = G.bounded(b, 1e3)
    sb = G.shapes[b]
    if len(s) == 1:
        out = list(sb[:-2]) + [sb[-1]] if len(sb) >= 2 else []
    elif len(sb) == 1:
        out = list(s[:-1])
    else:
        batch = broadcast(s[:-2], sb[:-2])
        if batch is None:
            return None
        out = batch + [s[-2], sb[-1]]
    n = G.size(a) if not _is_sym(k) else max(G.prog.batches)
    return G.node("matmul", [a, b], {}, out, mag=G.mag[a] * G.mag[b] * max(n, 1))


def g_softmax(G: Gen) -> int | None:
    v = G.pick(lambda i: len(G.shapes[i]) >= 1)
    if v is None:
        return None
    v = G.bounded(v, 50.0)
    d = int(G.r.integers(len(G.shapes[v])))
    op = G.choice(["softmax", "log_softmax"])
    mag = 1.0 if op == "softmax" else 2 * G.mag[v] + 5
    return G.node(op, [v], {"dim": d}, G.shapes[v], mag=mag, pos=False)


def g_loss(G: Gen) -> int | None:
    op = G.choice(["cross_entropy", "cross_entropy", "sparse_ce_mean", "mse_loss"])
    if op == "mse_loss":
        a = G.bounded(G.pick(), 1e3)
        b = G.operand_like(a)
        if isinstance(b, dict):
            b = G.new_input(G.shapes[a])
        red = G.choice(["mean", "sum", "none"])
        shape = broadcast(G.shapes[a], G.shapes[b])
        return G.node(op, [a, b], {"reduction": red}, shape if red == "none" else [],
                      mag=(G.mag[a] + G.mag[b]) ** 2 * G.size(a))
    ranks = (2,) if op == "sparse_ce_mean" else (1, 2)
    v = G.pick(lambda i: len(G.shapes[i]) in ranks and not _is_sym(G.shapes[i][-1])
               and G.shapes[i][-1] > 0)
    if v is None:
        v = G.new_input(["B", int(G.r.integers(1, 5))])
    v = G.bounded(v, 50.0)
    s = G.shapes[v]
    t = G.new_input(s[:-1], kind="int", domain="sym", high=s[-1])
    red = "mean" if op == "sparse_ce_mean" else G.choice(["mean", "sum", "none"])
    p = {} if op == "sparse_ce_mean" else {"reduction": red}
    return G.node(op, [v, t], p, s[:-1] if red == "none" else [], mag=2 * G.mag[v] + 5)


def g_gather(G: Gen) -> int | None:
    v = G.pick(lambda i: any(not _is_sym(d) and d > 0 for d in G.shapes[i]))
    if v is None:
        return None
    s = G.shapes[v]
    dim = G.choice([i for i, d in enumerate(s) if not _is_sym(d) and d > 0])
    shape = list(s)
    shape[dim] = int(G.r.integers(1, 4))
    idx = G.new_input(shape, kind="int", domain="sym", high=s[dim])
    return G.node("gather", [v, idx], {"dim": dim}, shape, mag=G.mag[v])


def g_conv(G: Gen) -> int | None:
    v = G.pick(lambda i: len(G.shapes[i]) == 4 and all(
        isinstance(d, int) and 1 <= d <= 5 for d in G.shapes[i][1:]))
    if v is None:
        v = G.new_input(["B", int(G.r.integers(1, 6)), int(G.r.integers(1, 6)),
                         int(G.r.integers(1, 4))])
    v = G.bounded(v, 1e3)
    _, h, w, c = G.shapes[v]
    op = G.choice(["conv2d", "conv2d", "max_pool", "avg_pool"])
    pad, s = G.choice(["SAME", "VALID"]), int(G.choice([1, 1, 2]))
    if op == "conv2d":
        kh, kw = int(G.r.integers(1, 4)), int(G.r.integers(1, 4))
        if G.chance(0.15):
            kh = 4
        if pad == "VALID" and (kh > h or kw > w):
            pad = "SAME"
        f = G.bounded(G.new_input([kh, kw, c, int(G.r.integers(1, 4))]), 1e3)
        oh, ow = plan(h, kh, s, pad)[2], plan(w, kw, s, pad)[2]
        return G.node(op, [v, f], {"stride": s, "padding": pad},
                      [G.shapes[v][0], oh, ow, G.shapes[f][3]],
                      mag=G.mag[v] * G.mag[f] * kh * kw * c)
    k = int(G.r.integers(1, 4))
    if pad == "VALID" and (k > h or k > w):
        pad = "SAME"
    oh, ow = plan(h, k, s, pad)[2], plan(w, k, s, pad)[2]
    return G.node(op, [v], {"k": k, "stride": s, "padding": pad},
                  [G.shapes[v][0], oh, ow, c], mag=G.mag[v] * (1 + math.log(k)))
