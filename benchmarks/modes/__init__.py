"""The mode registry: each mode is a small plug-in that turns a workload into a :class:`Bench`.

A mode names a module (imported only inside that mode's own subprocess) with two functions:

* ``setup(mode, threads) -> dict``: import the framework, fix its thread count, return facts to
  report (``version``, ``threads``, ``notes``...). Raise :class:`Unavailable` (one-line reason)
  when the framework cannot be imported: the mode is then reported as skipped.
* ``build(mode, workload, problem) -> Bench``: build the workload (graph, jit wrapper...).
  Raise :class:`Unsupported` when this mode cannot run this workload.

Modes from other packages register themselves with :func:`register_mode` in a module named in
the ``SGBENCH_PLUGINS`` environment variable (comma-separated module names), which the CLI and
every subprocess import. The tests use this to inject a deliberately wrong mode.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Unavailable(Exception):
    """The mode's framework is not importable here (the mode is skipped with this reason)."""


class Unsupported(Exception):
    """This mode cannot run this workload (the cell is skipped with this reason)."""


@dataclass
class Bench:
    """A built workload. ``step()`` is the timed unit; ``check()`` runs the workload from its
    initial state and returns named outputs (``y``, ``d_x``, ``loss``, ``delta_W``...) to compare
    with the numpy oracle. ``notes``: anything the report should mention (e.g. the executor)."""

    step: Callable[[], Any]
    check: Callable[[], dict[str, Any]]
    notes: str = ""
    settle: Callable[[], Any] | None = None  # after the first call, untimed: background work


@dataclass(frozen=True)
class Mode:
    """A registered mode: ``module`` implements ``setup``/``build``; ``requires`` are the
    top-level packages it imports (for ``--list``, checked without importing them)."""

    name: str
    module: str
    family: str  # "built-in" | "peer"
    summary: str
    requires: tuple[str, ...] = field(default_factory=tuple)


MODES: dict[str, Mode] = {}


def register_mode(mode: Mode) -> Mode:
    """Add ``mode`` to the registry (re-registering the same name replaces it)."""
    MODES[mode.name] = mode
    return mode


_PKG = "benchmarks.modes."
for _m in [
    Mode("static", _PKG + "tf1_family", "built-in",
         "staticgraph, define-and-run, Session() with its default (compiled) executor",
         ("staticgraph",)),
    Mode("static-unrolled", _PKG + "tf1_family", "built-in",
         "staticgraph, compiled, dyn-loop without tf.while_loop: a graph built per example",
         ("staticgraph",)),
    Mode("static-reference", _PKG + "tf1_family", "built-in",
         "staticgraph, define-and-run, Session(executor='reference') numpy interpreter",
         ("staticgraph",)),
    Mode("dynamic", _PKG + "torch_family", "built-in",
         "dynamic, define-by-run eager autograd (import dynamic as torch)", ("dynamic",)),
    Mode("dynamic-compile", _PKG + "torch_family", "built-in",
         "dynamic code through dynamic.compile: captured once, run by the static compiler",
         ("dynamic",)),
    Mode("numpy", _PKG + "numpy_mode", "built-in",
         "numpy written by hand: forward and backward (the correctness reference)", ("numpy",)),
    Mode("torch", _PKG + "torch_family", "peer", "PyTorch eager autograd", ("torch",)),
    Mode("torch-compile", _PKG + "torch_family", "peer",
         "PyTorch torch.compile (inductor) of torch.func gradients", ("torch",)),
    Mode("jax", _PKG + "jax_mode", "peer", "JAX jax.jit of value_and_grad", ("jax",)),
    Mode("pytensor", _PKG + "pytensor_mode", "peer",
         "PyTensor pytensor.function (default linker)", ("pytensor",)),
    Mode("tf1", _PKG + "tf1_family", "peer",
         "TensorFlow tensorflow.compat.v1 graph + Session.run", ("tensorflow",)),
]:
    register_mode(_m)


def load_plugins() -> None:
    """Import the modules named in ``SGBENCH_PLUGINS`` (they call :func:`register_mode`)."""
    for name in filter(None, (s.strip() for s in os.environ.get("SGBENCH_PLUGINS", "").split(","))):
        importlib.import_module(name)


def get(name: str) -> Mode:
    """The mode called ``name`` (a clear error listing the choices otherwise)."""
    try:
        return MODES[name]
    except KeyError:
        raise ValueError(f"unknown mode {name!r}; choose from: {', '.join(MODES)}") from None


def is_installed(mode: Mode) -> bool:
    """Whether the packages ``mode`` needs can be found (without importing them)."""
    from importlib.util import find_spec

    try:
        return all(find_spec(r) is not None for r in mode.requires)
    except (ImportError, ValueError):
        return False
