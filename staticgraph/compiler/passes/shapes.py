"""Shape specialization: feed dims become symbols (or 1 where the feed signature says size 1) and
every shape is re-inferred, so later passes can prove shapes equal.

before: x:(?, 10) feed, s = sum_to_like(g:(?, 10), x)   =>   after: x:(N0, 10), g:(N0, 10), and
``sum_to_like`` is recognisably an identity. Symbols compare by identity. A dim that a registry
rule computes but cannot write in symbols (a partial slice or a concatenation of a symbolic dim,
``reshape(-1)``) becomes a :class:`Derived` symbol: the rule's answer on the inputs' concrete
shapes, computed when the plan is bound to feed shapes (:func:`bind_dims`). No ``None`` dim
survives the pass.
"""

from __future__ import annotations

from collections.abc import Callable

from ...graph.errors import InvalidArgumentError
from ...ops.core import AVal, Op
from ..ir import Node, Program


class Sym:
    """An unknown but fixed dimension (a feed's dim): equal only to itself."""

    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label


class Derived(Sym):
    """Dim ``axis`` of ``node``'s value: its registry rule applied to the concrete shapes of
    the node's inputs (bound feed shapes). Unlike a feed symbol it may be 1 or 0 at run time."""

    __slots__ = ("node", "axis")

    def __init__(self, node: Node, axis: int) -> None:
        super().__init__(f"D{node.id}_{axis}")
        self.node, self.axis = node, axis


def run(prog: Program, ctx) -> int:
    changed = _assign_symbols(prog, ctx)
    for _ in range(4):  # unify symbols that broadcasting/matmul prove equal, then re-infer
        subst = _unify(prog)
        if not subst:
            break
        changed += _apply(prog, subst)
    return changed


def _later(a: Sym, b: Sym, pos: dict) -> bool:
    """Whether ``a`` should be replaced by ``b``: derived symbols give way to feed symbols, and
    a later node's derived symbol to an earlier one's (so evaluation never loops)."""
    if not isinstance(a, Derived):
        return False
    if not isinstance(b, Derived):
        return True
    return pos.get(a.node.id, -1) > pos.get(b.node.id, -1)


def _unify(prog: Program) -> dict:
    """Sym -> int or Sym, from elementwise broadcasting (a feed symbol is never 1: the feed
    signature says which dims are 1) and the dims an op's rule requires equal
    (``Op.equal_dims``: matmul inner dims, nll_loss rows = targets, the kept dims of a
    concatenation). Binding checks that the fed sizes agree (:func:`bind_dims`); a
    replaced :class:`Derived` symbol is recorded in ``prog.dim_checks`` for that check."""
    subst: dict[int, object] = {}
    syms: dict[int, Sym] = {}
    pos = {n.id: i for i, n in enumerate(prog.nodes)}

    def find(d):
        while isinstance(d, Sym) and id(d) in subst:
            d = subst[id(d)]
        return d

    def eq(a, b) -> None:
        a, b = find(a), find(b)
        if a is b or a is None or b is None or a == 1 or b == 1:
            return
        if isinstance(a, Sym) and isinstance(b, Sym):
            victim, keep = (b, a) if _later(b, a, pos) else (a, b)
        elif isinstance(a, Sym) or isinstance(b, Sym):
            victim, keep = (a, b) if isinstance(a, Sym) else (b, a)
        else:
            return
        subst[id(victim)] = keep
        syms[id(victim)] = victim

    for n in prog.nodes:
        od = n.opdef
        if od is None:
            continue
        if _broadcasts_together(od):
            shapes = [i.shape for i in n.inputs] + [n.shape]
            nd = max(len(s) for s in shapes)
            for k in range(1, nd + 1):
                dims = [s[-k] for s in shapes if len(s) >= k]
                for d in dims[1:]:
                    eq(dims[0], d)
        elif od.equal_dims is not None:  # matmul's inner dims, nll_loss's rows = targets...
            for a, b in od.equal_dims(n.shape, *(i.shape for i in n.inputs), **n.params):
                eq(a, b)
    out = {k: find(v) for k, v in subst.items()}
    prog.dim_checks += [(syms[k], v) for k, v in out.items() if isinstance(syms[k], Derived)]
    return out


def _broadcasts_together(od: Op) -> bool:
    """Whether the inputs and the output of ``od`` broadcast together (numpy's rules):
    elementwise ops, and broadcasts or reductions to a reference input's shape
    (``broadcast_like``, ``sum_to_like``; ``broadcast_to``'s shape is a parameter, which may
    hold dims no feed determines)."""
    return od.kind == "elementwise" or \
        od.shape_ref is not None and (od.broadcasting or bool(od.reduce))


