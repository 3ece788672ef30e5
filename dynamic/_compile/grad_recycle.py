"""``.grad`` write-back without a new tensor per step where nobody can tell the difference.

A whole step that starts with ``zero_grad()`` (``set_to_none=True``) gives each parameter a new
``.grad`` tensor on every call, as eager does. Wrapping the run's result (``make(r[k])``) costs
about 0.25 us, and since the ``.grad`` then holds one of the compiled instance's escape buffers,
the next run finds that buffer referenced and takes another from its pool (``fresh``, about
0.2 us): 0.45 us per parameter and step, a fifth of ``xor-mlp``'s step.

The old ``.grad`` tensor can instead receive the new value in place when no one but the
parameter can observe it:

* it is the tensor the fast path itself made last time (``LG``), and its storage the array it
  gave it (``LD``, an array of its own, never an instance buffer);
* reference counts show no other holder of either: the tensor is referenced by the
  parameter's slot, the cache, the local and ``getrefcount``'s argument (4); the array by the
  tensor, the cache and the argument (3): no variable, list, view, ``detach()``-ed tensor or
  autograd record holds them; no weak reference to the tensor exists;
* it is as a fresh ``.grad`` is: class ``Tensor``, ``requires_grad`` False (no ``grad_fn``),
  version counter as the step set it (eager's: 0, or one bump per later ``backward()`` of the
  step that added into it; no in-place write since), no ``.grad`` and no hooks of its own (left by
  ``requires_grad_()``, a backward or ``register_hook`` and ``requires_grad_(False)``).

Then ``LD[...] = r[k]`` (a copy of a few bytes, 0.17 us) and the instance's buffer goes back to
its pool. Otherwise the fast path makes a new tensor as before, on a copy of the result (an
array of its own: the next call may recycle it). Observable behaviour is eager's either way:
whoever kept the old ``.grad`` (or its array, or a view) keeps the old values.
"""

from __future__ import annotations

from sys import getrefcount
from typing import Any
from weakref import getweakrefcount

from .._tensor import Tensor

UNSET = object()
"""The last ``.grad`` before the fast path made one: never a leaf's ``.grad`` (``None`` is: an
input leaf has none before its first backward)."""

RECYCLE_MAX_BYTES = 4096
"""A larger ``.grad`` is wrapped as before: its copy would cost more than the pool's ``fresh``."""


def recycle_test(g: str, d: str, version: int = 0) -> str:
    """Source testing that tensor ``g`` (the last ``.grad`` the fast path made, held by the
    parameter, the cache, a local) and its array ``d`` (held by the tensor and the cache) are
    unobservable and as fresh as a new ``.grad`` at ``version`` (module docstring); names
    ``rc``, ``wrc`` and
    ``TENSOR`` must be bound (:func:`bind`)."""
    return (f"rc({g}) == 4 and rc({d}) == 3 and {g}._requires_grad is False and "
            f"{g}._vc[0] == {version} and {g}._grad is None and {g}._hooks is None and "
            f"{g}.__class__ is TENSOR and not wrc({g})")


def bind(ns: dict) -> None:
    """Bind the names :func:`recycle_test` uses in a generated function's namespace."""
    ns.update(rc=getrefcount, wrc=getweakrefcount, TENSOR=Tensor)


def recycle_lines(g: Any, leaf: str, val: str, version: int = 0) -> list[str]:
    """Source setting ``{leaf}._grad`` to a new-or-recycled tensor holding ``{val}`` (the
    run's result of the ``.grad``'s shape and dtype) at version ``version`` (eager's: one
    bump per ``backward()`` that added into it after it was made); ``g`` is the fast path's
    generator."""
    bind(g.ns)
    lg, ld = g.const([UNSET], "LG"), g.const([None], "LD")
    g.caches += [g.ns[lg], g.ns[ld]]  # emptied when the fast path is dropped
    return [f"G = {leaf}._grad",
            f"if G is {lg}[0] and G._data is {ld}[0] and "
            f"{recycle_test('G', ld + '[0]', version)}:",
            f"    {ld}[0][...] = {val}",
            "else:",
            f"    {ld}[0] = D = {val}.copy()",
            f"    {leaf}._grad = {lg}[0] = make(D)",
            *([f"    {lg}[0]._vc[0] = {version}"] if version else []),
            "    D = None",
            "G = None"]
