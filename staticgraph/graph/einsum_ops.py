"""``tf.einsum`` lowered onto registry ops (transpose, reshape, sum, where, matmul), so both
executors run it and ``gradients()`` differentiates it with the registry's rules.

Each operand first loses its repeated labels (``"ii"``: the diagonal, picked with an identity
mask) and the labels no one else needs (summed). Operands are then contracted two at a time,
left to right: labels of both operands that are kept become batch dims of one matmul, labels
summed away its inner dim, the others its rows and columns. The result is transposed to the
requested order.

An ellipsis (``...``) first becomes fresh labels (:func:`_expand_ellipsis`): each operand's
broadcasting dims, right-aligned as numpy broadcasts them; a size-1 dim facing another size
(or an unknown one) is squeezed out of its operand, so the label is simply absent there and
the contraction broadcasts it. The implicit output is TF's: ``...`` first when it appears in
one operand (TF drops it, and then refuses non-empty broadcasting dims, when it appears in
several), then the labels used once, in alphabetical order.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import ops
from .array_ops import identity
from .core import Tensor
from .math_ops import _final, _t, composite
from .matrix_ops import _prod, reshaped


def _expand_ellipsis(equation: str, ts: list[Tensor]) -> tuple[str, list[Tensor]]:
    """``equation`` with each ``...`` written out as fresh labels, and the operands with the
    size-1 broadcasting dims that meet another size squeezed out (see the module's text)."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if any(s.replace("...", "", 1).count(".") for s in ins + [out]):
        raise ValueError(f"Subscripts have incorrect format: {equation}")
    if len(ins) != len(ts):
        raise ValueError(f"Expected {len(ins)} inputs but got: {len(ts)}")
    ranks = []
    for t, lab in zip(ts, ins, strict=True):
        if t.aval.shape is None:
            raise NotImplementedError(f"einsum of {t.name}, whose rank is unknown, is not "
                                      f"supported; declare its shape")
        n = len(lab.replace("...", ""))
        if "..." in lab and t.ndim < n:
            raise ValueError(f"Expected input {t.name} to have rank at least {n} but got: "
                             f"{t.ndim} (equation {equation!r})")
        ranks.append(t.ndim - n if "..." in lab else 0)
    e = max(ranks)
    fresh = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in eq][:e]
    if not arrow:
        once = [c for c in set(lhs) if c in string.ascii_letters and lhs.count(c) == 1]
        out = ("..." if sum("..." in s for s in ins) == 1 else "") + "".join(sorted(once))
    if e and "..." not in out:
        raise ValueError(f"Shape must be at most rank 0 but is rank {e}\n\t for einsum "
                         f"equation '{lhs}->{out}' without ellipsis (...) in the output "
                         f"subscripts where input(s) have non-empty broadcasting shape")
    sizes: dict[str, list] = {c: [] for c in fresh}
    starts = [lab.find("...") for lab in ins]  # the first broadcasting axis
    for t, r, at in zip(ts, ranks, starts, strict=True):
        for c, d in zip(fresh[e - r:], t.aval.shape[at:at + r], strict=True):
            sizes[c].append(d)
    for ds in sizes.values():
        known = {d for d in ds if d not in (None, 1)}
        if len(known) > 1:
            a, b = sorted(known)
            raise ValueError(f"Dimensions must be equal, but are {a} and {b} for einsum "
                             f"equation {equation!r} (broadcasting dims of '...')")
    new_ts, new_ins = [], []
    for t, lab, r, at in zip(ts, ins, ranks, starts, strict=True):
        mine = fresh[e - r:]
        drop = [k for k, c in enumerate(mine) if t.aval.shape[at + k] == 1 and
                any(d != 1 for d in sizes[c])]
        if drop:
            t = ops.squeeze(t, tuple(at + k for k in drop))
        new_ts.append(t)
        new_ins.append(lab.replace("...", "".join(c for k, c in enumerate(mine)
                                                   if k not in drop)))
    return ",".join(new_ins) + "->" + out.replace("...", "".join(fresh)), new_ts


def _parse(equation: str, n: int) -> tuple[list[str], str]:
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != n:
        raise ValueError(f"Expected {len(ins)} inputs but got: {n}")
    for s in ins + [out]:
        bad = [c for c in s if c not in string.ascii_letters]
        if bad:
            raise ValueError(f"Invalid character {bad[0]!r} in equation: {equation!r}")
    if not arrow:  # implicit output: the labels used once, in alphabetical order
        counts = {c: lhs.count(c) for c in set(lhs.replace(",", ""))}
        out = "".join(sorted(c for c, k in counts.items() if k == 1))
    for c in out:
        if out.count(c) > 1 or all(c not in s for s in ins):
            raise ValueError(f"Invalid equation {equation!r}: output label {c!r} must appear "
                             f"once in the output and in some input")
    return ins, out


