"""The tracing frontend: while a capture (:mod:`.capture`) is active on this thread, every
registry op runs through :class:`TraceFrontend`, which defers it (:mod:`.deferred`) or runs it
eagerly and adds the same op to the capture's graph."""

from __future__ import annotations

import sys
import threading

import numpy as np

from staticgraph.ops import Op

from .._frontend import Frontend
from .._frontend import apply as eager_apply
from .._tensor import Tensor
from ..autograd.graph import SAVED_HOOKS
from .deferred import defer_op
from .pending import RAW, PendingTensor
from .traced_array import ACTIVE


class TraceFrontend:
    """The eager frontend, plus a graph node per op while a capture is active on this thread."""

    priority = Frontend.priority

    @staticmethod
    def apply(op: Op, args: tuple, params: dict) -> Tensor:
        cap = ACTIVE[0]
        if cap is None or cap.thread != threading.get_ident() or cap.reasons or cap.handled:
            return eager_apply(op, args, params)
        RAW[0] += 1  # shapes and bindings only: a pending write stays pending
        prof = sys.getprofile()  # binding tensors and building graph nodes run no user code:
        sys.setprofile(None)  # unwatched, ~10x cheaper (EffectWatch's profile sees every call)
        try:
            for a in args:  # meet new tensors before the eager op's autograd node saves
                if isinstance(a, Tensor) and type(a) is not PendingTensor \
                        and type(a._data) is np.ndarray:  # their arrays: no entry copy
                    cap.graph_tensor(a)
            if cap.deferred is not None and cap.deferred.on:
                out = defer_op(cap, op, args, params)
                if out is not None:
                    return out
        finally:
            sys.setprofile(prof)
            RAW[0] -= 1
        prof = None if SAVED_HOOKS else sys.getprofile()  # (saved-tensor hooks are user code)
        if prof is not None:  # an op runs no user code: unwatched it is several times cheaper
            sys.setprofile(None)
        try:
            out = eager_apply(op, args, params)
            if not cap.reasons and not cap.handled:
                cap.node(op, args, params, out)
        finally:
            if prof is not None:
                sys.setprofile(prof)
        return out


TRACER = TraceFrontend()
EAGER = Tensor.__sg_frontend__
