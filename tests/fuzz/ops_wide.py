"""Fuzz rows for the ops added after the first fuzzer: one template per frontend.

Unlike :mod:`.ops_table`'s core rows (one ``ops.X`` call on three frontends), these ops reach
each mode through its own public API: ``tf.pad`` / ``tf.linalg.solve`` / ``tf.while_loop`` on the
static graph, ``dynamic`` / ``DF`` (``dynamic.nn.functional``) / ``dynamic.linalg`` eagerly,
plain numpy (``np``, helpers ``W`` from :mod:`.wide_forms`) for the finite-difference oracle and
the magnitudes, and PyTorch (``torch``, ``F``, ``T``). A template is ``None`` where a mode has no
such op (that oracle then skips the program). Templates see ``{a0}``, ``{a1}``... and the params
by name (lists as tuples).
"""

from __future__ import annotations

from .ops_table import OpRow, Render, _t


def _fe(tf: str, dyn: str | None = "=tf", np_: str | None = None,
        torch: str | None = None) -> Render:
    """A row from per-frontend templates (``dyn="=tf"``: the same source as the static one)."""
    src = {"tf": tf, "dyn": tf if dyn == "=tf" else dyn, "np": np_, "torch": torch}

    def r(fe, a, p):
        s = src[fe]
        if s is None:
            return None
        kw = {f"a{i}": x for i, x in enumerate(a)}
        kw.update({k: (_t(v) if isinstance(v, list) else v) for k, v in p.items()})
        return s.format(**kw)
    return r


def _ops(name: str, np_: str, torch: str | None = None) -> OpRow:
    """A registry op called as ``ops.name`` on the graph, eager tensors and numpy alike."""
    return OpRow(_fe(f"ops.{name}({{a0}})", "=tf", np_, torch or f"torch.{name}({{a0}})"))