def _apply(prog: Program, subst: dict) -> int:
    def sub(d):
        return subst.get(id(d), d) if isinstance(d, Sym) else d

    prog.dim_checks = [(d, sub(t)) for d, t in prog.dim_checks]
    changed = 0
    for n in prog.nodes:
        shape = tuple(sub(d) for d in n.shape)
        if shape != n.shape:
            n.shape = shape
            changed += 1
    for n in prog.nodes:
        od = n.opdef
        if od is None:  # feeds, variables, constants
            continue
        shape = infer_shape(n)
        shape = n.shape if shape is None else shape
        if len(shape) == n.ndim:  # a dim the rule no longer knows keeps its symbol
            shape = tuple(old if new is None and isinstance(old, Sym) else new
                          for new, old in zip(shape, n.shape, strict=True))
        shape = tuple(Derived(n, ax) if d is None else d for ax, d in enumerate(shape))
        if shape != n.shape:
            n.shape = shape
            changed += 1
    return changed


def _assign_symbols(prog: Program, ctx) -> int:
    changed = 0
    prog.dim_checks = []
    for f in prog.feeds:
        pat = ctx.feed_patterns[f.params["index"]]
        shape = tuple(1 if p == 1 else (d if d is not None else Sym(f"N{f.params['index']}_{a}"))
                      for a, (d, p) in enumerate(zip(f.shape, pat, strict=True)))
        if shape != f.shape:
            f.shape = shape
            changed += 1
    return changed + _apply(prog, {})


def infer_shape(n: Node) -> tuple | None:
    od = n.opdef
    avals = [AVal(i.shape, i.dtype) for i in n.inputs]
    try:
        shape, _ = od.infer(*avals, **n.params)
        return tuple(shape)
    except Exception:
        plain = [AVal(tuple(None if isinstance(d, Sym) else d for d in a.shape), a.dtype)
                 for a in avals]
        try:
            shape, _ = od.infer(*plain, **n.params)
            return tuple(shape)
        except Exception:
            return None


def is_static(shape: tuple) -> bool:
    return all(isinstance(d, int) for d in shape)


def bind_dims(prog: Program, feed_shapes: tuple) -> Callable[[tuple], tuple]:
    """``concrete(shape) -> ints`` for ``prog`` bound to ``feed_shapes``: feed symbols take the
    fed sizes (a symbol shared by feeds must get one size), :class:`Derived` symbols are
    computed from their nodes' rules (memoized), and every equality shape specialization
    assumed of a derived or fed dim is checked. Raises :class:`InvalidArgumentError` naming the
    feed or node at fault."""
    env: dict[int, int] = {}
    checks = list(getattr(prog, "dim_checks", ()))
    for f in prog.feeds:
        for ax, dim in enumerate(f.shape):
            size = int(feed_shapes[f.params["index"]][ax])
            if isinstance(dim, Derived):
                checks.append((dim, size))
            elif isinstance(dim, Sym) and env.setdefault(id(dim), size) != size or \
                    not isinstance(dim, Sym) and size != dim:
                other = env[id(dim)] if isinstance(dim, Sym) else dim
                raise InvalidArgumentError(
                    None, None, f"feed '{f.name}' has size {size} in dimension {ax}, "
                    f"but the graph needs size {other} there (another feed or an operand)")
    busy: set[int] = set()

    def dim(d) -> int:
        if not isinstance(d, Sym):
            if d is None:
                raise InvalidArgumentError(None, None, "internal: a dimension no feed "
                                           "determines reached a bound plan")
            return int(d)
        v = env.get(id(d))
        if v is not None:
            return v
        if not isinstance(d, Derived) or id(d) in busy:
            raise InvalidArgumentError(None, None, f"internal: symbol {d} has no size")
        busy.add(id(d))
        env[id(d)] = v = _evaluate(d, concrete)
        return v

    def concrete(shape: tuple) -> tuple:
        return tuple(dim(d) for d in shape)

    for d, other in checks:
        a, b = dim(d), dim(other)
        if a != b:
            n = d.node
            cls = UnitDimError if 1 in (a, b) else InvalidArgumentError
            raise cls(None, None, f"'{n.name}' ({n.op}) has size {a} in dimension {d.axis}, "
                      f"but the graph uses it where size {b} is needed (fed shapes disagree)")
    return concrete


class UnitDimError(InvalidArgumentError):
    """A dim the plan assumed equal to another (a :class:`Derived` one, e.g. ``x[1:]``) is 1
    at run time where the other is not. Broadcasting may make that valid (``x[1:] + e`` with
    2 and 3 rows: numpy and TF1 broadcast the one row), but the plan's kernels index the dim
    as full, so these feed shapes cannot be bound; the executors run them on the reference
    executor instead (``Plan.instance``), which answers or names the op at fault."""


def _evaluate(d: Derived, concrete: Callable[[tuple], tuple]) -> int:
    n = d.node
    try:
        shape, _ = n.opdef.infer(*(AVal(concrete(i.shape), i.dtype) for i in n.inputs),
                                 **n.params)
        v = shape[d.axis]
    except InvalidArgumentError:
        raise
    except Exception as e:
        raise InvalidArgumentError(None, None, f"'{n.name}' ({n.op}): {e}") from e
    if v is None:
        raise InvalidArgumentError(None, None, f"'{n.name}' ({n.op}): the size of dimension "
                                   f"{d.axis} depends on values, not on the fed shapes")
    return int(v)
