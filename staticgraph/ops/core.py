"""The op record, the dispatcher and the type/shape rules shared by every op.

An op is defined once, as an :class:`Op` record. Public op functions (``ops.mul``, ``ops.sum``,
...) call :func:`bind`, which looks at the argument types:

* if any argument is a *frontend* value (a ``dynamic.Tensor``, a ``staticgraph`` graph tensor),
  the frontend with the highest ``priority`` handles the call (eager execution and taping, or
  adding a node to a graph);
* otherwise the op's numpy kernel runs on the arrays directly.

Because VJP rules are written with the same public op functions, one rule computes gradients
eagerly on tensors and builds symbolic gradient nodes in a graph.

A frontend is any object with ``priority: int`` and ``apply(op, args, params)``; a value type
opts in with a class attribute ``__sg_frontend__`` pointing at it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Shape = tuple  # tuple[int | None, ...]; ``None`` is an unknown dimension (static graphs only)

DEFAULT_FLOAT = np.dtype(np.float32)
BOOL, INT64, FLOAT32, FLOAT64 = (np.dtype(t) for t in (np.bool_, np.int64, np.float32, np.float64))


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive: everything both modes and the compiler need to know about it.

    * ``impl(*arrays, **params) -> ndarray``: the numpy kernel (inputs already cast by the caller
      to :meth:`compute_dtype`).
    * ``infer(*avals, **params) -> (shape, dtype)``: the shape/dtype rule on abstract values
      (:class:`AVal`); unknown dims are ``None``. Raises ``ValueError`` for incompatible inputs.
    * ``vjp(g, out, *inputs, **params) -> tuple``: one cotangent per input (``None`` where there
      is none), written with public op functions. Only inputs listed in ``saves`` (and ``out`` if
      ``"out"`` is listed) may be read for their *values*; the others may be shape-only stand-ins.
      The walker, not the rule, un-broadcasts and accumulates.
    * ``saved_for``: per input, the inputs whose cotangents read its saved value (``None``: all).
      The eager mode checks a saved input's version counter (PyTorch's in-place error) only
      when one of those needs a gradient, as PyTorch saves ``self`` of ``x * y`` only when
      ``y`` requires grad: ``mul``/``div``/``matmul`` declare it.
    * ``scalar``: for elementwise ops, a Python-expression template over ``{0}``, ``{1}``... used by
      fused code generation; names like ``sg_exp`` come from the backend's scalar library.
    * ``grad_name``: PyTorch's ``grad_fn`` class name, or a function ``(args, params) -> name``.

    Facts the walkers, the static frontend and the compiler read (docs/ops.md, "Op facts"); each
    default is the safe choice for a new op:

    * ``vjp_exact``: the VJP returns every cotangent in its input's exact shape, unknown dims
      included, so the walkers never un-broadcast it (:func:`unbroadcast_needed`).
    * ``tf_differentiable``: ``False`` where TF registers no gradient although the VJP rule
      exists (floor, ceil, round: PyTorch's zero gradient). ``tf.gradients`` stops there.
    * ``input_names``: TF's input names (error messages, ``<op>/<name>`` constants).
    * ``same_dtype``: inputs TF requires to share one dtype: ``"auto"`` (all inputs of an
      elementwise op, none of others), ``"all"`` (a list input: cat, stack) or their indices.
    * ``shape_ref``: the input whose shape the output takes and whose values are never read
      (``sum_to_like(g, ref)``: 1, ``zeros_like(x)``: 0).
    * ``reduce``: the fusable reduction it is (``sum``, ``mean``, ``max``, ``min``).
    * ``reshaping``: the output is input 0's elements in the same order, reshaped (a free view
      of a contiguous buffer; a write through it reshapes back).
    * ``fresh_output``: the kernel always returns a new array, never a view of an input.
    * ``shape_only``: the inputs read only for their shape, never for their values (their dtype
      only where the ``infer`` rule's dtype follows it): indices, or ``"rest"`` for every input
      after the first (``cat_slice``).
    * ``fill``: the constant every element of the output holds (``ones_like``: 1), in the shape
      and dtype of input ``shape_ref``.
    * ``broadcasting``: the output is input 0 broadcast (numpy's rules) to input ``shape_ref``'s
      shape, or without ``shape_ref`` to the shape a parameter gives.
    * ``equal_dims(out_shape, *in_shapes, **params) -> [(dim, dim), ...]``: dims the ``infer``
      rule requires equal beyond elementwise broadcasting (matmul's inner dims).

    * ``at_rank(params, *avals) -> params``: for a node built on inputs of unknown rank
      (``AVal.shape is None``, static graphs only), whose public function could not normalize
      its axes: the parameters for inputs of these known ranks (negative axes made
      non-negative, rank-dependent defaults filled in). Raises ``IndexError``/``ValueError``
      when they do not fit those ranks; returns normalized parameters unchanged. ``None``: the
      parameters do not depend on the rank. Executors call it once the ranks are known
      (:func:`at_rank`).

    ``np_vjp(g, out, needs, *inputs, **params) -> tuple`` (optional) is the same rule as ``vjp``
    on plain ndarrays, for the eager engine's backward without ``create_graph``: ``needs[i]``
    says whether input ``i`` wants a cotangent (return ``None`` for the others: no dX GEMM).
    Unsaved inputs arrive as :class:`AVal` (shape and dtype only). It is called only when ``g``
    and every array input share one float dtype, and must compute what ``vjp`` computes, op for
    op, so both paths give bit-identical gradients (``tests/dynamic/test_fast_backward.py``).
    ``np_vjp_owned`` (optional): ``np_vjp`` for a ``g`` the engine owns outright (a fresh,
    writeable, C-contiguous cotangent no buffer, tensor or hook shares): it may write one
    cotangent into ``g`` and return ``g`` (the same bits; one memory stream less per pass).
    ``vjp_needs``: the symbolic ``vjp`` also takes ``needs=`` (keyword; the same per-input flags
    ``np_vjp`` gets) and returns ``None`` for an input that wants no cotangent, so the symbolic
    walker (``gradients()``) builds no node nobody reads (the dX of ``X @ W`` for an input ``X``).
    Called without it, the rule returns every cotangent (the eager ``create_graph`` path, JVPs).
    ``jvp(tangents, out, *inputs, **params) -> tangent`` (forward mode, ``ops/forward.py``), or
    the way to derive it: ``"linear"``, ``"multilinear"``, ``"diagonal"``, ``"reduction"``.
    """

    name: str
    impl: Callable[..., Any]
    infer: Callable[..., tuple]
    vjp: Callable[..., tuple] | None = None
    kind: str = "other"  # elementwise | reduce | shape | matmul | index | nn | creation | other
    scalar: str | None = None  # template: '{0}', '{1}' inputs, '{p[name]}' params
    grad_name: str | Callable[..., str] = ""
    saves: tuple = ()
    saved_for: tuple | None = None
    nin: int | None = 1  # None: variadic
    dtype_rule: str = "promote"  # promote | float | bool | keep (see elementwise_infer)
    tf_name: str = ""  # TF1 node-name stem, e.g. "MatMul"
    vjp_exact: bool = False
    tf_differentiable: bool = True
    input_names: tuple[str, ...] = ("x", "y", "z")
    same_dtype: tuple[int, ...] | str = "auto"
    shape_ref: int | None = None
    reduce: str = ""
    reshaping: bool = False
    fresh_output: bool = False
    shape_only: tuple[int, ...] | str = ()
    fill: float | None = None
    broadcasting: bool = False
    equal_dims: Callable[..., list] | None = None
    np_vjp: Callable[..., tuple] | None = None
    np_vjp_owned: Callable[..., tuple] | None = None
    vjp_needs: bool = False
    at_rank: Callable[..., dict] | None = None
    jvp: Callable[..., Any] | str | None = None

    @property
    def differentiable(self) -> bool:
        return self.vjp is not None

    def shape_inputs(self, n_inputs: int) -> tuple[int, ...]:
        """The positions of the inputs read only for their shape (``shape_only`` resolved for
        ``n_inputs`` inputs)."""
        if self.shape_only == "rest":
            return tuple(range(1, n_inputs))
        return tuple(self.shape_only)

    def backward_name(self, args: Sequence[Any], params: dict) -> str:
        gn = self.grad_name
        return gn(args, params) if callable(gn) else (gn or _camel(self.name) + "Backward0")

    def __repr__(self) -> str:
        return f"Op({self.name})"


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_"))


