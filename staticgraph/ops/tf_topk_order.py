"""TensorFlow's ``TopKV2`` order of a whole row that holds NaN, replayed step by step.

TF's CPU kernel (``tensorflow/core/kernels/topk_op.cc``), when ``k`` is the whole row, runs
``std::sort`` (libstdc++'s introsort) on the positions with the comparator ``a before b iff
x[b] < x[a]``, then sorts runs of equal values by position. NaN compares false both ways, so
the order is no order and the result is whatever the algorithm does with it: ``tf.sort`` and
``tf.argsort`` are this kernel (ascending on ``-x``), and a NaN lands mid-row
(``tf.sort([3., nan, 1., nan, 2., -inf, inf])`` is ``[-inf, 1, 3, nan, nan, 2, inf]``). This
module replays the introsort on such rows (checked against TF 2.21 on random rows of 2 to 257
entries); on a row without NaN the comparator is a total order and the result is the stable
descending order, which the caller computes with numpy. libstdc++'s unguarded loops (undefined
behaviour with such a comparator) stop at the row's ends instead of reading past them.

``top_k`` with ``k`` below the row length takes other paths in TF: an Eigen max for ``k == 1``
(replayed here with the wheel's AVX packets and NaN rules, which agree with TF 2.21 on every
row tried), the ``gtl::TopN`` heap otherwise (replayed with libstdc++'s heap steps, which a
C++ build of the published source confirms). On rows with NaN the TF 2.21 wheel agrees with
the heap replay only mostly (every row for ``k == 2`` or rows under 10 entries; about 80% of
random rows with ties and 30% NaN for larger ``k``, the rest differing in where the NaN land):
its heap differs from the published source in a way this module does not know (libc++'s heap,
``std::partial_sort`` and NaN-unordered comparators were tried and fit worse; docs/ops.md).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Less = Callable[[int, int], bool]


def tf_topk_row(row: np.ndarray, k: int) -> list[int]:
    """The ``k`` positions TF's CPU ``TopKV2`` (``sorted=True``) gives for one row."""
    vals = row.tolist()
    if k <= 1:
        return [_first_max(row)][:k]

    def comp(a: int, b: int) -> bool:
        return vals[b] < vals[a]

    if k == len(vals):
        idx = list(range(len(vals)))
        _std_sort(idx, 0, len(idx), comp)
        _sort_equal_runs(idx, vals)
        return idx

    def stable(a: int, b: int) -> bool:
        if vals[b] < vals[a]:
            return True
        if vals[b] > vals[a]:
            return False
        return a < b

    return _top_n(len(vals), k, stable)


AVX_BYTES = 32  # the TF 2.21 wheel's Eigen packets: 8 float32 or 4 float64 lanes


