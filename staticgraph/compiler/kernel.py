"""The backend-neutral fused-kernel description, and template rendering shared by all backends.

A :class:`Kernel` is a loop nest over an iteration space of rank ``rank``. Each input is an array
indexed by a pattern (loop dim or ``None`` = broadcast/size-1 dim); scalars (rank 0) are read once.
The body is a list of :class:`Stmt` (``var = expr``), each rendered from one registry ``scalar``
template with ``sg_*`` library calls, so the CPU and CUDA renderers emit identical statement
text and only bind ``sg_*`` to different libraries. Results leave the loop either as
elementwise :class:`Output` stores (full iteration shape) or as :class:`Reduction` accumulations
(sum/max/min over a set of loop dims, with an optional mean scale). Row-wise kernels (softmax,
log-softmax, softmax-cross-entropy forward/backward) are :class:`RowKernel` records with
per-backend bodies built from the same scalar library.

Example (``relu(x @ w + b)`` epilogue, ``b`` broadcast over rows)::

    Kernel(name="k1", rank=2,
           inputs=[Input("a0", float32, (0, 1)), Input("a1", float32, (1,))],
           stmts=[Stmt("v0", "(a0_ + a1_)"), Stmt("v1", "sg_relu(v0)")],
           outputs=[Output("o0", "v1", float32, (0, 1))])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

Pattern = tuple  # per array dim: the loop dim it follows, or None (size 1, broadcast)
SHORT_REDUCTION = 2048
"""Reduced elements per result that one float32 block may sum (the CPU renderer's block size):
a kernel whose static reduced count is at most this sums without block bookkeeping."""


@dataclass(frozen=True)
class Input:
    name: str
    dtype: np.dtype
    pattern: Pattern  # len == the array's rank

    @property
    def is_scalar(self) -> bool:
        return all(p is None for p in self.pattern)


@dataclass(frozen=True)
class Stmt:
    var: str
    expr: str
    dtype: np.dtype


@dataclass(frozen=True)
class Output:
    name: str
    var: str
    dtype: np.dtype
    pattern: Pattern


@dataclass(frozen=True)
class Reduction:
    """``name[pattern] = op over reduced loop dims of var`` (``mean`` scales by 1/count)."""

    name: str
    var: str
    op: str  # sum | max | min | mean
    dtype: np.dtype
    pattern: Pattern  # output array index: kept loop dims (None for keepdim size-1 dims)
    reduced: tuple[int, ...]  # loop dims summed over

    @property
    def float_sum(self) -> bool:
        """A float sum or mean: both backends accumulate it blockwise (accurately); max/min and
        integer sums are exact in any order and keep a plain accumulator."""
        return self.op in ("sum", "mean") and np.dtype(self.dtype).kind == "f"


@dataclass(frozen=True)
class Stage:
    """One loop of a tiled kernel's body over a tile (loop fission, see :class:`Tiling`).

    It loads the non-scalar ``inputs`` (indices into ``Kernel.inputs``) and the tile buffers
    ``reads`` (statement vars), runs ``stmts`` (indices into ``Kernel.stmts``, in order; a
    statement that depends on constants and scalars only may appear in several stages), stores
    the vars ``writes`` into their tile buffers, the ``outputs`` and accumulates the
    ``reductions`` (indices into ``Kernel.outputs`` / ``Kernel.reductions``)."""

    stmts: tuple[int, ...]
    inputs: tuple[int, ...] = ()
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    outputs: tuple[int, ...] = ()
    reductions: tuple[int, ...] = ()


@dataclass(frozen=True)
class Tiling:
    """Loop fission of a long rank-1 body: the loop runs in tiles of ``size`` elements, and each
    tile runs its ``stages`` one after the other, each a loop over the whole tile. Values that
    cross stages go through tile buffers of ``size`` elements (``buffers``: (var, dtype)), which
    stay in L1; each stage's loop is short enough to keep its values in registers. A renderer
    may ignore the tiling (the statements in order are the same computation) -- the CUDA one
    does: every thread computes one element anyway."""

    size: int
    stages: tuple[Stage, ...]
    buffers: tuple[tuple[str, np.dtype], ...] = ()
    vector_bits: int = 0  # the SIMD width the stage loops prefer (0: the target's default)


@dataclass
class Kernel:
    name: str
    rank: int
    inputs: list[Input]
    stmts: list[Stmt]
    outputs: list[Output] = field(default_factory=list)
    reductions: list[Reduction] = field(default_factory=list)
    consts: dict[str, tuple[float, np.dtype]] = field(default_factory=dict)
    extents: tuple = ()  # per loop dim: (array name, axis) giving its size, or None (size 1)
    doc: str = ""  # the subgraph it computes, for explain()
    short_reduction: bool = False  # reduces a static count <= SHORT_REDUCTION per result
    tiling: Tiling | None = None  # loop fission of a long rank-1 body (compiler/tiling.py)
    chunk: int = 0
    """Rank 1 only, 0 = none: the loop runs in chunks of this many elements (a multiple of the
    tile/block size), the unit of ``prange``; each chunk sums its own partial of every
    reduction, and the partials combine in chunk order -- the same order for any thread count
    (and for the serial variant), so results do not depend on threads."""

    @property
    def reduced_dims(self) -> tuple[int, ...]:
        return self.reductions[0].reduced if self.reductions else ()

    def signature(self) -> tuple:
        """A structural key: equal signatures render to identical source."""
        return ("K", self.rank, tuple((i.dtype.str, i.pattern) for i in self.inputs),
                tuple((s.var, s.expr, s.dtype.str) for s in self.stmts),
                tuple((o.var, o.dtype.str, o.pattern) for o in self.outputs),
                tuple((r.var, r.op, r.dtype.str, r.pattern, r.reduced) for r in self.reductions),
                tuple(sorted((k, float(v), d.str) for k, (v, d) in self.consts.items())),
                self.extents, self.short_reduction, self.tiling, self.chunk)

    def params(self) -> list[str]:
        return [i.name for i in self.inputs] + [o.name for o in self.outputs] + \
            [r.name for r in self.reductions]


@dataclass
class RowKernel:
    """A row-wise kernel over the last axis of a 2-D array (rows independent).

    kinds: ``softmax`` (x -> p), ``log_softmax`` (x -> lp), ``ce_fwd`` (x, target -> lp, loss),
    ``ce_bwd`` (g, lp, target -> dx = scale*g*(exp(lp) - onehot)). ``reduction`` is the loss's.
    """

    name: str
    kind: str
    dtype: np.dtype
    reduction: str = "mean"
    doc: str = ""

    def signature(self) -> tuple:
        return ("R", self.kind, self.dtype.str, self.reduction)


def row_args(step: object) -> list:
    """The graph values a row step's kernel reads and writes, in its parameter order (``step``:
    a fusion ``Step`` of kind ``row``): ``ce_fwd`` (x, target, log-probs, loss), the others
    their inputs then their one output. Backends append their own scratch arguments."""
    if step.kernel.kind == "ce_fwd":
        return [step.inputs[0], step.inputs[1], step.nodes[0], step.nodes[1]]
    return list(step.inputs) + [step.nodes[0]]


# ------------------------------------------------------------------------ template rendering
_FLOAT_LIT = re.compile(r"(?<![{\w.])(\d+\.\d*)(?![\w}])")


class ConstPool:
    """Typed constants of one kernel: ``c3 = np.float32(0.5)`` so no literal promotes a float32
    computation to float64."""

    def __init__(self) -> None:
        self.consts: dict[str, tuple[float, np.dtype]] = {}
        self._index: dict[tuple, str] = {}

    def get(self, value: float, dtype: np.dtype) -> str:
        dtype = np.dtype(dtype)
        key = (repr(float(value)) if dtype.kind == "f" else repr(value), dtype.str)
        if key not in self._index:
            name = f"c{len(self._index)}"
            self._index[key] = name
            self.consts[name] = (value, dtype)
        return self._index[key]


class _Params:
    def __init__(self, params: dict, pool: ConstPool, dtype: np.dtype) -> None:
        self.params, self.pool, self.dtype = params, pool, dtype

    def __getitem__(self, key: str) -> str:
        v = self.params[key]
        if isinstance(v, np.dtype) or isinstance(v, type):
            return np.dtype(v).name
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            return self.pool.get(v, self.dtype)
        raise TypeError(f"cannot render parameter {key}={v!r} into a scalar template")


def render_template(template: str, args: list[str], params: dict, dtype: np.dtype,
                    pool: ConstPool) -> str:
    """Fill a registry ``scalar`` template: ``{i}`` -> argument variables, ``{p[k]}`` -> typed
    constants, float literals -> constants of the compute ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        template = _FLOAT_LIT.sub(lambda m: pool.get(float(m.group(1)), dtype), template)
    return template.format(*args, p=_Params(params, pool, dtype))