REGISTRY: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Add ``op`` to the registry (names are unique)."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} registered twice")
    REGISTRY[op.name] = op
    return op


# ----------------------------------------------------------------------------------- dispatch
def frontend_of(args: Sequence[Any]):
    """The highest-priority frontend among ``args`` (``None`` when all are plain values)."""
    fe = None
    for a in args:
        f = getattr(type(a), "__sg_frontend__", None)
        if f is not None and (fe is None or f.priority > fe.priority):
            fe = f
    return fe


def bind(op: Op, *args: Any, **params: Any) -> Any:
    """Apply ``op``: via the arguments' frontend if any, else the numpy kernel."""
    fe = frontend_of(args)
    if fe is not None:
        return fe.apply(op, args, params)
    return eval_numpy(op, args, params)


def eval_numpy(op: Op, args: Sequence[Any], params: dict) -> np.ndarray:
    """Run ``op``'s kernel on plain values (arrays, numpy or Python scalars). A numpy scalar is
    data of its own dtype here, as in numpy (``np.float64`` subclasses ``float``, and taken as
    a Python number it became float32: ``ops.tanh(ops.log1p(x))`` of a 0-d float64 lost half
    its digits, since numpy returns a 0-d result as a scalar)."""
    args = [np.asarray(a) if isinstance(a, np.generic) else a for a in args]
    avals = [aval_of(a) for a in args]
    shape, dtype = op.infer(*avals, **params)
    cdt = compute_dtype(op, avals, dtype)
    sdt = cdt if cdt is not None or op.dtype_rule != "where" else dtype
    arrays = [to_array(a, sdt) if isinstance(a, (bool, int, float)) else to_array(a, cdt)
              for a in args]
    out = op.impl(*arrays, **params)
    out = np.asarray(out)
    if out.dtype != dtype:
        out = out.astype(dtype)
    return out


