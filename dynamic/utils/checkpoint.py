"""Activation checkpointing: keep only a segment's inputs and recompute it during backward.

``checkpoint(fn, *args)`` runs ``fn`` without recording, so none of its intermediates are saved;
the backward node re-runs ``fn`` with grad enabled (restoring the random state) and
back-propagates through the recomputed graph (the reentrant variant of PyTorch's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _random
from .._tensor import Tensor
from ..autograd.engine import backward
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad


class CheckpointFunction(Function):
    @staticmethod
    def forward(ctx: Any, run_function: Callable, preserve_rng_state: bool, *args: Any) -> Any:
        ctx.run_function = run_function
        ctx.rng_state = _random._GEN[0].bit_generator.state if preserve_rng_state else None
        ctx.tensor_idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.others = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*[args[i] for i in ctx.tensor_idx])
        return run_function(*args)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        args = list(ctx.others)
        detached = []
        for i, t in zip(ctx.tensor_idx, ctx.saved_tensors, strict=False):
            d = t.detach()
            d._requires_grad = t._requires_grad
            args[i] = d
            detached.append(d)
        gen = _random._GEN[0]
        state = gen.bit_generator.state
        if ctx.rng_state is not None:
            gen.bit_generator.state = ctx.rng_state
        try:
            with enable_grad():
                outputs = ctx.run_function(*args)
        finally:
            gen.bit_generator.state = state
        outs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outs, grads, strict=False)
                 if isinstance(o, Tensor) and o._requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not "
                               "necessary")
        backward([o for o, _ in pairs], [g for _, g in pairs])
        res = [None] * len(args)
        for i, d in zip(ctx.tensor_idx, detached, strict=False):
            res[i] = d._grad if d._requires_grad else None
        return (None, None, *res)


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None,
               preserve_rng_state: bool = True, **kwargs: Any) -> Any:
    """Run ``function(*args)`` saving only ``args`` for backward; recompute it in backward."""
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    return CheckpointFunction.apply(function, preserve_rng_state, *args)


def checkpoint_sequential(functions: Any, segments: int, input: Any, **kwargs: Any) -> Any:  # noqa: A002
    """Split a ``Sequential`` (or list of callables) into ``segments`` checkpointed chunks."""
    fns = list(functions)
    size = max(1, -(-len(fns) // segments))
    for start in range(0, len(fns), size):
        chunk = fns[start:start + size]

        def run(x: Any, chunk: list = chunk) -> Any:
            for f in chunk:
                x = f(x)
            return x

        input = checkpoint(run, input)  # noqa: A001
    return input
