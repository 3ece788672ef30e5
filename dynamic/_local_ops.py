"""Eager-only op records (a leaf: it imports only the shared registry).

``clone``/``contiguous`` copy a tensor's memory, which the static graph never needs; every math
op (rounding, ``//``, ``%``, ``erf``, ``all``/``any`` included) is a registry op of
``staticgraph.ops`` that both modes share.
"""

from __future__ import annotations

import numpy as np

from staticgraph.ops import Op

CLONE = Op(name="clone", impl=lambda x: np.array(x, copy=True), infer=lambda x: (x.shape, x.dtype),
           vjp=lambda g, out, x: (g,), grad_name="CloneBackward0", jvp="linear")

CONTIGUOUS = Op(name="contiguous", impl=lambda x: np.array(x, copy=True, order="C"),
                infer=lambda x: (x.shape, x.dtype), vjp=lambda g, out, x: (g,),
                grad_name="CloneBackward0", jvp="linear")