# Row i's max ``m`` over ``c`` columns (NaN-propagating, unguarded: a row holding +inf, NaN, or
# only -inf gives ``inf - inf`` = NaN throughout, as the registry's kernels and PyTorch do): the
# shared start of the softmax-family row kernels of both backends, which then sum
# ``exp(x[i] - m)`` each their own accurate way (indented for a body inside ``for i in ...``;
# ``{dt}`` is the dtype name). Log-probabilities are ``(x - m) - log(s)``, never
# ``x - (m + log(s))``, which loses ``log(s)`` next to a huge ``m``.
ROW_MAX = """
        m = np.{dt}(-np.inf)
        for j in range(c):
            m = sg_max(m, x[i, j])"""


def prologue(k: Kernel) -> list[str]:
    """The lines every backend's loop skeleton starts with: loop extents and typed constants."""
    body = []
    for d in range(k.rank):
        ext = k.extents[d]
        body.append(f"n{d} = 1" if ext is None else f"n{d} = {ext[1]}" if ext[0] == "const"
                    else f"n{d} = {ext[0]}.shape[{ext[1]}]")
    for cname, (v, dt) in k.consts.items():
        body.append(f"{cname} = {const_literal(v, dt)}")
    return body


def extent(ext: tuple | None, k: Kernel, step: object, concrete) -> int:
    """One loop extent's size at run time: ``concrete`` maps a (symbolic) shape to ints."""
    if ext is None:
        return 1
    if ext[0] == "const":
        return int(ext[1])
    names = [i.name for i in k.inputs] + [o.name for o in k.outputs]
    nodes = list(step.inputs) + list(step.outputs)
    return concrete(nodes[names.index(ext[0])].shape)[ext[1]]


