"""Generator families for the wide rows (:mod:`.ops_wide`): more elementwise ops, scans and
reductions with indices, moments and norms, sort/top-k, data movement (flip, roll, tile, narrow,
pad), einsum, index ops (scatter_add, gather_nd, segment sums, one_hot, embedding), layer/batch
norm, attention, SPD linear algebra and ``tf.while_loop``.

Parameters that depend on a size (a narrow's start, a pad's width, an index's range) are drawn
only over static dims, so every batch size (0 included) keeps the program valid.
"""

from __future__ import annotations

import math

from .generator import Gen, broadcast


def _static_dims(s: list, lo: int = 1) -> list[int]:
    return [i for i, d in enumerate(s) if isinstance(d, int) and d >= lo]


def g_unary_wide(G: Gen) -> int | None:
    v = G.pick()
    op = G.choice(["erf", "expm1", "log1p", "softplus", "floor", "ceil", "round", "trunc",
                   "elu", "leaky_relu"])
    s = G.shapes[v]
    if op == "expm1":
        v = G.bounded(v, 8.0)
        return G.node(op, [v], {}, s, mag=math.exp(min(G.mag[v], 700)))
    if op == "log1p":
        v = G.positive(v)
        return G.node(op, [v], {}, s, mag=max(5.0, math.log(G.mag[v] + 1)))
    if op == "leaky_relu":
        return G.node(op, [v], {"alpha": G.choice([0.2, 0.01, 0.5])}, s, mag=G.mag[v])
    mag = 1.0 if op == "erf" else G.mag[v] + 1
    return G.node(op, [v], {}, s, mag=mag, pos=op == "softplus")


def g_binary_wide(G: Gen) -> int | None:
    a = G.bounded(G.pick(), 1e3)
    b = G.operand_like(a)
    if isinstance(b, dict):
        b = {"c": G.choice([2.0, 0.5, 1.5, -3.0])}
    else:
        b = G.positive(G.bounded(b, 1e3), 0.9)
    shape = broadcast(G.shapes[a], G.sshape(b))
    if shape is None:
        return None
    op = G.choice(["remainder", "floor_divide"])
    mag = G.smag(b) if op == "remainder" else G.mag[a] * 10
    return G.node(op, [a, b], {}, shape, mag=mag)


def g_scan_arg(G: Gen) -> int | None:
    """cumprod, argmax / argmin, and max over a dim with its indices."""
    v = G.pick(lambda i: len(G.shapes[i]) >= 1)
    if v is None:
        return None
    s = G.shapes[v]
    op = G.choice(["cumprod", "argmax", "argmin", "max_dim"])
    d = int(G.r.integers(len(s)))
    if op == "cumprod":
        v = G.bounded(v, 1.5)
        return G.node(op, [v], {"dim": d, "reverse": G.chance(0.4)}, s, mag=2.0 ** 20)
    if s[d] == 0 or not isinstance(s[d], int):  # an empty dim has no maximum
        return None
    out = s[:d] + s[d + 1:]
    if op == "max_dim":
        perm = [i for i in range(len(s)) if i != d] + [d]
        return G.node(op, [v], {"dim": d, "perm": perm}, out, mag=G.mag[v])
    return G.node(op, [v], {"dim": d}, out, mag=float(s[d]))


def g_moments(G: Gen) -> int | None:
    v = G.pick(lambda i: len(G.shapes[i]) >= 1)
    if v is None:
        return None
    v = G.bounded(v, 1e3)
    s = G.shapes[v]
    op = G.choice(["var", "std", "norm"])
    keep = G.chance(0.4)
    if op == "norm":  # (a zero vector's gradient: NaN on TF, 0 on torch: kept away)
        cand = _static_dims(s)
        if not cand:
            return None
        v = G.positive(v, 1.0)
        d = G.choice(cand)
        out = [1 if i == d else x for i, x in enumerate(s)] if keep else s[:d] + s[d + 1:]
        return G.node(op, [v], {"dim": d, "keepdim": keep}, out, mag=G.mag[v] * G.size(v))
    dims = sorted(int(x) for x in G.r.choice(len(s), int(G.r.integers(1, len(s) + 1)),
                                              replace=False))
    if op == "std" and not all(isinstance(s[d], int) and s[d] >= 2 for d in dims):
        op = "var"  # std's gradient at a zero std: NaN on TF (the graph), 0 on torch
    out = [1 if i in dims else x for i, x in enumerate(s)] if keep else \
        [x for i, x in enumerate(s) if i not in dims]
    mag = G.mag[v] ** 2 if op == "var" else G.mag[v]
    return G.node(op, [v], {"dims": dims, "keepdim": keep}, out, mag=mag)


