"""How each fuzz op is written as Python source on each frontend.

One program description is rendered as text and ``exec``'d: the same text is what the failure
report prints, so a minimized case is a snippet that runs. Frontends:

* ``tf``: a static graph (``staticgraph``, imported as ``tf``; registry functions as ``ops``);
* ``dyn``: the eager mode (``dynamic`` tensors through the same ``ops`` functions);
* ``np``: plain numpy arrays through the same ``ops`` functions (the finite-difference oracle);
* ``torch``: PyTorch (``torch``, helpers ``T`` from :mod:`tests.fuzz.torch_ops`), optional.

Templates get the argument sources ``a`` (value names or scalar literals) and the params ``p``.
Ops with no torch form return ``None`` there (the torch oracle then skips the program).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Render = Callable[[str, list, dict], "str | None"]

UNARY = ("neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "sign",
         "square", "reciprocal")
BINARY = ("add", "sub", "mul", "div", "pow", "maximum", "minimum")
COMPARE = ("gt", "lt", "ge", "le", "eq", "ne")
REDUCE = ("sum", "mean", "amax", "amin", "logsumexp", "prod")
# ops whose derivative is continuous where they are evaluated (finite differences apply)
SMOOTH = {"neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "square", "reciprocal",
          "add", "sub", "mul", "div", "pow", "sum", "mean", "logsumexp", "prod", "cumsum",
          "matmul", "reshape", "permute", "transpose", "expand_dims", "squeeze", "getitem",
          "cat", "stack", "broadcast_to", "softmax", "log_softmax", "cross_entropy",
          "sparse_ce_mean", "mse_loss", "gather", "conv2d", "avg_pool", "cast_f"}


@dataclass(frozen=True)
class OpRow:
    """One op: its source on a frontend, and whether its result is a float value."""

    render: Render
    result: str = "f"  # "f" float, "b" bool


def _idx_src(index: list) -> str:
    """A JSON index (ints, None, "...", [start, stop, step]) as Python source."""
    parts = []
    for k in index:
        if k is None:
            parts.append("None")
        elif k == "...":
            parts.append("...")
        elif isinstance(k, list):
            parts.append(f"slice({k[0]!r}, {k[1]!r}, {k[2]!r})")
        else:
            parts.append(repr(int(k)))
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _t(x: tuple | list) -> str:
    return repr(tuple(x))


def _torch_scalar(s: str) -> str:
    """Scalars become 0-d tensors of the program's dtype for torch functions that need one."""
    try:
        float(s)
    except ValueError:
        return s
    return f"torch.tensor({s}, dtype=DT)"


def _unary(name: str) -> Render:
    def r(fe, a, p):
        return f"torch.{name}({a[0]})" if fe == "torch" else f"ops.{name}({a[0]})"
    return r


_PY_OP = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


def _binary(name: str) -> Render:
    def r(fe, a, p):
        if fe != "torch":
            return f"ops.{name}({a[0]}, {a[1]})"
        if name in _PY_OP:  # operators take a Python scalar on either side
            return f"({a[0]} {_PY_OP[name]} {a[1]})"
        return f"torch.{name}({_torch_scalar(a[0])}, {_torch_scalar(a[1])})"
    return r


_FULL_EXTREME = {"amax": "max", "amin": "min"}
"""PyTorch's full ``max()``/``min()``, which the registry's ``amax(x)``/``amin(x)`` (no dims)
are: a NaN result sends the gradient to the NaN inputs; ``torch.amax(x, dims)``'s is
``mask / count``, NaN everywhere there (fuzz seed 30009)."""


def _reduce(name: str) -> Render:
    def r(fe, a, p):
        dims, keep = p["dim"], p["keepdim"]
        if fe == "torch":
            if p.get("full") and name in _FULL_EXTREME:  # the registry's full amax is max()
                y = f"torch.{_FULL_EXTREME[name]}({a[0]})"
                return f"{y}.reshape([1] * {a[0]}.dim())" if keep else y
            fn = {"prod": "T.prod"}.get(name, f"torch.{name}")
            return f"{fn}({a[0]}, {_t(dims)}, keepdim={keep})"
        if p.get("full"):
            return f"ops.{name}({a[0]}, keepdim={keep})" if keep else f"ops.{name}({a[0]})"
        return f"ops.{name}({a[0]}, {_t(dims)}, keepdim={keep})"
    return r


def _cond(fe, a, p):
    u1, u2 = p["t"], p["f"]
    if fe == "tf":
        return f"tf.cond({a[0]}, lambda: ops.{u1}({a[1]}), lambda: ops.{u2}({a[2]}))"
    lib = "torch" if fe == "torch" else "ops"
    return f"({lib}.{u1}({a[1]}) if bool({a[0]}) else {lib}.{u2}({a[2]}))"


def _conv(fe, a, p):
    s, pad = p["stride"], p["padding"]
    if fe == "tf":
        return f"tf.nn.conv2d({a[0]}, {a[1]}, strides=[1, {s}, {s}, 1], padding={pad!r})"
    lib = "T" if fe == "torch" else "K"
    return f"{lib}.conv2d({a[0]}, {a[1]}, {s}, {pad!r})"


def _pool(kind: str) -> Render:
    def r(fe, a, p):
        k, s, pad = p["k"], p["stride"], p["padding"]
        if fe == "tf":
            return (f"tf.nn.{kind}({a[0]}, ksize=[1, {k}, {k}, 1], strides=[1, {s}, {s}, 1], "
                    f"padding={pad!r})")
        lib = "T" if fe == "torch" else "K"
        return f"{lib}.{kind}({a[0]}, {k}, {s}, {pad!r})"
    return r