WIDE: dict[str, OpRow] = {
    # elementwise
    "erf": _ops("erf", "W.erf({a0})"),
    "expm1": _ops("expm1", "np.expm1({a0})"),
    "log1p": _ops("log1p", "np.log1p({a0})"),
    "softplus": _ops("softplus", "np.logaddexp({a0}, 0)", "F.softplus({a0})"),
    "floor": _ops("floor", "np.floor({a0})"),
    "ceil": _ops("ceil", "np.ceil({a0})"),
    "round": _ops("round", "np.round({a0})"),
    "trunc": _ops("trunc", "np.trunc({a0})"),
    "elu": OpRow(_fe("tf.nn.elu({a0})", "DF.elu({a0})", "W.elu({a0})", "F.elu({a0})")),
    "leaky_relu": OpRow(_fe("tf.nn.leaky_relu({a0}, {alpha!r})", "DF.leaky_relu({a0}, {alpha!r})",
                            "np.where({a0} > 0, {a0}, {alpha!r} * {a0})",
                            "F.leaky_relu({a0}, {alpha!r})")),
    "remainder": OpRow(_fe("tf.math.floormod({a0}, {a1})", "ops.remainder({a0}, {a1})",
                           "np.mod({a0}, {a1})", "torch.remainder({a0}, {a1})")),
    "floor_divide": OpRow(_fe("ops.floor_divide({a0}, {a1})", "=tf", "np.floor_divide({a0}, {a1})",
                              "T.floor_divide({a0}, {a1})")),
    # scans, reductions with indices, moments, norms
    "cumprod": OpRow(_fe("ops.cumprod({a0}, {dim}, reverse={reverse})", "=tf",
                         "W.cumprod({a0}, {dim}, {reverse})", "T.cumprod({a0}, {dim}, {reverse})")),
    "argmax": OpRow(_fe("ops.cast(tf.math.argmax({a0}, {dim}), DT)",
                        "dynamic.argmax({a0}, {dim}).to(DT)",
                        "np.argmax({a0}, {dim}).astype(DT)", "torch.argmax({a0}, {dim}).to(DT)")),
    "argmin": OpRow(_fe("ops.cast(tf.math.argmin({a0}, {dim}), DT)",
                        "dynamic.argmin({a0}, {dim}).to(DT)",
                        "np.argmin({a0}, {dim}).astype(DT)", "torch.argmin({a0}, {dim}).to(DT)")),
    "max_dim": OpRow(_fe("tf.math.top_k(ops.permute({a0}, {perm}), 1).values[..., 0]",
                         "dynamic.max({a0}, {dim}).values", "np.max({a0}, {dim})",
                         "torch.max({a0}, {dim}).values")),
    "var": OpRow(_fe("tf.math.reduce_variance({a0}, {dims}, keepdims={keepdim})",
                     "dynamic.var({a0}, {dims}, correction=0, keepdim={keepdim})",
                     "np.var({a0}, {dims}, keepdims={keepdim})",
                     "torch.var({a0}, {dims}, correction=0, keepdim={keepdim})")),
    "std": OpRow(_fe("tf.math.reduce_std({a0}, {dims}, keepdims={keepdim})",
                     "dynamic.std({a0}, {dims}, correction=0, keepdim={keepdim})",
                     "np.std({a0}, {dims}, keepdims={keepdim})",
                     "torch.sqrt(torch.var({a0}, {dims}, correction=0, keepdim={keepdim}))")),
    "norm": OpRow(_fe("tf.norm({a0}, axis={dim}, keepdims={keepdim})",
                      "dynamic.linalg.vector_norm({a0}, 2, {dim}, {keepdim})",
                      "np.linalg.norm({a0}, axis={dim}, keepdims={keepdim})",
                      "torch.linalg.vector_norm({a0}, 2, {dim}, {keepdim})")),
    "sort": OpRow(_fe("tf.sort({a0}, {dim}, {direction!r})",
                      "dynamic.sort({a0}, {dim}, descending={direction!r} == 'DESCENDING').values",
                      "W.sort({a0}, {dim}, {direction!r})",
                      "torch.sort({a0}, {dim}, descending={direction!r} == 'DESCENDING').values")),
    "topk": OpRow(_fe("tf.math.top_k({a0}, {k}).values", "dynamic.topk({a0}, {k}).values",
                      "W.topk({a0}, {k})", "torch.topk({a0}, {k}).values")),
    # shape and data movement
    "flip": OpRow(_fe("tf.reverse({a0}, {dims})", "dynamic.flip({a0}, {dims})",
                      "np.flip({a0}, {dims})", "torch.flip({a0}, {dims})")),
    "roll": OpRow(_fe("tf.roll({a0}, {shifts}, {dims})", "dynamic.roll({a0}, {shifts}, {dims})",
                      "np.roll({a0}, {shifts}, {dims})", "torch.roll({a0}, {shifts}, {dims})")),
    "tile": OpRow(_fe("tf.tile({a0}, {reps})", "{a0}.repeat(*{reps})", "np.tile({a0}, {reps})",
                      "{a0}.repeat(*{reps})")),
    "narrow": OpRow(_fe("W.tf_narrow(tf, {a0}, {dim}, {start}, {length})",
                        "dynamic.narrow({a0}, {dim}, {start}, {length})",
                        "W.np_narrow({a0}, {dim}, {start}, {length})",
                        "torch.narrow({a0}, {dim}, {start}, {length})")),
    "pad": OpRow(_fe("tf.pad({a0}, {tf_pads}, {mode!r})",
                     "DF.pad({a0}, {torch_pads}, {torch_mode!r})",
                     "np.pad({a0}, {tf_pads}, {np_mode!r})",
                     "T.pad({a0}, {torch_pads}, {torch_mode!r})")),
    "einsum": OpRow(_fe("tf.einsum({eq!r}, {a0}, {a1})", None, "np.einsum({eq!r}, {a0}, {a1})",
                        "torch.einsum({eq!r}, {a0}, {a1})")),
    "scatter_add": OpRow(_fe("ops.scatter_add({a0}, {a2}, {a1}, {dim})", "=tf",
                             "W.scatter_add({a0}, {a1}, {dim}, {a2})",
                             "torch.scatter_add({a0}, {dim}, {a1}, {a2})")),
    "gather_nd": OpRow(_fe("tf.gather_nd({a0}, {a1})", None,
                           "{a0}[tuple(np.moveaxis({a1}, -1, 0))]",
                           "{a0}[tuple({a1}.unbind(-1))]")),
    "segment_sum": OpRow(_fe("tf.math.unsorted_segment_sum({a0}, {a1}, {n})", None,
                             "W.segment_sum({a0}, {a1}, {n})", "T.segment_sum({a0}, {a1}, {n})")),
    "one_hot": OpRow(_fe("tf.one_hot({a0}, {n}, dtype=DT)", "DF.one_hot({a0}, {n}).to(DT)",
                         "np.eye({n}, dtype=DT)[{a0}]", "F.one_hot({a0}, {n}).to(DT)")),
    # torch as indexing: the same values and gradients, while F.embedding's second derivative
    # raises on empty indices (torch 2.13's EmbeddingDenseBackwardBackward0 reshapes with -1)
    "embedding": OpRow(_fe("tf.nn.embedding_lookup({a0}, {a1})", "DF.embedding({a1}, {a0})",
                           "{a0}[{a1}]", "{a0}[{a1}]")),
    # normalization and attention
    "layer_norm": OpRow(_fe("W.tf_layer_norm(tf, {a0}, {eps!r})",
                            "DF.layer_norm({a0}, {a0}.shape[-1:], eps={eps!r})",
                            "W.np_layer_norm({a0}, {eps!r})",
                            "T.layer_norm({a0}, {eps!r})")),
    "batch_norm": OpRow(_fe("tf.nn.batch_normalization({a0}, ops.reshape({a1}, {stat}), "
                            "ops.reshape({a2}, {stat}), None, None, {eps!r})",
                            "DF.batch_norm({a0}, {a1}, {a2}, eps={eps!r})",
                            "({a0} - {a1}.reshape({stat})) "
                            "/ np.sqrt({a2}.reshape({stat}) + {eps!r})",
                            "F.batch_norm({a0}, {a1}, {a2}, eps={eps!r})")),
    "sdpa": OpRow(_fe("W.ops_attention(ops, {a0}, {a1}, {a2})",
                      "DF.scaled_dot_product_attention({a0}, {a1}, {a2})",
                      "W.np_attention({a0}, {a1}, {a2})",
                      "F.scaled_dot_product_attention({a0}, {a1}, {a2})")),
    # linear algebra on SPD matrices (``spd``: a @ a^T + n I)
    "spd": OpRow(_fe("ops.add(ops.matmul({a0}, ops.transpose({a0}, -1, -2)), W.eye({n}, DT))",
                     "=tf", "{a0} @ np.swapaxes({a0}, -1, -2) + W.eye({n}, DT)",
                     "{a0} @ {a0}.transpose(-1, -2) + T.eye({n}, DT)")),
    "solve": OpRow(_fe("tf.linalg.solve({a0}, {a1})", "dynamic.linalg.solve({a0}, {a1})",
                       "np.linalg.solve({a0}, {a1})", "torch.linalg.solve({a0}, {a1})")),
    "inv": OpRow(_fe("tf.linalg.inv({a0})", "dynamic.linalg.inv({a0})", "np.linalg.inv({a0})",
                     "torch.linalg.inv({a0})")),
    "det": OpRow(_fe("tf.linalg.det({a0})", "dynamic.linalg.det({a0})", "np.linalg.det({a0})",
                     "torch.linalg.det({a0})")),
    "logdet": OpRow(_fe("tf.linalg.slogdet({a0})[1]", "dynamic.linalg.slogdet({a0})[1]",
                        "np.linalg.slogdet({a0})[1]", "torch.linalg.slogdet({a0})[1]")),
    "cholesky": OpRow(_fe("tf.linalg.cholesky({a0})", "dynamic.linalg.cholesky({a0})",
                          "np.linalg.cholesky({a0})", "torch.linalg.cholesky({a0})")),
    # control flow: a static while_loop against a Python loop
    "while": OpRow(_fe("tf.while_loop(lambda i, x: i < {n}, lambda i, x: (i + 1, ops.tanh("
                       "ops.add(ops.mul(x, {c!r}), {a1}))), [tf.constant(0), {a0}])[1]",
                       "W.loop(ops, {a0}, {a1}, {c!r}, {n})", "W.np_loop({a0}, {a1}, {c!r}, {n})",
                       "T.loop({a0}, {a1}, {c!r}, {n})")),
}

# (std on torch is sqrt(var): torch.std's gradient at a zero std is 0, TF's and dynamic's NaN)

# continuous derivatives where the generator evaluates them (finite differences apply)
WIDE_SMOOTH = {"erf", "expm1", "log1p", "softplus", "elu", "cumprod", "var", "std", "norm",
               "flip", "roll", "tile", "narrow", "pad", "einsum", "scatter_add", "gather_nd",
               "segment_sum", "embedding", "layer_norm", "batch_norm", "sdpa", "spd", "solve",
               "inv", "det", "logdet", "cholesky", "while"}
