"""The fuzzer's program description: a small, JSON-serialisable list of op records over inputs,
plus the data it is fed with (drawn from a seed, so a recorded case is a few lines of JSON).

Values are numbered: inputs first (``v0``...), then one value per node. A dimension is an int
or a string expression in the batch symbol ``B`` (``"B"``, ``"2*B"``): a placeholder declares it
``None`` and each run feeds one of ``Program.batches``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

Dim = Any  # int | str (an expression in B)


@dataclass
class Input:
    """A program input. ``kind``: ``ph`` (placeholder), ``var`` (tf.Variable / eager leaf),
    ``const`` (a constant array), ``int`` (an int64 placeholder: labels or gather indices, values
    in ``[0, high)``). ``domain``: ``sym`` (about [-2, 2]), ``pos`` (about [0.2, 2]) or ``unit``
    (near 1: products stay in range). ``layout``: how the fed array is laid out: ``C``, ``F``
    (Fortran order), ``T`` (a transposed view) or ``S`` (a strided slice of a larger array)."""

    shape: list
    kind: str = "ph"
    domain: str = "sym"
    layout: str = "C"
    high: Dim = 0


@dataclass
class Node:
    """``op`` names a row of :data:`tests.fuzz.ops_table.OPS`; ``args`` are value ids or
    ``{"c": float}`` Python scalars; ``p`` the op's JSON parameters."""

    op: str
    args: list
    p: dict = field(default_factory=dict)