def _diagonal(x: Tensor, labels: str) -> tuple[Tensor, str]:
    """``x`` with each repeated label reduced to its diagonal."""
    while True:
        rep = next((c for c in labels if labels.count(c) > 1), None)
        if rep is None:
            return x, labels
        i = labels.index(rep)
        j = labels.index(rep, i + 1)
        rest = [k for k in range(len(labels)) if k not in (i, j)]
        x = ops.permute(x, tuple(rest + [i, j]))
        n, m = x.aval.shape[-2], x.aval.shape[-1]
        if n is None or m is None:
            raise NotImplementedError(f"einsum: the diagonal over label {rep!r} needs its size "
                                      f"when the graph is built")
        if n != m:
            raise ValueError(f"Expected dimension {n} at axis {j} of the input shaped "
                             f"{x.shape} but got dimension {m}")
        zero = np.zeros((), x.dtype.base_dtype.np_dtype)
        x = ops.sum(ops.where(np.eye(n, dtype=bool), x, zero), (-1,))
        labels = "".join(labels[k] for k in rest) + rep


def _sum_away(x: Tensor, labels: str, keep: set[str]) -> tuple[Tensor, str]:
    drop = tuple(k for k, c in enumerate(labels) if c not in keep)
    if not drop:
        return x, labels
    return ops.sum(x, drop), "".join(c for c in labels if c in keep)


def _order(x: Tensor, labels: str, want: str) -> Tensor:
    if labels == want:
        return x
    return ops.permute(x, tuple(labels.index(c) for c in want))


def _dims(x: Tensor, labels: str, group: Sequence[str]) -> list:
    return [x.aval.shape[labels.index(c)] for c in group]


def _contract(a: Tensor, la: str, b: Tensor, lb: str, keep: set[str]) -> tuple[Tensor, str]:
    """``a`` and ``b`` contracted over their shared labels not in ``keep``: one matmul whose
    batch dims are the shared labels kept."""
    batch = [c for c in la if c in lb and c in keep]
    inner = [c for c in la if c in lb and c not in keep]
    rows = [c for c in la if c not in lb]
    cols = [c for c in lb if c not in la]
    for c in batch + inner:
        da, db = a.aval.shape[la.index(c)], b.aval.shape[lb.index(c)]
        if da is not None and db is not None and da != db:
            raise ValueError(f"Dimensions must be equal, but are {da} and {db} for label "
                             f"{c!r} in einsum")
    bd = _dims(a, la, batch)
    am = reshaped(_order(a, la, "".join(batch + rows + inner)),
                  bd + [_prod(_dims(a, la, rows)), _prod(_dims(a, la, inner))], "einsum")
    bm = reshaped(_order(b, lb, "".join(batch + inner + cols)),
                  _dims(b, lb, batch) + [_prod(_dims(b, lb, inner)), _prod(_dims(b, lb, cols))],
                  "einsum")
    out = ops.matmul(am, bm)
    out = reshaped(out, bd + _dims(a, la, rows) + _dims(b, lb, cols), "einsum")
    return out, "".join(batch + rows + cols)


def einsum(equation: str, *inputs: Any, **kwargs: Any) -> Tensor:
    """Einstein summation over ``inputs`` as written in ``equation`` (``"ij,jk->ik"``)."""
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"Invalid keyword arguments for this function: "
                        f"{', '.join(sorted(kwargs))}")
    ts = [_t(x) for x in inputs]
    spelled = equation
    if "." in equation:
        spelled, ts = _expand_ellipsis(equation, ts)
    labels, out = _parse(spelled, len(ts))
    for t, lab in zip(ts, labels, strict=True):
        if t.aval.shape is None:
            raise NotImplementedError(f"einsum of {t.name}, whose rank is unknown, is not "
                                      f"supported; declare its shape")
        if t.ndim != len(lab):
            raise ValueError(f"Expected input {t.name} to have rank {len(lab)} but got: "
                             f"{t.ndim} (equation {equation!r})")
    with composite(name, "einsum", *ts) as scope:
        stem = scope + "Einsum/"  # TF's node: einsum/Einsum
        parts = []
        for k, (t, lab) in enumerate(zip(ts, labels, strict=True)):
            t, lab = _diagonal(t, lab)
            others = set(out).union(*[labels[j] for j in range(len(ts)) if j != k])
            parts.append(_sum_away(t, lab, others))
        x, lx = parts[0]
        for k in range(1, len(parts)):
            later = set(out).union(*[parts[j][1] for j in range(k + 1, len(parts))])
            y, ly = parts[k]
            x, lx = _contract(x, lx, y, ly, later)
            x, lx = _sum_away(x, lx, later)
        if lx == out:
            return identity(x, name=stem)
        return _final(stem, ops.permute, x, tuple(lx.index(c) for c in out))


__all__ = ["einsum"]
