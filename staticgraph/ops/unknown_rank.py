"""Shapes of unknown rank (a placeholder declared without a shape, and what is computed from
it): axes kept as given until the rank is fed (:func:`raw_dims`), each op's :attr:`Op.at_rank`
rule resolving them for the fed ranks (:func:`at_rank`, :func:`dims_at_rank`), and the
build-time shape TF infers, found by trying every rank (:func:`infer_unknown_rank`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import AVal, Op, aval_of, normalize_dims


def known_rank(x: Any) -> bool:
    """Whether ``x``'s rank is known (``False`` only for a static placeholder declared
    without a shape and the values computed from it)."""
    return aval_of(x).shape is not None


def raw_dims(dims: int | Sequence[int] | None) -> tuple[int, ...] | None:
    """Axes of an input of unknown rank, kept as given (negative ones too) for
    :attr:`Op.at_rank` to normalize once the rank is known; ``None`` (all dims) stays."""
    if dims is None:
        return None
    if isinstance(dims, (int, np.integer)):
        return (int(dims),)
    return tuple(int(d) for d in dims)


def at_rank(op: Op, params: dict, avals: Sequence[AVal]) -> dict:
    """``op``'s parameters for inputs ``avals`` of known rank (:attr:`Op.at_rank`)."""
    return params if op.at_rank is None else op.at_rank(params, *avals)


class UnknownSizes(ValueError):
    """Raised by an :attr:`Op.at_rank` rule whose parameters depend on sizes the avals leave
    unknown (``squeeze()`` of a tensor of unknown rank: which dims are 1): the rank fits, the
    result's shape is unknown until the sizes are. ``params``: parameters valid at this rank
    (for the result's dtype)."""

    def __init__(self, message: str, params: dict) -> None:
        super().__init__(message)
        self.params = params


def dims_at_rank(name: str = "dim", *, single: bool = False, of: int = 0,
                 extra: int = 0) -> Callable[..., dict]:
    """An :attr:`Op.at_rank` rule for one axes parameter ``name`` counted in the rank of input
    ``of`` plus ``extra`` (``expand_dims``, ``stack``: positions in the output). ``single``: an
    int axis (``None`` stays: "flattened"); otherwise a sorted tuple (``None``: every dim)."""

    def resolve(params: dict, *avals: AVal) -> dict:
        v, nd = params[name], avals[of].ndim + extra
        if single:
            return params if v is None else {**params, name: normalize_dims(v, nd)[0]}
        return {**params, name: normalize_dims(v, nd)}

    return resolve


PROBE_RANKS = range(0, 6)
"""The ranks tried for an input of unknown rank when inferring at build time."""


def infer_unknown_rank(op: Op, avals: Sequence[AVal], params: dict) -> tuple:
    """``(shape, dtype)`` of ``op`` on inputs some of which have unknown rank (``shape`` is
    ``None``): the rule is tried with each such input standing in at every rank of
    :data:`PROBE_RANKS` (all dims unknown). The result has the shape every fitting rank gives
    when they agree (``transpose(x, [1, 0])`` is ``(?, ?)``, a full reduction ``()``), and
    unknown rank otherwise, as TF infers. ``ValueError`` when no rank fits."""
    unknown = [i for i, a in enumerate(avals) if a.shape is None]
    shapes, dtype, first_error = set(), None, None
    for ranks in itertools.product(PROBE_RANKS, repeat=len(unknown)):
        stand = list(avals)
        for i, r in zip(unknown, ranks, strict=True):
            stand[i] = AVal((None,) * r, avals[i].dtype, avals[i].weak)
        try:
            shape, dt = op.infer(*stand, **at_rank(op, params, stand))
        except UnknownSizes as e:
            shape, dt = None, op.infer(*stand, **e.params)[1]
        except (ValueError, IndexError, TypeError) as e:
            first_error = first_error or e
            continue
        shapes.add(None if shape is None else tuple(shape))
        dtype = dtype if dtype is not None else np.dtype(dt)
    if dtype is None:
        raise ValueError(f"no rank of the inputs of unknown rank fits: {first_error}")
    return (shapes.pop() if len(shapes) == 1 else None), dtype
