"""Gradients of the TensorArray ops (registered in ``gradients.CUSTOM_GRADIENTS``).

The cotangent of a TensorArray is a list of the elements' cotangents (:mod:`.graph.
tensor_array_ops`): ``read(i)`` sends its cotangent to element ``i``; ``write(i, v)`` sends
element ``i``'s cotangent to ``v`` and clears it; ``stack``/``unstack`` turn a tensor's
cotangent into a list's and back. The gradient ops are TensorArray ops too, with their own
gradients, so second derivatives through TensorArrays work as well.
"""

from __future__ import annotations

from collections.abc import Callable

from .control_flow_grad import _cot, _give
from .gradients import CUSTOM_GRADIENTS
from .graph.core import Operation, Tensor
from .graph.tensor_array_ops import array_op


def _emit(op: Operation, kind: str, inputs: list, like: Tensor | None) -> Tensor:
    """A TensorArray op with ``op``'s dtype/element shape; a value like ``like`` (a list when
    ``None``)."""
    return array_op(kind, inputs, op.host, None if like is None else like.aval,
                    f"{op.name.rsplit('/', 1)[-1]}_grad")


def _grad(rule: Callable[[Operation, Tensor], list]) -> Callable:
    """A CUSTOM_GRADIENTS entry from ``rule(op, g) -> [input cotangent or None]``."""
    def fn(op: Operation, grads: dict, between: set, stops: set, wanted: set) -> None:
        g = _cot(op.outputs[0], grads, stops)
        if g is None:
            return
        for x, gx in zip(op.inputs, rule(op, g), strict=True):
            _give(x, gx, grads, between, wanted)
    return fn


_RULES: dict[str, Callable[[Operation, Tensor], list]] = {
    # forward ops
    "TensorArrayWrite": lambda op, g: [_emit(op, "clear", [g, op.inputs[1]], None), None,
                                       _emit(op, "grad_at", [g, op.inputs[1], op.inputs[2]],
                                             op.inputs[2])],
    "TensorArrayRead": lambda op, g: [_emit(op, "one_hot", [op.inputs[1], g], None), None],
    "TensorArrayStack": lambda op, g: [_emit(op, "rows", [g], None)],
    "TensorArrayUnstack": lambda op, g: [_emit(op, "clear_rows", [g, op.inputs[1]], None),
                                         _emit(op, "grad_rows", [g, op.inputs[1]],
                                               op.inputs[1])],
    # gradient ops (for second derivatives)
    "TensorArrayAdd": lambda op, g: [g, g],
    "TensorArrayClear": lambda op, g: [_emit(op, "clear", [g, op.inputs[1]], None), None],
    "TensorArrayGradAt": lambda op, g: [_emit(op, "one_hot", [op.inputs[1], g], None), None,
                                        None],
    "TensorArrayOneHot": lambda op, g: [None, _emit(op, "grad_at", [g, op.inputs[0],
                                                                    op.inputs[1]],
                                                    op.inputs[1])],
    "TensorArrayRows": lambda op, g: [_emit(op, "grad_rows", [g, op.inputs[0]], op.inputs[0])],
    "TensorArrayGradRows": lambda op, g: [_emit(op, "rows", [g], None), None],
    "TensorArrayClearRows": lambda op, g: [_emit(op, "clear_rows", [g, op.inputs[1]], None),
                                           None],
    # a loop's gathered rows: (index stack, row cotangent stack) <-> list cotangent
    "TensorArrayScatterList": lambda op, g: [None, _stack(op, "gather_list",
                                                          [g, op.inputs[0], op.inputs[1]])],
    "TensorArrayGatherList": lambda op, g: [_stack(op, "scatter_list", [op.inputs[1], g]),
                                            None, None],
}


def _stack(op: Operation, kind: str, inputs: list) -> Tensor:
    """A list-valued gradient op (its value is a TensorList or a Stack: opaque either way)."""
    return _emit(op, kind, inputs, None)

for _kind, _rule in _RULES.items():
    CUSTOM_GRADIENTS[_kind] = _grad(_rule)
for _kind in ("TensorArrayNew", "TensorArraySize", "TensorArrayEmpty"):
    CUSTOM_GRADIENTS[_kind] = lambda *a: None

__all__: list[str] = []
