"""A :class:`~.plan.CudaPlan` bound to concrete feed shapes: device buffers allocated once
(intermediate slots, escape pools, feed staging, reduction partials, constants) and the per-run
walk over the plan's steps, launching one CUDA kernel (or two: partial + combine) per step."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ...graph.errors import FailedPreconditionError, InvalidArgumentError
from ...ops.core import REGISTRY, eval_numpy
from ..fusion import empty_reduction_error
from ..ir import Node
from ..kernel import Kernel, extent, row_args
from ..passes.shapes import bind_dims
from .device import TILE, dshape, grid, nchunk
from .kernels import ROW_VALUES, matmul_kernel, row_arguments, row_kernel


def uninitialized(v: Any) -> FailedPreconditionError:
    return FailedPreconditionError(None, v.op, f"Attempting to use uninitialized value "
                                   f"{v.op.name}")


def bad_argument(msg: str) -> InvalidArgumentError:
    """A kernel's error: the executor reports the reference's error naming the op instead."""
    return InvalidArgumentError(None, None, msg)


def host_fallback(n: Node, args: list[np.ndarray]) -> np.ndarray:
    """A step no CUDA kernel covers: the registry's numpy kernel on host copies."""
    out = np.asarray(eval_numpy(REGISTRY[n.op], args, dict(n.params)))
    return out if out.dtype == n.dtype else out.astype(n.dtype)


