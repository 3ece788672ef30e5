"""Documented paradigm differences (docs/guarantees.md, "Conventions of the two modes' APIs")
that the PyTorch-side oracles sit out, run by run.

The static reference follows TF, the eager mode (and the ``torch`` oracle) PyTorch. Where the
two libraries answer differently on purpose at some inputs, comparing ``eager``/``torch`` with
the reference there finds the convention, not a bug. Each :class:`Rule` names the fuzz ops it
concerns, which values of a run differ (``y`` outputs, ``g``/``h`` gradients, ``w`` variables
after a step) and a test on the op's input values. The test reads the **reference's** values
of those inputs (fetched by :func:`probe_run` in the reference's own session), never the oracle
under test, so an eager bug that puts a NaN where none belongs is not excused by it; a run
where no rule fires is compared in full, as is every other oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .program import Node, Program

TORCH_SIDE = ("eager", "torch")
"""The oracles that follow PyTorch's conventions (the compile oracle is judged against the
eager twin, not the reference)."""


@dataclass(frozen=True)
class Rule:
    ops: frozenset
    kinds: str  # value kinds that differ in a run where the rule fires
    why: str
    fires: Callable[[Node, list], bool]  # (node, its arguments' reference values)
    oracles: tuple = TORCH_SIDE  # the oracles that follow the other convention


def _holds_nan(node: Node, args: list) -> bool:
    a = np.asarray(args[0])
    return a.dtype.kind == "f" and bool(np.isnan(a).any())


def _quotients_differ(node: Node, args: list) -> bool:
    """TF's ``floor(x / y)`` and PyTorch's ``floor_divide(x, y)`` (the gradient of ``remainder``
    w.r.t. a tensor ``y``) disagree somewhere: ``x = +-inf``, ``y = inf`` with ``x < 0``, or
    ``x / y`` rounding up to an integer."""
    if isinstance(node.args[1], dict):  # a Python-number divisor has no gradient
        return False
    x, y = (np.asarray(a) for a in args)
    tf_q = np.floor(x / y)
    torch_q = np.floor_divide(x, y)
    same = (tf_q == torch_q) | (np.isnan(tf_q) & np.isnan(torch_q))
    return not bool(same.all())


def _infinite(node: Node, args: list) -> bool:
    a = np.asarray(args[0])
    return a.dtype.kind == "f" and bool(np.isinf(a).any())


def _nonfinite(node: Node, args: list) -> bool:
    a = np.asarray(args[0])
    return a.dtype.kind == "f" and not bool(np.isfinite(a).all())


def _zero_vector(node: Node, args: list) -> bool:
    """Some vector ``tf.norm`` reduces has a zero sum of squares in its dtype: all zeros
    (float16 reaches it by underflow: ``sigmoid(-30)`` is 0 there, fuzz seed 102015), or
    entries whose squares underflow (float32 ``4e-27``, fuzz seed 9137: TF's composed
    ``sqrt(sum(x * x))`` is 0 there, so its gradient is NaN; PyTorch's norm is ``4e-27``)."""
    a = np.asarray(args[0])
    if a.dtype.kind != "f" or not a.size:
        return False
    with np.errstate(all="ignore"):
        return bool(((a * a) == 0).all(axis=node.p["dim"]).any())


def _atan2_origin(node: Node, args: list) -> bool:
    """``atan2(y, x)`` at ``y = x = 0`` somewhere (fuzz seed 32562: ``atan2(gather(x), x)`` where
    both read one 0; or ``x^2 + y^2`` underflows, float32 seed 52759): TF's gradient
    ``x / (x^2 + y^2)`` is NaN or inf there (as the registry's, which
    the eager mode shares), torch 2.13's 0."""
    if any(isinstance(a, dict) for a in node.args):
        return False
    y, x = (np.asarray(a) for a in args)
    try:
        with np.errstate(all="ignore"):  # squares that underflow count (seed 52759)
            return bool(((y * y + x * x) == 0).any())
    except ValueError:  # shapes that do not broadcast: the run fails on its own
        return False


def _zero_spread(node: Node, args: list) -> bool:
    """Some slice ``std`` reduces holds one value only (float16 rounds close values together;
    the generator keeps size-1 slices away, a minimized case need not: fuzz seed 110169;
    ``broadcast_to`` of a scalar: seed 9290)."""
    a = np.asarray(args[0])
    if a.dtype.kind != "f" or not a.size:
        return False
    dims = tuple(node.p["dims"])
    with np.errstate(invalid="ignore"):
        return bool((np.max(a, axis=dims) == np.min(a, axis=dims)).any())


def _float16_steps_differ(node: Node, args: list) -> bool:
    """A float16 composite (TF composes norm/attention/layer_norm/var/std of ops rounded to
    float16; PyTorch's fused kernels compute in float32) overflows or underflows into other
    NaN/inf positions than the same node in float32 (fuzz seeds 102108: ``tf.norm`` of 30s
    squares to inf, torch 900; 102074: an attention weight underflows to 0, times -inf NaN,
    torch -inf)."""
    from staticgraph import ops

    from . import composites as K
    from . import wide_forms as W
    from .ops_table import node_src

    xs = [a for a in args if isinstance(a, np.ndarray)]
    if not any(a.dtype == np.float16 for a in xs):
        return False
    src = node_src(Node(node.op, [{"c": 0.0} if isinstance(a, dict) else i
                                  for i, a in enumerate(node.args)], node.p), "np")
    outs = []
    for dt in (np.float16, np.float32):
        ns = {"ops": ops, "np": np, "K": K, "W": W, "DT": np.dtype(dt)}
        ns.update({f"v{i}": (np.asarray(a, dt) if np.asarray(a).dtype.kind == "f" else a)
                   for i, a in enumerate(args)})
        try:
            with np.errstate(all="ignore"):
                outs.append(np.asarray(eval(src, ns), np.float64))  # noqa: S307
        except Exception:  # noqa: BLE001 - no numpy form for these values: no excuse
            return False
    a, b = outs
    return a.shape == b.shape and bool(((np.isnan(a) != np.isnan(b)) |
                                        (np.isinf(a) != np.isinf(b))).any())


def _score_row_all_neg_inf(node: Node, args: list) -> bool:
    """Some row of ``q k^T`` has no entry above -inf (and no NaN): a softmax of ``-inf`` only."""
    q, k = np.asarray(args[0]), np.asarray(args[1])
    with np.errstate(all="ignore"):
        s = q @ np.swapaxes(k, -1, -2)
    if s.shape[-1] == 0:
        return False
    return bool(np.all(s == -np.inf, axis=-1).any())


RULES = (
    Rule(frozenset({"max_dim", "topk", "sort"}), "yghw",
         "a NaN in a sorted row: TF's top_k/sort place it by their algorithm (a k == 1 max skips "
         "it or not, by AVX lane), PyTorch's max/topk/sort take NaN as the largest", _holds_nan),
    Rule(frozenset({"remainder"}), "ghw",
         "remainder's d/dy: TF -floor(x / y), PyTorch -floor_divide(x, y) (differ at x = +-inf, "
         "y = inf with x < 0, x / y rounding up to an integer)", _quotients_differ),
    Rule(frozenset({"var", "std"}), "ghw",
         "var/std's gradient at an infinite input: TF's composed graph NaN throughout, "
         "PyTorch's closed form 2 (x - mean) / N (inf at the finite entries; the eager "
         "mode's ops.var too)", _infinite),
    Rule(frozenset({"floor", "ceil", "round", "trunc"}), "ghw",
         "rounding: TF registers no gradient (tf.gradients stops there), PyTorch's is zeros, "
         "and zero times the NaN/inf local derivative of an op before it is NaN (fuzz seed "
         "100020: ceil(tanh(x)) at x = NaN; torch gives the eager mode's NaN)", _nonfinite),
    Rule(frozenset({"std"}), "ghw",
         "std's gradient at zero spread: TF's composed sqrt gives NaN (0 * inf), PyTorch's "
         "std_backward 0 (and the eager mode's); the torch oracle renders std as sqrt(var), "
         "TF's form, and agrees with the reference", _zero_spread, ("eager",)),
    Rule(frozenset({"norm"}), "ghw",
         "tf.norm's gradient at a zero vector is NaN (its composed sqrt), "
         "torch.linalg.vector_norm's 0 (and the eager mode's)", _zero_vector),
    Rule(frozenset({"atan2"}), "ghw",
         "atan2's gradient at y = x = 0: TF's (and the registry's, so the eager mode's) "
         "x / (x^2 + y^2) is NaN, torch 2.13's 0", _atan2_origin, ("torch",)),
    Rule(frozenset({"norm", "layer_norm"}), "yghw",
         "float16 composites: TF composes these of float16 ops (a square of 300 overflows), "
         "PyTorch's fused kernels and the eager mode's compute in float32 (dynamic/linalg.py "
         "vector_norm, nn/norm.py opmath)", _float16_steps_differ),
    Rule(frozenset({"sdpa", "var", "std"}), "yghw",
         "float16 composites: TF composes these of float16 ops (an attention weight underflows "
         "to 0), PyTorch's fused kernels compute in float32", _float16_steps_differ, ("torch",)),
    Rule(frozenset({"sdpa"}), "yghw",
         "attention whose scores are all -inf in a row: torch's fused CPU kernel writes 0 (its "
         "math path, e.g. under an all-False mask, and TF's softmax give NaN, as does the eager "
         "mode)", _score_row_all_neg_inf, ("torch",)),
)


def probed(prog: Program) -> list[tuple[Node, Rule]]:
    """The program's nodes some rule concerns."""
    return [(n, r) for n in prog.nodes for r in RULES if n.op in r.ops]


def probe_run(prog: Program, fetch_args: Callable[[Node], list]) -> dict[str, str]:
    """Oracle -> the value kinds that differ in one run (absent: none), given the reference's
    argument values of a node (``fetch_args``)."""
    out: dict[str, str] = {}
    for node, rule in probed(prog):
        if rule.fires(node, fetch_args(node)):
            for o in rule.oracles:
                out[o] = "".join(sorted(set(out.get(o, "") + rule.kinds)))
    return out


def merge(a: dict[str, str], b: dict[str, str]) -> dict[str, str]:
    return {o: "".join(sorted(set(a.get(o, "") + b.get(o, "")))) for o in {*a, *b}}


def sat_out(prog: Program, paradigm: dict[int, dict], oracle: str, k: int) -> str:
    """The value kinds of run ``k`` that ``oracle`` sits out (``paradigm``: the reference's
    :func:`probe_run` per run). With an optimizer step, a run whose gradients differ moves the
    variables differently: every value of it and of the runs after it differs."""
    if not prog.train:
        return paradigm.get(k, {}).get(oracle, "")
    hit = any(paradigm.get(j, {}).get(oracle) for j in range(k + 1))
    return "yghw" if hit else ""