def g_sort(G: Gen) -> int | None:
    # (a row holding NaN: each library places it its own way; paradigms.py sits those runs out)
    v = G.pick(lambda i: len(G.shapes[i]) >= 1)
    if v is None:
        return None
    s = G.shapes[v]
    if G.chance(0.5) and isinstance(s[-1], int) and s[-1] >= 1:
        k = int(G.r.integers(1, s[-1] + 1))
        return G.node("topk", [v], {"k": k}, s[:-1] + [k], mag=G.mag[v])
    cand = _static_dims(s, 0)  # tf.sort needs the axis' size when the graph is built
    if not cand:
        return None
    d = G.choice(cand)
    return G.node("sort", [v], {"dim": d, "direction": G.choice(["ASCENDING", "DESCENDING"])},
                  s, mag=G.mag[v])


def g_move(G: Gen) -> int | None:
    """flip, roll, tile, narrow."""
    v = G.pick(lambda i: len(G.shapes[i]) >= 1)
    if v is None:
        return None
    s = G.shapes[v]
    op = G.choice(["flip", "roll", "tile", "narrow"])
    n = len(s)
    dims = sorted(int(x) for x in G.r.choice(n, int(G.r.integers(1, n + 1)), replace=False))
    if op == "flip":
        return G.node(op, [v], {"dims": dims}, s, mag=G.mag[v])
    if op == "roll":
        dims = [d for d in dims if isinstance(s[d], int)]  # tf.roll: static sizes
        if not dims:
            return None
        shifts = [int(G.r.integers(-3, 4)) for _ in dims]
        return G.node(op, [v], {"shifts": shifts, "dims": dims}, s, mag=G.mag[v])
    if op == "tile":
        if any(not isinstance(d, int) for d in s):
            return None
        reps = [int(G.r.integers(1, 3)) for _ in s]
        return G.node(op, [v], {"reps": reps}, [d * r for d, r in zip(s, reps, strict=True)],
                      mag=G.mag[v])
    cand = _static_dims(s)
    if not cand:
        return None
    d = G.choice(cand)
    start = int(G.r.integers(0, s[d]))
    length = int(G.r.integers(0, s[d] - start + 1))
    out = list(s)
    out[d] = length
    return G.node(op, [v], {"dim": d, "start": start, "length": length}, out, mag=G.mag[v])


def g_pad(G: Gen) -> int | None:
    """CONSTANT or REFLECT (TF's name; numpy's and torch's ``reflect``) on the last 1-2 dims."""
    v = G.pick(lambda i: 2 <= len(G.shapes[i]) <= 4)
    if v is None:
        return None
    s = G.shapes[v]
    n = len(s)
    k = 1 if n == 2 else (2 if n == 4 else int(G.r.integers(1, 3)))
    mode = G.choice(["CONSTANT", "REFLECT"])
    pads = [[0, 0] for _ in s]
    for d in range(n - k, n):
        if mode == "REFLECT" and not (isinstance(s[d], int) and s[d] >= 2):
            return None
        hi = s[d] - 1 if mode == "REFLECT" else 3
        pads[d] = [int(G.r.integers(0, hi + 1)), int(G.r.integers(0, hi + 1))]
    torch_pads = [x for d in range(n - 1, n - k - 1, -1) for x in pads[d]]
    out = [x if p == [0, 0] else f"({x})+{sum(p)}" if isinstance(x, str) else x + sum(p)
           for x, p in zip(s, pads, strict=True)]
    return G.node("pad", [v], {"tf_pads": pads, "torch_pads": torch_pads, "mode": mode,
                               "torch_mode": mode.lower(), "np_mode": mode.lower()},
                  out, mag=G.mag[v])


_EINSUM = [("ij,jk->ik", 2, 2), ("ij,ij->i", 2, 2), ("bij,bjk->bik", 3, 3), ("i,j->ij", 1, 1),
           ("ij,kj->ik", 2, 2), ("bij,jk->bki", 3, 2)]


def g_einsum(G: Gen) -> int | None:
    eq, ra, rb = _EINSUM[int(G.r.integers(len(_EINSUM)))]
    a = G.pick(lambda i: len(G.shapes[i]) == ra)
    if a is None:
        return None
    a = G.bounded(a, 1e3)
    sa = G.shapes[a]
    ins, out = eq.split("->")
    la, lb = ins.split(",")
    size = dict(zip(la, sa, strict=True))
    for ch in lb:
        size.setdefault(ch, int(G.r.integers(1, 4)))
    b = G.bounded(G.new_input([size[c] for c in lb]), 1e3)
    n = max([d for d in sa if isinstance(d, int)] + [max(G.prog.batches)])
    return G.node("einsum", [a, b], {"eq": eq}, [size[c] for c in out],
                  mag=G.mag[a] * G.mag[b] * n)