class CudaInstance:
    """A plan bound to feed shapes: its device buffers, kept across runs, and :meth:`run`."""

    def __init__(self, plan: Any, feed_shapes: tuple) -> None:
        """``plan``: a :class:`~.plan.CudaPlan`."""
        from numba import cuda

        self.cuda, self.plan, self.lock = cuda, plan, threading.Lock()
        self.concrete = bind_dims(plan.prog, feed_shapes)  # raises if fed sizes disagree
        self.empty_error = empty_reduction_error(plan.steps, self.concrete)
        mem = plan.mem
        self.pools: dict[int, list] = {}
        self.buffers: list = []
        for sl, (shape, dt) in enumerate(mem.slots):
            buf = cuda.device_array(dshape(self.concrete(shape)), dt)
            self.buffers.append(buf)
            if sl in mem.escape:
                self.pools[sl] = [buf]
        self.feeds = {f.id: cuda.device_array(dshape(self.concrete(f.shape)), f.dtype)
                      for f in plan.prog.feeds}
        self.consts: dict[int, Any] = {}
        self.launch: dict[int, tuple] = {}  # kernel step -> (nchunk, kept, partial buffers)
        for si, s in enumerate(plan.steps):
            if s.kind == "kernel" and s.kernel.reductions:
                k: Kernel = s.kernel
                ext = [self._extent(e, k, s) for e in k.extents]
                red = set(k.reduced_dims)
                kept = int(np.prod([e for d, e in enumerate(ext) if d not in red]))
                rtot = int(np.prod([e for d, e in enumerate(ext) if d in red]))
                nc = nchunk(kept, rtot)
                parts = [cuda.device_array(max(nc * kept, 1), r.dtype) for r in k.reductions]
                self.launch[si] = (nc, kept, parts)
            elif s.kind == "kernel":
                ext = [self._extent(e, s.kernel, s) for e in s.kernel.extents]
                self.launch[si] = (1, int(np.prod(ext)), [])
        self.rowloss = {}
        self.err = None
        for si, s in enumerate(plan.steps):
            if s.kind == "row" and s.kernel.kind == "ce_fwd":
                self.rowloss[si] = cuda.device_array(
                    max(self.concrete(s.inputs[0].shape)[0], 1), s.kernel.dtype)
            if s.kind == "row" and s.kernel.kind in ("ce_fwd", "ce_bwd") and self.err is None:
                self.err = cuda.device_array(1, np.int32)  # a bad target (both read labels)

    def _extent(self, ext: Any, k: Kernel, step: Any) -> int:
        return extent(ext, k, step, self.concrete)

    # ------------------------------------------------------------------------------ run
    def run(self, F: list, state: Any, devvars: dict) -> list:
        cuda, plan, prog = self.cuda, self.plan, self.plan.prog
        if self.empty_error is not None:  # a max/min over an empty axis, as numpy raises
            raise bad_argument(self.empty_error)
        S = getattr(state, "view", state)
        held = {id(d) for _, d in devvars.values()}
        for sl, pool in self.pools.items():  # never write into a variable's device copy
            if id(self.buffers[sl]) in held:
                free = next((b for b in pool if id(b) not in held), None)
                if free is None:
                    free = cuda.device_array_like(self.buffers[sl])
                    pool.append(free)
                self.buffers[sl] = free
        val: dict[int, Any] = {}
        for f in prog.feeds:
            dev = self.feeds[f.id]
            dev.copy_to_device(F[f.params["index"]].reshape(dev.shape))
            val[f.id] = dev
        for v, n in prog.variables:
            try:
                host = S[v]
            except KeyError:
                raise uninitialized(v) from None
            got = devvars.get(v)
            if got is None or got[0] is not host:
                host = np.ascontiguousarray(host, n.dtype)
                got = (S[v], cuda.to_device(host.reshape(dshape(host.shape))))
                devvars[v] = got
            val[n.id] = got[1]
        if self.err is not None:
            self.err.copy_to_device(np.zeros(1, np.int32))
        for si, s in enumerate(plan.steps):
            self._step(si, s, val)
        if self.err is not None and int(self.err.copy_to_host()[0]):
            raise bad_argument("nll_loss: target out of bounds")
        outs = [self._host(n, val, S) for n in prog.outputs]
        upd = {v: self._host(n, val, S, copy=True) for v, n in prog.updates}
        if upd:
            state.commit(upd)
        for v, n in prog.updates:  # the committed array's device copy: reused next run
            sl = plan.mem.slot_of.get(n.id)
            if sl is not None and sl in plan.mem.escape:
                devvars[v] = (upd[v], val[n.id])
            else:
                devvars.pop(v, None)
        return outs

    def _host(self, n: Node, val: dict, S: Any, copy: bool = False) -> np.ndarray:
        if n.op == "feed":
            return val[n.id].copy_to_host().reshape(self.concrete(n.shape))
        if n.op == "var":
            return np.array(S[n.params["variable"]], copy=True)
        if n.op == "const" and n.id not in val:
            return np.array(n.params["value"], copy=True)
        return self._get(n, val).copy_to_host().reshape(self.concrete(n.shape))

    def _get(self, n: Node, val: dict) -> Any:
        if n.id in val:
            return val[n.id]
        if n.op == "const":
            d = self.consts.get(n.id)
            if d is None:
                c = np.ascontiguousarray(n.params["value"])
                d = self.consts[n.id] = self.cuda.to_device(c.reshape(dshape(c.shape)))
            return d
        if self.plan.skipped_view(n):  # a transposed operand read by a non-matmul step
            x = self._get(n.inputs[0], val).copy_to_host()
            t = np.ascontiguousarray(np.transpose(x, n.params["perm"]))
            val[n.id] = self.cuda.to_device(t)
            return val[n.id]
        raise RuntimeError(f"internal: value %{n.id} ({n.op}) used before it was computed")

    def _buf(self, n: Node, val: dict) -> Any:
        b = self.buffers[self.plan.mem.slot_of[n.id]]
        val[n.id] = b
        return b

    def _step(self, si: int, s: Any, val: dict) -> None:
        if s.kind == "kernel":
            fn, comb = self.plan.kernels[si]
            args = [self._get(n, val) for n in s.inputs] + [self._buf(n, val)
                                                             for n in s.outputs]
            nc, kept, parts = self.launch[si]
            if not s.kernel.reductions:
                b, t = grid(kept)
                fn[b, t](*args)
                return
            args += parts + [nc]
            b, t = grid(kept * nc)
            fn[b, t](*args)
            if nc > 1:
                b, t = grid(kept)
                comb[b, t](*args)
        elif s.kind == "row":
            self._row(si, s, val)
        elif s.kind == "dot":
            self._dot(s, val)
        elif s.kind == "view":
            n = s.nodes[0]
            if self.plan.skipped_view(n):
                return
            x = self._get(n.inputs[0], val)
            val[n.id] = x.reshape(dshape(self.concrete(n.shape)))
        else:
            n = s.nodes[0]
            args = [self._get(i, val).copy_to_host().reshape(self.concrete(i.shape))
                    for i in n.inputs]
            out = np.ascontiguousarray(host_fallback(n, args))
            val[n.id] = self.cuda.to_device(out.reshape(dshape(out.shape)))

    def _row(self, si: int, s: Any, val: dict) -> None:
        rk = s.kernel
        nodes, names = row_args(s), ROW_VALUES[rk.kind]
        nin = len(nodes) - (2 if rk.kind == "ce_fwd" else 1)  # then the outputs
        named = {p: self._get(n, val) if j < nin else self._buf(n, val)
                 for j, (p, n) in enumerate(zip(names, nodes, strict=True))}
        rows = self.concrete(nodes[1 if rk.kind == "ce_bwd" else 0].shape)[0]
        if rk.kind in ("ce_fwd", "ce_bwd"):
            if self.concrete(nodes[names.index("t")].shape)[0] != rows:
                raise bad_argument("nll_loss: target and input have different batch sizes")
        b, th = grid(rows)
        named.update(rowloss=self.rowloss.get(si), err=self.err)
        row_kernel(rk.kind, rk.dtype, rk.reduction)[b, th](*row_arguments(rk.kind, named))
        if rk.kind == "ce_fwd":
            named["rowloss"] = named["rowloss"][:rows]
            row_kernel("ce_loss", rk.dtype, rk.reduction)[1, 1](*row_arguments("ce_loss", named))

    def _dot(self, s: Any, val: dict) -> None:
        n = s.nodes[0]
        ops, flags = [], []
        for i in n.inputs:
            if self.plan.skipped_view(i) and i.id not in val:
                ops.append(self._get(i.inputs[0], val))
                flags.append(1)
            else:
                ops.append(self._get(i, val))
                flags.append(0)
        c = self._buf(n, val)
        m, nn = c.shape
        blocks = (max(1, -(-nn // TILE)), max(1, -(-m // TILE)))
        matmul_kernel(n.dtype, TILE)[blocks, (TILE, TILE)](ops[0], ops[1], c, *flags)