def to_array(a: Any, dtype: np.dtype | None) -> Any:
    """A kernel argument: arrays keep their dtype unless ``dtype`` (elementwise compute) is set."""
    if isinstance(a, (bool, int, float)):
        return np.asarray(a, dtype=dtype if dtype is not None else None)
    if dtype is not None and isinstance(a, np.ndarray) and a.dtype != dtype:
        return a.astype(dtype)
    return a


def compute_dtype(op: Op, avals: Sequence[AVal], out_dtype: np.dtype) -> np.dtype | None:
    """The dtype elementwise inputs are cast to before the kernel runs (None: no cast)."""
    if op.kind != "elementwise" or op.dtype_rule in ("where", "keep"):
        return None
    if op.dtype_rule == "bool":  # comparisons compute in the promoted input type
        return result_type(*avals)
    return out_dtype


# ------------------------------------------------------------------------------ abstract values
@dataclass(frozen=True)
class AVal:
    """An abstract value: shape (``None`` dims allowed), dtype, and whether it is a *weak* Python
    scalar (which, as in PyTorch, does not raise the category's precision)."""

    shape: Shape
    dtype: np.dtype
    weak: bool = False

    @property
    def ndim(self) -> int:
        return len(self.shape)


def aval_of(x: Any) -> AVal:
    """The abstract value of a concrete or frontend value."""
    if isinstance(x, AVal):
        return x
    if isinstance(x, bool):
        return AVal((), BOOL, True)
    if isinstance(x, int):
        return AVal((), INT64, True)
    if isinstance(x, float):
        return AVal((), DEFAULT_FLOAT, True)
    av = getattr(x, "aval", None)
    if av is not None:
        return av
    a = np.asarray(x)
    return AVal(a.shape, a.dtype)


def _category(dt: np.dtype) -> int:
    return 0 if dt == BOOL else (1 if dt.kind in "iu" else 2)


def _promote(a: np.dtype | None, b: np.dtype | None) -> np.dtype | None:
    if a is None:
        return b
    if b is None:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:  # PyTorch: the higher category wins (int64 + float32 -> float32, not float64)
        return a if ca > cb else b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """PyTorch's ``combine_categories``: the lower-priority group only matters when it is of a
    higher category (bool < int < float)."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if _category(higher) == 2:
        return higher
    if higher == BOOL or _category(lower) > _category(higher):
        return _promote(higher, lower) if _category(lower) != 2 else lower
    return higher


def result_type(*xs: Any) -> np.dtype:
    """PyTorch's type promotion over tensors, 0-d tensors and (weak) Python scalars."""
    dim = zero = wrapped = None
    for x in xs:
        av = aval_of(x)
        if av.weak:
            wrapped = _promote(wrapped, av.dtype)
        elif av.ndim == 0:
            zero = _promote(zero, av.dtype)
        else:
            dim = _promote(dim, av.dtype)
    out = _combine(dim, _combine(zero, wrapped))
    return out if out is not None else DEFAULT_FLOAT


def to_float(dt: np.dtype) -> np.dtype:
    """Integer and bool types become the default float (``int_tensor.exp()`` is float32)."""
    return dt if dt.kind == "f" else DEFAULT_FLOAT