def g_index(G: Gen) -> int | None:
    """scatter_add, gather_nd, segment_sum, one_hot, embedding."""
    op = G.choice(["scatter_add", "gather_nd", "segment_sum", "one_hot", "embedding"])
    if op in ("one_hot", "embedding"):
        n = int(G.r.integers(1, 6))
        ids = G.new_input(["B"] + ([int(G.r.integers(1, 4))] if G.chance(0.4) else []),
                          kind="int", domain="sym", high=n)
        if op == "one_hot":
            return G.node(op, [ids], {"n": n}, G.shapes[ids] + [n], mag=1.0)
        table = G.new_input([n, int(G.r.integers(1, 5))])
        return G.node(op, [table, ids], {}, G.shapes[ids] + G.shapes[table][1:],
                      mag=G.mag[table])
    v = G.pick(lambda i: len(G.shapes[i]) >= 1 and isinstance(G.shapes[i][0], int)
               and G.shapes[i][0] >= 1)
    if v is None:
        return None
    s = G.shapes[v]
    if op == "gather_nd":
        m = int(G.r.integers(1, 4))
        idx = G.new_input([m, 1], kind="int", domain="sym", high=s[0])
        return G.node(op, [v, idx], {}, [m] + s[1:], mag=G.mag[v])
    if op == "segment_sum":
        n = int(G.r.integers(1, 5))
        ids = G.new_input(s[:1], kind="int", domain="sym", high=n)
        return G.node(op, [v, ids], {"n": n}, [n] + s[1:], mag=G.mag[v] * s[0])
    dims = _static_dims(s)
    if len(dims) != len(s):
        return None
    d = G.choice(dims)
    shape = list(s)
    shape[d] = int(G.r.integers(1, 4))
    idx = G.new_input(shape, kind="int", domain="sym", high=s[d])
    src = G.new_input(shape)
    return G.node(op, [v, idx, src], {"dim": d}, s, mag=G.mag[v] + G.mag[src] * shape[d])


def g_norm_attn(G: Gen) -> int | None:
    """layer_norm (last dim), batch_norm (inference: given mean and variance), attention."""
    op = G.choice(["layer_norm", "batch_norm", "sdpa"])
    if op == "sdpa":
        length, e = int(G.r.integers(1, 4)), int(G.r.integers(1, 5))
        lead = ["B"] if G.chance(0.7) else []
        q = G.bounded(G.new_input(lead + [length, e]), 50.0)
        k_len = int(G.r.integers(1, 4))
        k = G.bounded(G.new_input(lead + [k_len, e]), 50.0)
        v = G.new_input(lead + [k_len, int(G.r.integers(1, 4))])
        return G.node(op, [q, k, v], {}, lead + [length, G.shapes[v][-1]], mag=G.mag[v])
    v = G.pick(lambda i: len(G.shapes[i]) >= 2 and isinstance(G.shapes[i][-1], int)
               and G.shapes[i][-1] >= 1 and (op == "layer_norm" or
                                             isinstance(G.shapes[i][1], int)))
    if v is None:
        return None
    v = G.bounded(v, 1e3)
    s = G.shapes[v]
    eps = G.choice([1e-3, 1e-2])  # (1e-5: a near-constant row amplifies a 1-ulp difference of
    # its float32 input 300-fold, beyond the comparator's per-op rule)
    if op == "layer_norm":
        return G.node(op, [v], {"eps": eps}, s, mag=math.sqrt(s[-1]) + 1)
    stat = [s[1]] + [1] * (len(s) - 2)  # per channel (dim 1), as torch's batch_norm
    mean = G.new_input([s[1]], kind="const")
    var = G.new_input([s[1]], kind="const", domain="pos")
    return G.node(op, [v, mean, var], {"eps": eps, "stat": stat}, s, mag=(G.mag[v] + 2) * 10)


def g_linalg(G: Gen) -> int | None:
    """An SPD matrix ``a a^T + n I`` (batched or not), then solve / inv / det / logdet /
    cholesky of it."""
    n = int(G.r.integers(1, 5))
    lead = G.choice([[], [], ["B"], [2]])
    a = G.bounded(G.new_input(lead + [n, n], domain=G.choice(["sym", "unit"])), 3.0)
    m = G.node("spd", [a], {"n": n}, lead + [n, n], mag=G.mag[a] ** 2 * n + n)
    op = G.choice(["solve", "inv", "det", "logdet"] + ([] if G.prog.nonfinite else ["cholesky"]))
    # (cholesky of a non-finite matrix: PyTorch raises, TF and numpy give NaN)
    if op == "solve":
        b = G.new_input(lead + [n, int(G.r.integers(1, 3))])
        return G.node(op, [m, b], {}, G.shapes[b], mag=G.mag[b])
    if op == "det":
        return G.node(op, [m], {}, lead, mag=G.mag[m] ** n)
    if op == "logdet":
        return G.node(op, [m], {}, lead, mag=n * math.log(G.mag[m] + 1) + 1)
    return G.node(op, [m], {}, lead + [n, n], mag=G.mag[m])


def g_while(G: Gen) -> int | None:
    """``x = tanh(c x + y)`` ``n`` times: ``tf.while_loop`` against a Python loop."""
    x = G.pick()
    s = G.shapes[x]
    y = G.pick(lambda i: i != x and broadcast(G.shapes[i], s) == s)
    if y is None:
        y = G.new_input(G.derived_shape(s) if G.chance(0.5) else s)
        if broadcast(G.shapes[y], s) != s:
            return None
    x, y = G.bounded(x, 1e3), G.bounded(y, 1e3)
    return G.node("while", [x, y], {"n": int(G.r.integers(0, 4)),
                                    "c": G.choice([0.5, 1.5, -1.0])}, s, mag=1.0)
