"""Lower a TF1 graph (fetches, targets, fed tensors) to the compiler IR (:mod:`.ir`).

Only the subgraph the fetches and targets need is visited (control inputs included); a fed tensor
becomes a ``feed`` leaf and cuts off its producer. ``Identity``/``StopGradient`` vanish (gradients
are already built), ``NoOp`` only orders. Variable reads follow docs/guarantees.md: a consumer sees
the value after the latest assign executed before it in creation order (as the reference executor
does; this is what ``ReferenceExecutor.read_var`` implements).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..executor import needed_ops
from ..ops.core import AVal
from ..ops.unknown_rank import at_rank
from .ir import Node, Program, make


class LoweringError(ValueError):
    pass


def lower(fetches: Sequence[Any], targets: Sequence[Any], feed_tensors: Sequence[Any],
          feed_ranks: Sequence[int] | None = None) -> Program:
    """The IR of the subgraph; a feed of unknown rank takes its fed rank from ``feed_ranks``
    (part of the plan key), and the nodes built on it are specialized to it (:func:`_at_rank`)."""
    fed = set(feed_tensors)
    feeds = []
    value: dict = {}  # Tensor -> Node
    for i, t in enumerate(feed_tensors):
        shape = t.aval.shape
        if shape is None:
            if feed_ranks is None:
                raise LoweringError(f"feed '{t.name}' has unknown rank and no fed rank was given")
            shape = (None,) * int(feed_ranks[i])
        n = Node("feed", [], {"index": i}, shape, t.aval.dtype, t.op.name)
        feeds.append(n)
        value[t] = n
    ops = needed_ops(fetches, targets, fed)
    var_read: dict = {}  # Variable -> var Node
    after: dict = {}  # assign op -> Node: the variable's value after it
    assigns_of: dict = {}  # Variable -> [assign ops in order]
    variables: list = []

    def read(var: Any) -> Node:
        """The variable's value here: after its latest assign so far (creation order), else
        the value it had when the run started."""
        done = assigns_of.get(var)
        if done:
            return after[done[-1]]
        if var not in var_read:
            t = var._as_graph_tensor()
            var_read[var] = Node("var", [], {"variable": var}, t.aval.shape, t.aval.dtype,
                                 var.op.name)
            variables.append((var, var_read[var]))
        return var_read[var]

    def arg(t: Any) -> Node:
        if t in value:
            return value[t]
        if t.op.type == "VariableV2":
            return read(t.op.params["variable"])
        raise LoweringError(f"internal: tensor {t.name} used before it was computed")

    for op in ops:
        if any(t in fed for t in op.outputs) and op.outputs:
            continue
        typ = op.type
        if typ == "Placeholder":
            raise LoweringError(f"You must feed a value for placeholder tensor "
                                f"'{op.outputs[0].name}' with dtype "
                                f"{op.outputs[0].aval.dtype.name}")
        if typ in ("NoOp", "VariableV2"):
            continue
        out = op.outputs[0] if op.outputs else None
        if typ == "Const":
            v = np.asarray(op.params["value"])
            value[out] = Node("const", [], {"value": v}, v.shape, v.dtype, op.name)
        elif typ in ("Identity", "StopGradient"):
            value[out] = arg(op.inputs[0])
        elif typ in ("Assign", "AssignAdd", "AssignSub"):
            var = op.inputs[0].op.params["variable"]
            new = arg(op.inputs[1])
            if typ != "Assign":
                cur = read(var)
                new = make("add" if typ == "AssignAdd" else "sub", [cur, new], name=op.name)
            if new.shape != tuple(op.outputs[0].aval.shape) and None not in new.shape:
                new = _broadcast(new, op.outputs[0].aval.shape)
            after[op] = new
            assigns_of.setdefault(var, []).append(op)
            value[out] = new
        elif op.op_def is not None:
            ins = [arg(t) for t in op.inputs]
            params, shape = dict(op.params), out.aval.shape
            if shape is None or any(t.aval.shape is None for t in op.inputs):
                params, shape = _at_rank(op, ins, params)
            value[out] = Node(typ, ins, params, shape, out.aval.dtype, op.name)
        else:
            raise LoweringError(f"op '{op.name}' of type {typ} is not supported by the compiler")
    outputs = []
    for t in fetches:
        if t in value:
            outputs.append(value[t])
        elif t.op.type == "VariableV2":
            outputs.append(read(t.op.params["variable"]))
        else:
            raise LoweringError(f"fetch {t.name} has no value (is it an op without outputs?)")
    updates = [(var, after[a[-1]]) for var, a in assigns_of.items()]
    prog = Program(nodes=[], feeds=feeds, outputs=outputs, updates=updates, variables=variables)
    prog.toposort()
    return prog


def _at_rank(op: Any, ins: list, params: dict) -> tuple[dict, tuple]:
    """Parameters and shape of ``op``, built on inputs of unknown rank, at the ranks its lowered
    inputs have (``Op.at_rank`` resolves its raw axes; its rule infers the shape). Raises
    :class:`LoweringError` where they do not fit: the reference executor then runs the key and
    reports the op."""
    avals = [AVal(tuple(n.shape), n.dtype) for n in ins]
    try:
        params = at_rank(op.op_def, params, avals)
        shape, _ = op.op_def.infer(*avals, **params)
    except Exception as e:  # noqa: BLE001 - any rule failure means "not at these ranks"
        raise LoweringError(f"op '{op.name}' ({op.type}) at the fed ranks: "
                            f"{type(e).__name__}: {e}") from e
    return params, tuple(shape)


def _broadcast(n: Node, shape: tuple) -> Node:
    return make("broadcast_to", [n], {"shape": tuple(shape)})