def init_value(op: str, dtype: np.dtype) -> str:
    """The identity of reduction ``op`` as typed source text: 0 for sums, -inf/+inf (the
    dtype's least/greatest integer) for max/min; for bool, max is "any" (starts False) and min
    is "all" (starts True)."""
    dtype = np.dtype(dtype)
    if op in ("sum", "mean"):
        return const_literal(0, dtype)
    if dtype == np.bool_:
        return "False" if op == "max" else "True"
    if dtype.kind == "f":
        return const_literal(-np.inf if op == "max" else np.inf, dtype)
    info = np.iinfo(dtype)
    return const_literal(info.min if op == "max" else info.max, dtype)


def accumulate(op: str, acc: str, v: str) -> str:
    """The statement folding ``v`` into the accumulator ``acc`` (NaN-propagating max/min)."""
    return f"{acc} += {v}" if op in ("sum", "mean") else f"{acc} = sg_{op}({acc}, {v})"


def const_literal(value: float, dtype: np.dtype) -> str:
    """Source text creating a typed constant (``np.float32(0.5)``; ``inf``/``nan`` spelled)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return "True" if value else "False"
    if dtype.kind == "f":
        v = float(value)
        txt = "np.inf" if v == np.inf else "-np.inf" if v == -np.inf else \
            "np.nan" if v != v else repr(v)
        return f"np.{dtype.name}({txt})"
    return f"np.{dtype.name}({int(value)})"