# ------------------------------------------------------------------------------------- shapes
def with_numpys_dtype(arr: np.ndarray) -> np.ndarray:
    """``arr`` (or a view of it) whose dtype is numpy's own object when one equals it. An
    unpickled array's dtype equals ``float32`` & co. but is a fresh object, which the
    executors' and ``dynamic``'s identity guards (``a.dtype is float32``) never match."""
    dt = arr.dtype
    if dt.isbuiltin == 1 or dt.names is not None or dt.subdtype is not None:
        return arr
    own = np.dtype(dt.str)
    return arr.view(own) if own.isbuiltin == 1 and own == dt else arr


def broadcast_shapes(*shapes: Shape) -> Shape:
    """NumPy broadcasting with ``None`` (unknown) dims; ``ValueError`` in PyTorch's words."""
    if len(shapes) == 1:
        return tuple(shapes[0])
    nd = max(len(s) for s in shapes)
    out = []
    for i in range(-nd, 0):
        dim = 1
        for s in shapes:
            d = s[i] if -i <= len(s) else 1
            if d == 1:
                continue
            if dim == 1:
                dim = d
            elif d is None:
                continue
            elif dim is None:
                dim = d
            elif d != dim:
                sizes = [s[i] if -i <= len(s) else 1 for s in shapes]
                raise ValueError(
                    f"The size of tensor a ({sizes[0]}) must match the size of tensor b "
                    f"({sizes[1]}) at non-singleton dimension {nd + i}"
                )
        out.append(dim)
    return tuple(out)


def normalize_dims(dims: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """Reduction dims as a sorted tuple of non-negative ints (``None``: all dims)."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, (int, np.integer)):
        dims = (int(dims),)
    out = []
    for d in dims:
        d = int(d)
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                f"{max(ndim, 1) - 1}], but got {d})"
            )
        out.append(d % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def reduced_shape(shape: Shape, dims: tuple[int, ...], keepdim: bool) -> Shape:
    if keepdim:
        return tuple(1 if i in dims else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in dims)


def numel(shape: Shape) -> int | None:
    n = 1
    for d in shape:
        if d is None:
            return None
        n *= d
    return n


def sum_to_shape(a: np.ndarray, shape: Shape) -> np.ndarray:
    """Sum ``a`` down to ``shape`` (the inverse of broadcasting): the un-broadcast step."""
    shape = tuple(shape)
    ash = a.shape
    if ash == shape:
        return a
    if a.dtype == np.float16:  # summed in float32 (as PyTorch): numpy adds outer axes in float16
        return sum_to_shape(a.astype(np.float32), shape).astype(np.float16)
    lead = len(ash) - len(shape)
    if lead == 1 and shape and ash[1:] == shape and type(a) is np.ndarray:
        return np.add.reduce(a, 0)  # a bias's gradient: ``a.sum(axis=0)`` without the wrapper
    axes = tuple(range(lead)) + tuple(
        i + lead for i, d in enumerate(shape) if d == 1 and a.shape[i + lead] != 1
    )
    out = a.sum(axis=axes, keepdims=True) if axes else a
    if lead:
        out = out.reshape(out.shape[lead:])
    return out.reshape(shape)


def unbroadcast_needed(op: Op | None, g_shape: Shape | None, x_shape: Shape | None,
                       n_inputs: int) -> bool:
    """The one un-broadcast policy of both reverse-mode walkers (the eager engine and the static
    ``gradients()``): must the cotangent that ``op``'s VJP rule returned for an input (shape
    ``g_shape``) be summed down to that input's shape ``x_shape``? Shapes may be unknown
    (``None``: unknown rank; ``None`` dims: unknown until the graph is fed).

    Rules of single-input and :attr:`Op.vjp_exact` ops return each input's exact shape, so
    never; any other cotangent is summed wherever the shapes differ or may differ. ``op`` is
    ``None`` for the backward of a user ``autograd.Function``, summed like any other (PyTorch)."""
    if op is not None and (op.vjp_exact or n_inputs == 1):
        return False
    if g_shape is None or x_shape is None:
        return True
    return tuple(g_shape) != tuple(x_shape) or None in x_shape


def params_key(params: dict) -> tuple:
    """A hashable, order-independent key for op parameters (arrays by value) for CSE/caching."""
    return tuple(sorted((k, _freeze(v)) for k, v in params.items()))


def _freeze(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return ("ndarray", v.dtype.str, v.shape, v.tobytes())
    if isinstance(v, slice):
        return ("slice", v.start, v.stop, v.step)
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, np.dtype):
        return ("dtype", v.str)
    if v is Ellipsis:
        return ("Ellipsis",)
    return v
