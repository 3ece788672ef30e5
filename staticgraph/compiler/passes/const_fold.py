"""Constant folding: a registry op whose inputs are all constants is evaluated now (numpy
kernels from the registry); ``size`` of a fully known shape folds too, and so do ``ones_like`` /
``zeros_like`` of one (the seed gradient ``ones_like(loss)`` of a training step: one kernel less).

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
        if od is None or n.op in ("feed", "var", "const"):
            continue
        ins = [mapping.get(i.id, i) for i in n.inputs]
        if n.op == "size" and is_static(ins[0].shape):
            mapping[n.id] = const_node(od.impl(np.empty(ins[0].shape, np.bool_), **n.params),
                                       n.dtype, n.name)
            continue
        if n.op in ("ones_like", "zeros_like") and is_static(n.shape) and \
                int(np.prod(n.shape)) <= MAX_FOLD_ELEMS:  # only the shape is read: no kernel
            v = np.full(n.shape, 1 if n.op == "ones_like" else 0, n.dtype)
            mapping[n.id] = const_node(v, n.dtype, n.name)
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