@dataclass
class Program:
    """One fuzz case. ``grad``: ``{"wrt": [ids], "ys": bool, "second": bool}`` (tf.gradients of
    the outputs, with random ``grad_ys`` when ``ys``; ``second``: the gradient of those gradients
    with random cotangents). ``train``: ``{"opt": name, "lr": float}`` (one optimizer step per
    batch, variables fetched after it)."""

    dtype: str
    inputs: list
    nodes: list
    outputs: list
    batches: list
    grad: dict | None = None
    train: dict | None = None
    data_seed: int = 0
    edge: float = 0.0
    nonfinite: bool = False  # edge values include inf, -inf and NaN
    shapes: list = field(default_factory=list)  # each value's shape (generator bookkeeping)

    # ---------------------------------------------------------------- serialisation
    def to_json(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_json(d: dict) -> Program:
        d = copy.deepcopy(d)
        d["inputs"] = [Input(**i) for i in d["inputs"]]
        d["nodes"] = [Node(**n) for n in d["nodes"]]
        return Program(**d)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    def copy(self) -> Program:
        return Program.from_json(self.to_json())

    @property
    def n_values(self) -> int:
        return len(self.inputs) + len(self.nodes)

    def ops_used(self) -> set[str]:
        return {n.op for n in self.nodes}


# -------------------------------------------------------------------------------- dims
def dim_value(d: Dim, batch: int) -> int:
    """The concrete size of a dim for batch size ``batch``."""
    if isinstance(d, (int, np.integer)):
        return int(d)
    return int(eval(d, {"__builtins__": {}}, {"B": batch, "max": max}))  # noqa: S307


def concrete(shape: list, batch: int) -> tuple[int, ...]:
    return tuple(dim_value(d, batch) for d in shape)


def static_shape(shape: list) -> list:
    """The placeholder shape: symbolic dims become ``None``."""
    return [d if isinstance(d, int) else None for d in shape]


# -------------------------------------------------------------------------------- data
EDGE_VALUES = (0.0, -0.0, -1.0, 1.0, 30.0, -30.0, 1e-30)
NONFINITE = (np.inf, -np.inf, np.nan)


def _layout(a: np.ndarray, layout: str) -> np.ndarray:
    """The same values as ``a`` in another memory layout (never a copy the caller could alias)."""
    if a.ndim < 2 or layout == "C":
        if layout == "S" and a.ndim >= 1:
            big = np.empty(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
            big[..., ::2] = a
            return big[..., ::2]
        return np.array(a, order="C", copy=True)
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "T":
        return np.ascontiguousarray(np.swapaxes(a, -1, -2)).swapaxes(-1, -2)
    big = np.empty(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., 1::2] = a
    return big[..., 1::2]


def _floats(rng: np.random.Generator, shape: tuple, domain: str, edge: float,
            dtype: np.dtype, nonfinite: bool = False) -> np.ndarray:
    if domain == "pos":
        a = rng.uniform(0.2, 2.0, shape)
    elif domain == "unit":
        a = rng.uniform(0.7, 1.3, shape) * rng.choice([-1.0, 1.0], shape)
    else:
        a = rng.uniform(-2.0, 2.0, shape)
    if edge and a.size:
        mask = rng.random(shape) < edge
        a = np.where(mask, rng.choice(EDGE_VALUES + (NONFINITE if nonfinite else ()), shape), a)
    return np.asarray(a, dtype=dtype)  # an ndarray even for 0-d (never a numpy scalar)


class Data:
    """Feeds for one program, drawn from ``prog.data_seed`` (the same for every executor)."""

    def __init__(self, prog: Program, edge: float | None = None) -> None:
        self.prog = prog
        self.dtype = np.dtype(prog.dtype)
        self.edge = prog.edge if edge is None else edge
        rng = np.random.default_rng(prog.data_seed)
        self.static: dict[int, np.ndarray] = {}
        for i, inp in enumerate(prog.inputs):  # variables and constants: static shapes
            if inp.kind in ("var", "const"):
                self.static[i] = _floats(rng, concrete(inp.shape, 0), inp.domain, self.edge,
                                         self.dtype, self.prog.nonfinite)
        self._seed = int(rng.integers(2**31))

    def batch(self, k: int) -> dict[str, np.ndarray]:
        """The arrays of run ``k`` (batch size ``prog.batches[k]``), by name: ``x{i}`` for
        placeholders, ``gy{j}`` for the outputs' cotangents, ``gv{j}`` for the second-order
        cotangents (one per ``wrt`` input). Arrays come in each input's layout."""
        b = self.prog.batches[k]
        rng = np.random.default_rng([self._seed, k])
        out: dict[str, np.ndarray] = {}
        for i, inp in enumerate(self.prog.inputs):
            shape = concrete(inp.shape, b)
            if inp.kind == "ph":
                out[f"x{i}"] = _layout(_floats(rng, shape, inp.domain, self.edge, self.dtype,
                                               self.prog.nonfinite),
                                       inp.layout)
            elif inp.kind == "int":
                high = max(dim_value(inp.high, b), 1)
                out[f"x{i}"] = _layout(rng.integers(0, high, shape).astype(np.int64),
                                       inp.layout)
        shapes = self.prog.shapes
        g = self.prog.grad or {}
        if g.get("ys"):
            for j, o in enumerate(self.prog.outputs):
                out[f"gy{j}"] = _floats(rng, concrete(shapes[o], b), "sym", 0.0, self.dtype)
        if g.get("second"):
            for j, w in enumerate(g["wrt"]):
                out[f"gv{j}"] = _floats(rng, concrete(shapes[w], b), "sym", 0.0, self.dtype)
        return out


# ----------------------------------------------------------------------------- editing
def refs(arg) -> list[int]:
    return [] if isinstance(arg, dict) else [int(arg)]


def compact(prog: Program) -> Program:
    """Drop nodes and inputs no output reaches, and renumber (inputs first, creation order)."""
    n_in = len(prog.inputs)
    live = reaching(prog)
    if prog.grad:
        live.update(prog.grad["wrt"])
    keep = [i for i in range(prog.n_values) if i in live]
    new = {old: j for j, old in enumerate(keep)}
    out = prog.copy()
    out.inputs = [prog.inputs[i] for i in keep if i < n_in]
    out.nodes = [Node(op=n.op, args=[a if isinstance(a, dict) else new[a] for a in n.args],
                      p=n.p) for k, n in enumerate(prog.nodes) if n_in + k in live]
    out.outputs = [new[o] for o in prog.outputs]
    out.shapes = [prog.shapes[i] for i in keep] if prog.shapes else []
    if prog.grad:
        out.grad = dict(prog.grad, wrt=[new[w] for w in prog.grad["wrt"]])
    return out


def reaching(prog: Program) -> set[int]:
    """Values some output depends on."""
    n_in = len(prog.inputs)
    live = set(prog.outputs)
    for k in range(len(prog.nodes) - 1, -1, -1):
        if n_in + k in live:
            for a in prog.nodes[k].args:
                live.update(refs(a))
    return live
