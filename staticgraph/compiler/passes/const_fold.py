"""Constant folding: a registry op whose inputs are all constants is evaluated now (numpy
kernels from the registry); so is an op that reads only its inputs' shapes (``Op.shape_only``:
``size``, the fills ``ones_like``/``zeros_like``) once those shapes are static (the seed gradient
``ones_like(loss)`` of a training step: one kernel less).

before: c = mul(const 2, const 3); y = x * c   =>   after: y = x * const 6
"""

from __future__ import annotations

import numpy as np

from ...ops.core import eval_numpy
from ..ir import Node, Program, const_node
from .shapes import is_static

MAX_FOLD_ELEMS = 1 << 16


def run(prog: Program, ctx: object) -> int:
    mapping: dict[int, Node] = {}
    for n in prog.nodes:
        od = n.opdef
        if od is None:  # feeds, variables, constants
            continue
        ins = [mapping.get(i.id, i) for i in n.inputs]
        if _reads_shapes_only(n) and all(is_static(i.shape) for i in ins) and \
                is_static(n.shape) and int(np.prod(n.shape)) <= MAX_FOLD_ELEMS:
            mapping[n.id] = const_node(_shape_value(n, ins), n.dtype, n.name)
            continue
        if not all(i.op == "const" for i in ins) or not is_static(n.shape):
            continue
        size = int(np.prod(n.shape)) if n.shape else 1
        if size > MAX_FOLD_ELEMS or od.kind in ("creation",) and size > 1024:
            continue
        try:
            with np.errstate(all="ignore"):
                v = eval_numpy(od, [i.params["value"] for i in ins], n.params)
        except Exception:  # leave it to run time, where the error is reported normally
            continue
        mapping[n.id] = const_node(np.asarray(v, n.dtype), n.dtype, n.name)
    prog.replace(mapping)
    return len(mapping)


def _reads_shapes_only(n: Node) -> bool:
    """Whether ``n`` reads no input's values (``size``, ``zeros_like``...): its result is known
    once its inputs' shapes are."""
    return bool(n.inputs) and len(n.opdef.shape_inputs(len(n.inputs))) == len(n.inputs)


def _shape_value(n: Node, ins: list[Node]) -> np.ndarray:
    """The value of such a node: its fill (``Op.fill``, in the node's dtype), else its kernel
    run on zero-stride stand-ins of the inputs' shapes and dtypes."""
    od = n.opdef
    if od.fill is not None:
        return np.full(n.shape, od.fill, n.dtype)
    return od.impl(*(np.broadcast_to(np.zeros((), i.dtype), i.shape) for i in ins), **n.params)
