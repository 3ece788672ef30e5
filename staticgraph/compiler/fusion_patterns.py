"""The fusion rules that name their ops, as a pattern matcher's rules do: which step runs a node
that joins no elementwise group.

* row kernels: ``softmax``/``log_softmax`` over the rows of a float matrix, the softmax
  cross-entropy forward ``nll_loss(log_softmax(x), t)`` (its ``nll_loss`` joins the
  ``log_softmax``'s row kernel) and its gradient ``softmax_ce_grad`` (built by
  :mod:`.passes.stable`);
* ``matmul`` of float matrices through BLAS (a ``dot`` step), and a 2-D ``permute`` that only
  matmuls read as a view (a transposed operand);
* any reshaping op (``Op.reshaping``) as a view; anything else runs the registry's numpy kernel.

before: lp = log_softmax(x); l = nll_loss(lp, t) {mean}   =>   after: row step ce_fwd{lp, l}
"""

from __future__ import annotations

from .ir import Node
from .kernel import RowKernel


def _kernel_float(n: Node) -> bool:
    """A float dtype generated code can hold (numba has no float16 on the CPU: such nodes run
    the registry's numpy kernel)."""
    return n.dtype.kind == "f" and n.dtype.itemsize > 2


def _is_dot(n: Node) -> bool:
    """A float matrix product of two matrices: one BLAS ``np.dot`` step."""
    return n.op == "matmul" and n.ndim == 2 and n.inputs[0].ndim == 2 and \
        n.inputs[1].ndim == 2 and _kernel_float(n)


def own_step(n: Node, cons: dict, escapes: set) -> tuple[str, RowKernel | None]:
    """The kind of the step that runs ``n`` alone (``row``, ``dot``, ``view`` or ``fallback``)
    and its row kernel, if any."""
    if n.op in ("softmax", "log_softmax") and n.ndim == 2 and n.params["dim"] == 1 and \
            _kernel_float(n):
        return "row", RowKernel(n.op, n.op, n.dtype)
    if n.op == "softmax_ce_grad" and _kernel_float(n):
        return "row", RowKernel("ce_bwd", "ce_bwd", n.dtype, n.params["reduction"])
    if _is_dot(n):
        return "dot", None
    od = n.opdef
    if od is not None and od.reshaping:
        return "view", None
    # a transposed operand is rendered as ``x.T`` inside each consuming dot, so every consumer
    # must be a dot step (a batched or integer matmul runs its kernel on a defined value)
    if n.op == "permute" and cons.get(n.id) and n.id not in escapes and \
            all(_is_dot(c) for c in cons[n.id]) and n.ndim == 2:
        return "view", None
    return "fallback", None


def ce_forward(n: Node) -> RowKernel | None:
    """The softmax cross-entropy forward kernel when ``n`` is ``nll_loss`` (mean or sum) of a
    row-wise ``log_softmax`` of a matrix: it may join that ``log_softmax``'s row kernel (the
    fusion decides whether the row step is still plain and the target ready)."""
    if n.op != "nll_loss" or n.params["reduction"] not in ("mean", "sum") or \
            not _kernel_float(n):
        return None
    lp = n.inputs[0]
    if lp.op != "log_softmax" or lp.ndim != 2 or lp.params["dim"] != 1:
        return None
    return RowKernel("ce_fwd", "ce_fwd", n.dtype, n.params["reduction"])
