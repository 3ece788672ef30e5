"""PyTorch's ``F.one_hot``: int64 rows with a 1 at each class label, as one registry op.

Eager ``one_hot`` used to build its result with numpy outside the registry, so a
``dynamic.compile`` capture met a tensor made from traced values it could not record and ran
the call eagerly (a graph break). As a record it is one graph node: the compiler runs its numpy
kernel, which checks the labels as PyTorch does (``Class values must be non-negative.``,
``Class values must be smaller than num_classes.``); in a compiled call a rejected label makes
the call run eagerly, which raises that error at the user's line. Its result is integer: no
gradient. (TF1's ``tf.one_hot``, with ``on_value``/``off_value``/``axis``/``dtype``, stays a
composite of ``equal`` and ``where`` in ``staticgraph.graph.array_ops``: it drops labels out of
range, as TF does.)
"""

from __future__ import annotations

import numpy as np

from .core import INT64, AVal, Op, bind, register


def one_hot(labels, num_classes: int):
    """``out[..., c] = labels[...] == c`` as int64, for ``num_classes`` classes (``>= 0``)."""
    return bind(ONE_HOT, labels, num_classes=int(num_classes))


def _kernel(labels: np.ndarray, num_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.size:
        if labels.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if labels.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    return (labels[..., None] == np.arange(num_classes)).astype(np.int64)


def _infer(labels: AVal, num_classes: int) -> tuple:
    if labels.dtype != INT64:
        raise ValueError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes < 0:
        raise ValueError(f"num_classes should be non-negative, got {num_classes}")
    shape = None if labels.shape is None else (*labels.shape, num_classes)
    return shape, INT64


ONE_HOT = register(Op(
    name="one_hot", impl=_kernel, infer=_infer, nin=1, kind="other", tf_name="OneHot",
    input_names=("indices",), fresh_output=True, tf_differentiable=False))