def _first_max(row: np.ndarray) -> int:
    """``k == 1``: Eigen's inner max reduction as the TF 2.21 wheel runs it, then the first
    position equal to its result (none, a NaN result: position 0). The row's full packets go
    lane by lane into accumulators that keep their value when either side is NaN; the tail
    after the last full packet is reduced one entry at a time with ``m if m > t else t`` (a
    NaN entry replaces the running max, the next entry replaces a NaN); the lanes' max ``p``
    and the tail's ``s`` combine as ``p if p > s else s``. Accumulators start at ``-inf``.
    (Matches the wheel on every row tried: 1,500 random rows of 2 to 90 entries, float32 and
    float64, up to half NaN, some infinities.)"""
    vals = row.tolist()
    lowest = -np.inf  # Eigen's MaxReducer starts at -infinity where the type has one
    lanes = max(AVX_BYTES // row.dtype.itemsize, 1)
    full = len(vals) // lanes * lanes
    acc = [lowest] * lanes
    for j in range(0, full, lanes):
        acc = [t if t > m else m for m, t in zip(acc, vals[j:j + lanes], strict=True)]
    while len(acc) > 1:  # predux: halves, the same NaN-keeping max
        h = len(acc) // 2
        acc = [b if b > a else a for a, b in zip(acc[:h], acc[h:], strict=True)]
    s = lowest
    for t in vals[full:]:
        s = s if s > t else t
    p = acc[0]
    best = p if p > s else s
    hits = [c for c, x in enumerate(vals) if x == best]
    return hits[0] if hits else 0


def _sort_equal_runs(idx: list[int], vals: list) -> None:
    """TF's second pass: runs of adjacent equal values (``==``; NaN never equal) in position
    order."""
    n, start = len(idx), 0
    while start < n - 1:
        end = start + 1
        if vals[idx[start]] == vals[idx[end]]:
            while end < n and vals[idx[start]] == vals[idx[end]]:
                end += 1
            idx[start:end] = sorted(idx[start:end])
        start = end


# ----------------------------------------------------------------------------- std::sort
def _std_sort(a: list[int], first: int, last: int, comp: Less) -> None:
    if last - first > 1:
        _introsort_loop(a, first, last, 2 * ((last - first).bit_length() - 1), comp)
        _final_insertion_sort(a, first, last, comp)


def _introsort_loop(a: list[int], first: int, last: int, depth: int, comp: Less) -> None:
    while last - first > 16:
        if depth == 0:
            _make_heap(a, first, last, comp)
            _sort_heap(a, first, last, comp)
            return
        depth -= 1
        cut = _partition_pivot(a, first, last, comp)
        _introsort_loop(a, cut, last, depth, comp)
        last = cut


def _partition_pivot(a: list[int], first: int, last: int, comp: Less) -> int:
    mid = first + (last - first) // 2
    _median_to_first(a, first, first + 1, mid, last - 1, comp)
    lo, hi, pivot = first + 1, last, a[first]
    while True:
        while lo < last - 1 and comp(a[lo], pivot):
            lo += 1
        hi -= 1
        while hi > first and comp(pivot, a[hi]):
            hi -= 1
        if not lo < hi:
            return lo
        a[lo], a[hi] = a[hi], a[lo]
        lo += 1


def _median_to_first(a: list[int], res: int, i: int, j: int, m: int, comp: Less) -> None:
    x, y, z = a[i], a[j], a[m]
    if comp(x, y):
        pick = j if comp(y, z) else (m if comp(x, z) else i)
    elif comp(x, z):
        pick = i
    elif comp(y, z):
        pick = m
    else:
        pick = j
    a[res], a[pick] = a[pick], a[res]


def _final_insertion_sort(a: list[int], first: int, last: int, comp: Less) -> None:
    if last - first > 16:
        _insertion_sort(a, first, first + 16, comp)
        for i in range(first + 16, last):
            _linear_insert(a, first, i, comp)
    else:
        _insertion_sort(a, first, last, comp)


def _insertion_sort(a: list[int], first: int, last: int, comp: Less) -> None:
    for i in range(first + 1, last):
        if comp(a[i], a[first]):
            a[first:i + 1] = [a[i]] + a[first:i]
        else:
            _linear_insert(a, first, i, comp)


def _linear_insert(a: list[int], first: int, i: int, comp: Less) -> None:
    val = a[i]
    while i > first and comp(val, a[i - 1]):
        a[i] = a[i - 1]
        i -= 1
    a[i] = val


# ----------------------------------------------------------------------------- heaps
def _push_heap(a: list[int], base: int, hole: int, top: int, val: int, comp: Less) -> None:
    parent = (hole - 1) // 2
    while hole > top and comp(a[base + parent], val):
        a[base + hole] = a[base + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[base + hole] = val


def _adjust_heap(a: list[int], base: int, hole: int, n: int, val: int, comp: Less) -> None:
    top, child = hole, hole
    while child < (n - 1) // 2:
        child = 2 * (child + 1)
        if comp(a[base + child], a[base + child - 1]):
            child -= 1
        a[base + hole] = a[base + child]
        hole = child
    if n % 2 == 0 and child == (n - 2) // 2:
        child = 2 * (child + 1)
        a[base + hole] = a[base + child - 1]
        hole = child - 1
    _push_heap(a, base, hole, top, val, comp)


def _make_heap(a: list[int], first: int, last: int, comp: Less) -> None:
    n = last - first
    for parent in range((n - 2) // 2, -1, -1):
        _adjust_heap(a, first, parent, n, a[first + parent], comp)


def _pop_heap(a: list[int], first: int, last: int, comp: Less) -> None:
    """``std::pop_heap(first, last)``: the top goes to ``last - 1``."""
    if last - first > 1:
        val = a[last - 1]
        a[last - 1] = a[first]
        _adjust_heap(a, first, 0, last - 1 - first, val, comp)


def _sort_heap(a: list[int], first: int, last: int, comp: Less) -> None:
    while last - first > 1:
        _pop_heap(a, first, last, comp)
        last -= 1


def _top_n(n: int, k: int, comp: Less) -> list[int]:
    """``gtl::TopN<int32>(k, comp)`` fed positions ``0..n-1``, then ``Extract()``."""
    el: list[int] = []
    heap = False
    for c in range(n):
        if not heap:
            el.append(c)
            if len(el) == k + 1:
                _make_heap(el, 0, len(el), comp)
                _pop_heap(el, 0, len(el), comp)
                heap = True
        elif comp(c, el[0]):
            el[-1] = c
            _push_heap(el, 0, len(el) - 1, 0, c, comp)
            _pop_heap(el, 0, len(el), comp)
    if not heap:
        _std_sort(el, 0, len(el), comp)
        return el
    el.pop()
    _sort_heap(el, 0, len(el), comp)
    return el
