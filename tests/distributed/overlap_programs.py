"""Programs that ``test_overlap.py`` runs under ``mpiexec -n N``: ``python overlap_programs.py
CASE``: the static mode's gradient buckets overlapping the backward, and allgather's gradient.
A rank prints ``OK <case> rank <r>`` when its checks pass."""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpi_programs import OPTIMIZERS, check, init_weights, static_model, static_train  # noqa: E402


def _bucket_structure(hvd: object) -> None:
    """With a 64-byte threshold the MLP's gradients (w2: 72 bytes, b1: 24, w0: 120, in the order
    the backward produces them) form two buckets, [w2] and [b1, w0]; bucket 0's allreduce starts
    before the gradient of w0 (the first layer) is computed, in graph order (the reference
    executor's) and in the compiled plan's steps; every wait comes after all the starts and
    before the apply."""
    from staticgraph.compiler.cpu.executor import NumbaExecutor

    g, x, y, ws, loss, train, _, _ = static_model("sgd", hvd)
    ops = g.get_operations()
    starts = [op for op in ops if op.type == "HorovodAllreduceStart"]
    waits = [op for op in ops if op.type == "HorovodAllreduceWait"]
    shapes = [[tuple(t.aval.shape) for t in op.inputs] for op in starts]
    assert shapes == [[(6, 3)], [(6,), (5, 6)]], shapes
    assert len(waits) == 2 and [w.inputs[0].op for w in waits] == starts
    grad_w0 = starts[1].inputs[1]
    assert starts[0]._id < grad_w0.op._id, "bucket 0 starts after the first layer's gradient"
    assert max(op._id for op in starts) < min(op._id for op in waits)

    steps = NumbaExecutor().prepare(g, [loss], [train], [x, y]).steps
    assert steps is not None, "the compiled executor fell back to the reference executor"
    kinds = [s[1].type if s[0] == "host" else "stage" for s in steps]
    where = {s[1]: i for i, s in enumerate(steps) if s[0] == "host"}
    computes_w0 = [i for i, s in enumerate(steps) if s[0] == "stage" and grad_w0 in s[1]]
    assert computes_w0 and where[starts[0]] < computes_w0[0] < where[starts[1]], kinds
    assert where[starts[1]] < where[waits[0]] < where[waits[1]], kinds
    applies = [i for i, s in enumerate(steps) if s[0] == "stage" and s[2]]
    assert applies and applies[-1] > where[waits[1]], kinds


def buckets_case(executor: str) -> None:
    """Two buckets per step (``$STATICGRAPH_FUSION_THRESHOLD=64``, set by the test): the plan
    overlaps them with the backward, and 2 ranks on half of every batch still end with the
    weights of one process on the whole batch."""
    import staticgraph.distributed as hvd

    hvd.init(timeout=30)
    assert hvd.size() > 1 and os.environ.get("STATICGRAPH_FUSION_THRESHOLD") == "64"
    _bucket_structure(hvd)
    for name in OPTIMIZERS:
        start, got = static_train(name, executor, hvd, buckets=2)
        check(start, init_weights(1), f"buckets {executor} broadcast")
        _, want = static_train(name, "reference", None)
        check(got, want, f"buckets {executor} {name}")
    # a wrapped optimizer that returns new gradient tensors: they are reduced after the walk
    # (w0: 120 bytes, then b1 + w2: 96), the buckets started during the walk never run
    _, got = static_train("sgd-doubled", executor, hvd, buckets=2)
    _, want = static_train("sgd", "reference", None)
    check(got, want, f"buckets {executor} doubled gradients")
    print(f"OK buckets-{executor} rank {hvd.rank()}", flush=True)


def _rank_rows(r: int) -> np.ndarray:
    """Rank ``r``'s rows: ``r + 1`` of them, so the ranks' first dimensions differ."""
    return np.random.RandomState(10 + r).randn(r + 1, 2).astype(np.float32)


def allgather_grad_case(executor: str) -> None:
    """loss = sum(c * allgather(v)**2), v this rank's (r + 1, 2) variable: the gradient of v is
    Horovod's, the sum over ranks of the cotangent 2 c allgather(v), at this rank's rows."""
    import staticgraph as tf
    import staticgraph.distributed as hvd

    hvd.init(timeout=30)
    rank, size = hvd.rank(), hvd.size()
    every = np.concatenate([_rank_rows(r) for r in range(size)])
    c = np.arange(every.size, dtype=np.float32).reshape(every.shape) + 1
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(_rank_rows(rank))
        gathered = hvd.allgather(v)
        loss = tf.reduce_sum(tf.constant(c) * tf.square(gathered))
        (dv,) = tf.gradients(loss, [v])
        with tf.Session(graph=g, executor=executor) as sess:
            sess.run(tf.global_variables_initializer())
            got_gathered, got_dv = sess.run([gathered, dv])
    begin = sum(r + 1 for r in range(rank))
    want = size * 2 * c[begin:begin + rank + 1] * _rank_rows(rank)
    assert np.allclose(got_gathered, every), (got_gathered, every)
    assert got_dv.shape == (rank + 1, 2) and np.allclose(got_dv, want, rtol=1e-5), (got_dv, want)
    print(f"OK allgather-grad-{executor} rank {rank}", flush=True)


def eager_allgather_grad_case(_: str) -> None:
    """torch.distributed.nn.functional.all_gather: loss = sum_k c_k * outs[k]**2 on every rank,
    so the gradient of this rank's x is PyTorch's reduce-scatter of the cotangents: size * 2 *
    c_r * x_r; and all_reduce's gradient is the summed cotangent."""
    import dynamic as torch
    import dynamic.distributed as dist
    import dynamic.distributed.nn as dist_nn

    dist.init_process_group("mpi")
    rank, size = dist.get_rank(), dist.get_world_size()
    xs = [np.random.RandomState(20 + r).randn(2, 3).astype(np.float32) for r in range(size)]
    cs = [np.full((2, 3), k + 1.0, np.float32) for k in range(size)]
    x = torch.tensor(xs[rank], requires_grad=True)
    outs = dist_nn.functional.all_gather(x)
    assert len(outs) == size and all(np.allclose(o.detach().numpy(), xs[k])
                                     for k, o in enumerate(outs))
    loss = sum(((torch.tensor(cs[k]) * outs[k] ** 2).sum() for k in range(size)), torch.zeros(()))
    loss.backward()
    want = size * 2 * cs[rank] * xs[rank]
    assert np.allclose(x.grad.numpy(), want, rtol=1e-5), (x.grad.numpy(), want)
    z = torch.tensor(xs[rank], requires_grad=True)
    (dist_nn.functional.all_reduce(z) * torch.tensor(cs[rank])).sum().backward()
    assert np.allclose(z.grad.numpy(), sum(cs)), z.grad
    dist.destroy_process_group()
    print(f"OK eager-allgather-grad-torch rank {rank}", flush=True)


if __name__ == "__main__":
    kind, executor = sys.argv[1].rsplit("-", 1)
    {"buckets": buckets_case, "allgather-grad": allgather_grad_case,
     "eager-allgather-grad": eager_allgather_grad_case}[kind](executor)
