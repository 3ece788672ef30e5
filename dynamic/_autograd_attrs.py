"""The autograd-facing attributes of ``Tensor``: ``requires_grad``, ``is_leaf``, ``grad``,
``grad_fn``, ``retain_grad``, ``register_hook``, ``detach`` and ``backward``."""

from __future__ import annotations

import warnings
import weakref
from typing import Any

from ._tensor import Tensor, make
from .autograd.engine import CAPTURE_HOOK, _lean, _unwatched
from .autograd.engine import backward as engine_backward
from .autograd.grad_mode import INFERENCE, is_inference_tensor, mark_inference
from .autograd.graph import HOOKED, AccumulateGrad, RemovableHandle, _add_hook, new_accumulator


class AutogradAttrs:
    """Attached to ``Tensor`` (whose slots hold ``_requires_grad``, ``_grad_fn``, ``_grad``...)."""

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        if requires_grad and not INFERENCE[0] and is_inference_tensor(self):
            raise RuntimeError("Setting requires_grad=True on inference tensor outside "
                               "InferenceMode is not allowed.")
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def grad_fn(self) -> Any:
        return self._grad_fn

    @property
    def grad(self) -> Any | None:
        if self._grad_fn is not None and not self._retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed "
                "want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() "
                "on the non-leaf Tensor.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError("assigned grad has data of a different size")
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def _version(self) -> int:
        """How many in-place writes this storage has seen (shared by views and ``detach()``)."""
        return self._vc[0]

    # ---------------------------------------------------------------------- autograd API
    def _accumulator(self) -> AccumulateGrad:
        r = self._acc
        acc = r() if r is not None else None
        if acc is None:
            acc = new_accumulator(self)
            self._acc = weakref.ref(acc)
        return acc

    def detach(self) -> Any:
        """Same storage and version counter, no history."""
        t = make(self._data, version=self._vc)
        return mark_inference(t) if is_inference_tensor(self) else t

    def detach_(self) -> Any:
        self._grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return
        self._retains_grad = True
        HOOKED[0] = True
        fn = self._grad_fn
        if fn._retain is None:
            fn._retain = {}
        fn._retain[self._output_nr] = weakref.ref(self)

    def register_hook(self, hook: Any) -> Any:
        """``hook(grad)`` runs when this tensor's gradient is computed; a non-None return value
        replaces the gradient. Returns a handle with ``remove()``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        fn = self._grad_fn
        if fn is None:
            return _add_hook(self, "_hooks", hook)
        if fn._tensor_hooks is None:
            fn._tensor_hooks = {}
        return _add_hook_nr(fn._tensor_hooks, self._output_nr, hook)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        # ``autograd.backward``'s common call, its checks in its order, one call less
        if gradient is None and not create_graph and inputs is None and CAPTURE_HOOK[0] is None \
                and _unwatched() and _lean(self, None, False if retain_graph is None
                                           else retain_graph, True) is not None:
            return
        engine_backward([self], None if gradient is None else [gradient], retain_graph,
                        create_graph, inputs=inputs)


def _add_hook_nr(table: dict, nr: int, hook: Any) -> Any:
    HOOKED[0] = True
    d = table.get(nr)
    if d is None:
        d = table[nr] = {}
    h = RemovableHandle(d)
    d[h.id] = hook
    return h