def _sparse_ce_mean(fe, a, p):
    if fe == "tf":
        return ("tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits("
                f"labels={a[1]}, logits={a[0]}))")
    if fe == "torch":
        return f"F.cross_entropy({a[0]}, {a[1]}, reduction='none').mean()"
    return f"ops.mean(ops.cross_entropy({a[0]}, {a[1]}, 'none'))"


def _simple(tf_src: str, torch_src: str | None) -> Render:
    """A template over ``{a0}``, ``{a1}``... and the params by name."""
    def r(fe, a, p):
        src = torch_src if fe == "torch" else tf_src
        if src is None:
            return None
        kw = {f"a{i}": x for i, x in enumerate(a)}
        kw.update({k: (_t(v) if isinstance(v, list) else v) for k, v in p.items()})
        if "index" in p:
            kw["index"] = _idx_src(p["index"])
        return src.format(**kw, args=", ".join(a))
    return r


OPS: dict[str, OpRow] = {}
for _n in UNARY:
    OPS[_n] = OpRow(_unary(_n))
for _n in BINARY:
    OPS[_n] = OpRow(_binary(_n))
for _n in COMPARE:
    OPS[_n] = OpRow(_simple(f"ops.{_n}({{a0}}, {{a1}})", f"torch.{_n}({{a0}}, {{a1}})"), "b")
for _n in REDUCE:
    OPS[_n] = OpRow(_reduce(_n))
OPS.update({
    "clamp": OpRow(_simple("ops.clamp({a0}, {lo!r}, {hi!r})", "torch.clamp({a0}, {lo!r}, {hi!r})")),
    "where": OpRow(_simple("ops.where({a0}, {a1}, {a2})", "torch.where({a0}, {a1}, {a2})")),
    "cast_f": OpRow(_simple("ops.cast({a0}, DT)", "{a0}.to(DT)")),
    "cumsum": OpRow(_simple("ops.cumsum({a0}, {dim}, reverse={reverse})",
                            "T.cumsum({a0}, {dim}, {reverse})")),
    "matmul": OpRow(_simple("ops.matmul({a0}, {a1})", "torch.matmul({a0}, {a1})")),
    "reshape": OpRow(_simple("ops.reshape({a0}, {shape})", "torch.reshape({a0}, {shape})")),
    "permute": OpRow(_simple("ops.permute({a0}, {perm})", "torch.permute({a0}, {perm})")),
    "transpose": OpRow(_simple("ops.transpose({a0}, {d0}, {d1})",
                               "torch.transpose({a0}, {d0}, {d1})")),
    "expand_dims": OpRow(_simple("ops.expand_dims({a0}, {dims})", "T.expand_dims({a0}, {dims})")),
    "squeeze": OpRow(_simple("ops.squeeze({a0}, {dims})", "T.squeeze({a0}, {dims})")),
    "getitem": OpRow(_simple("ops.getitem({a0}, {index})", "T.getitem({a0}, {index})")),
    "cat": OpRow(_simple("ops.cat([{args}], {dim})", "torch.cat([{args}], {dim})")),
    "stack": OpRow(_simple("ops.stack([{args}], {dim})", "torch.stack([{args}], {dim})")),
    "broadcast_to": OpRow(_simple("ops.broadcast_to({a0}, {shape})",
                                  "torch.broadcast_to({a0}, {shape})")),
    "softmax": OpRow(_simple("ops.softmax({a0}, {dim})", "torch.softmax({a0}, {dim})")),
    "log_softmax": OpRow(_simple("ops.log_softmax({a0}, {dim})",
                                 "torch.log_softmax({a0}, {dim})")),
    "cross_entropy": OpRow(_simple("ops.cross_entropy({a0}, {a1}, {reduction!r})",
                                   "F.cross_entropy({a0}, {a1}, reduction={reduction!r})")),
    "sparse_ce_mean": OpRow(_sparse_ce_mean),
    "mse_loss": OpRow(_simple("ops.mse_loss({a0}, {a1}, {reduction!r})",
                              "T.mse_loss({a0}, {a1}, {reduction!r})")),
    "gather": OpRow(_simple("ops.gather({a0}, {a1}, {dim})", "torch.gather({a0}, {dim}, {a1})")),
    "conv2d": OpRow(_conv),
    "max_pool": OpRow(_pool("max_pool")),
    "avg_pool": OpRow(_pool("avg_pool")),
    "cond": OpRow(_cond),
})


from .ops_wide import WIDE, WIDE_SMOOTH  # noqa: E402 - its rows build on OpRow above

OPS.update(WIDE)
SMOOTH |= WIDE_SMOOTH


def arg_src(arg, fe: str) -> str:
    """A node argument as source: a value name, or a Python scalar literal."""
    if isinstance(arg, dict):
        return repr(float(arg["c"]))
    return f"v{arg}"


def node_src(node, fe: str) -> str | None:
    """The right-hand side of one node on frontend ``fe`` (None: no form there)."""
    return OPS[node.op].render(fe, [arg_src(x, fe) for x in node.args], node.p)

from .ops_special import SPECIAL_ROWS, SPECIAL_SMOOTH  # noqa: E402 - appended rows

OPS.update(SPECIAL_ROWS)
SMOOTH |= SPECIAL_SMOOTH
