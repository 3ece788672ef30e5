"""``torch.einsum``: parsed once, computed with public op functions (``getitem`` for repeated
subscripts, ``sum``, ``permute``, ``reshape`` and one batched ``matmul`` per pair of operands).

Operands are contracted left to right, as PyTorch does without ``opt_einsum``: each pair
becomes ``(batch, left, contracted) @ (batch, contracted, right)``; a subscript no later operand
and not the output needs is summed out first. ``...`` broadcasts like numpy; size-1 dims
broadcast against their partners. The ``grad_fn`` is that of the last op, as in PyTorch
(``ViewBackward0``, ``PermuteBackward0``, ``SumBackward1``...).
"""

from __future__ import annotations

import math
import string
from typing import Any

import numpy as np

from staticgraph import ops

from ._tensor import Tensor, to_tensor
from .autograd.graph import renamed

__all__ = ["einsum"]

_LETTERS = set(string.ascii_letters)


def _parse(eq: str, tensors: list) -> tuple[list[str], str]:
    """The subscripts of each operand and of the output; ``...`` becomes one private character
    per broadcast dim (code points from 0x100, never a subscript letter)."""
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(tensors):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation" if len(tensors) > len(terms) else
                           "einsum(): fewer operands were provided than specified in the "
                           "equation")
    ell_rank = 0
    for t, term in zip(tensors, terms, strict=True):
        bad = [c for c in term.replace("...", "") if c not in _LETTERS]
        if bad:
            raise RuntimeError(f"einsum(): invalid subscript given at index "
                               f"{eq.index(bad[0])} in the equation string, subscripts must "
                               f"be in [a-zA-Z]")
        n = len(term.replace("...", ""))
        if "..." in term:
            ell_rank = max(ell_rank, t.dim() - n)
        elif n != t.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) does "
                               f"not match the number of dimensions ({t.dim()}) for operand "
                               f"{terms.index(term)} and no ellipsis was given")
    ell = "".join(chr(0x100 + i) for i in range(ell_rank))
    subs = []
    for t, term in zip(tensors, terms, strict=True):
        if "..." in term:
            k = t.dim() - len(term.replace("...", ""))
            term = term.replace("...", ell[ell_rank - k:])
        subs.append(term)
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if not any(c in s for s in subs):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
    else:  # implicit output: the ellipsis dims, then the letters seen once, sorted
        counts: dict = {}
        for s in subs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return subs, out


def _diagonalize(t: Any, sub: str) -> tuple[Any, str]:
    """Repeated subscripts in one operand (``ii``) become one dim: the diagonal."""
    while len(set(sub)) < len(sub):
        c = next(c for c in sub if sub.count(c) > 1)
        i = sub.index(c)
        j = sub.index(c, i + 1)
        t = ops.diagonal(t, 0, i, j)  # the diagonal goes last
        sub = "".join(s for k, s in enumerate(sub) if k not in (i, j)) + c
    return t, sub


def _sum_out(t: Any, sub: str, keep: set) -> tuple[Any, str]:
    axes = tuple(i for i, c in enumerate(sub) if c not in keep)
    if axes:
        t = ops.sum(t, axes, False)
        sub = "".join(c for c in sub if c in keep)
    return t, sub


def _contract(a: Any, sa: str, b: Any, sb: str, keep: set) -> tuple[Any, str]:
    """``a`` and ``b`` contracted over their shared subscripts that ``keep`` lacks."""
    a, sa = _sum_out(a, sa, keep | set(sb))
    b, sb = _sum_out(b, sb, keep | set(sa))
    size = {}
    for t, s in ((a, sa), (b, sb)):
        for c, n in zip(s, t.shape, strict=True):
            size[c] = max(size.get(c, 1), n)
    batch = [c for c in sa if c in sb and c in keep]
    con = [c for c in sa if c in sb and c not in keep]
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]

    def arrange(t: Any, s: str, groups: tuple) -> Any:
        order = [c for g in groups for c in g]
        t = ops.permute(t, tuple(s.index(c) for c in order)) if list(s) != order else t
        full = tuple(size[c] for c in order)
        if tuple(t.shape) != full:
            t = ops.broadcast_to(t, full)
        dims = tuple(math.prod(size[c] for c in g) for g in groups)
        return ops.reshape(t, dims) if tuple(t.shape) != dims else t

    am = arrange(a, sa, (batch, left, con))
    bm = arrange(b, sb, (batch, con, right))
    out = ops.matmul(am, bm)
    sub = "".join(batch + left + right)
    shape = tuple(size[c] for c in sub)
    return (ops.reshape(out, shape) if tuple(out.shape) != shape else out), sub


def einsum(equation: str, *operands: Any) -> Tensor:
    """``torch.einsum("ij,jk->ik", a, b)``; operands may also be given as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [to_tensor(t) for t in operands]
    if not tensors:
        raise RuntimeError("einsum(): must provide at least one operand")
    subs, out = _parse(equation, tensors)
    items = [_diagonalize(t, s) for t, s in zip(tensors, subs, strict=True)]
    for k, (t, s) in enumerate(items):
        for c, n in zip(s, t.shape, strict=True):
            for t2, s2 in items[:k]:
                if c in s2:
                    m = t2.shape[s2.index(c)]
                    if n != m and 1 not in (n, m):
                        raise RuntimeError(f"einsum(): operands do not broadcast with remapped "
                                           f"shapes (original->remapped): "
                                           f"{list(t2.shape)} and {list(t.shape)}")
    t, s = items[0]
    if len(items) == 1:
        t, s = _sum_out(t, s, set(out))
    for k in range(1, len(items)):
        keep = set(out).union(*(set(s2) for _, s2 in items[k + 1:]))
        t, s = _contract(t, s, items[k][0], items[k][1], keep)
    if s != out:
        t = renamed(ops.permute(t, tuple(s.index(c) for c in out)), "PermuteBackward0")
    if isinstance(t, Tensor) and t._data.dtype != np.result_type(*(x._data.dtype
                                                                   for x in tensors)):
        t = ops.cast(t, np.result_type(*(x._data.dtype for x in tensors)))
    return t
