"""Programs that ``test_mpi.py`` runs under ``mpiexec -n N``: ``python mpi_programs.py CASE``.

Each rank starts from its own random weights, broadcasts rank 0's, trains on its 1/N of every
batch, and checks that it ends with the weights one process gets training rank 0's initial
weights on the whole batches (computed here too, without MPI). A rank prints ``OK <case>`` when
its checks pass.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

STEPS, BATCH, DIN, HID, DOUT = 4, 8, 5, 6, 3
OPTIMIZERS = ("sgd", "momentum", "adam")


def data() -> list[tuple[np.ndarray, np.ndarray]]:
    rs = np.random.RandomState(123)
    return [(rs.randn(BATCH, DIN).astype(np.float32), rs.randn(BATCH, DOUT).astype(np.float32))
            for _ in range(STEPS)]


def init_weights(seed: int) -> list[np.ndarray]:
    rs = np.random.RandomState(seed)
    return [rs.randn(DIN, HID).astype(np.float32) * 0.5, rs.randn(HID).astype(np.float32) * 0.1,
            rs.randn(HID, DOUT).astype(np.float32) * 0.5]


def shard(a: np.ndarray, rank: int, size: int) -> np.ndarray:
    n = len(a) // size
    return a[rank * n:(rank + 1) * n]


def check(got: list, want: list, what: str) -> None:
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        if not np.allclose(g, w, rtol=2e-5, atol=2e-6):
            raise AssertionError(f"{what}: weight {k} differs by {np.abs(g - w).max():g}")


# ----------------------------------------------------------------------------- static mode
def static_model(opt_name: str, hvd: object | None) -> tuple:
    """The 2-layer MLP, its loss and train op on a new graph: ``(graph, x, y, weights, loss,
    train, init, broadcast or None)``; each rank starts from its own weights."""
    import staticgraph as tf

    rank = hvd.rank() if hvd else 0
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, DIN])
        y = tf.placeholder(tf.float32, [None, DOUT])
        ws = [tf.Variable(w) for w in init_weights(rank + 1 if hvd else 1)]
        h = tf.tanh(tf.matmul(x, ws[0]) + ws[1])
        loss = tf.reduce_mean(tf.square(tf.matmul(h, ws[2]) - y))
        opt = {"sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
               "sgd-doubled": lambda: _doubled_sgd(tf),
               "momentum": lambda: tf.train.MomentumOptimizer(0.1, 0.9),
               "adam": lambda: tf.train.AdamOptimizer(0.05)}[opt_name]()
        if hvd:
            opt = hvd.DistributedOptimizer(opt)
        train = opt.minimize(loss)
        init = tf.global_variables_initializer()
        bcast = hvd.broadcast_global_variables(0) if hvd else None
    return g, x, y, ws, loss, train, init, bcast


def _doubled_sgd(tf: object) -> object:
    """SGD at half the rate on twice the gradients: SGD(0.1) with gradients that are new
    tensors made after the backward (a wrapped optimizer that changes them)."""

    class DoubledGradients(tf.train.GradientDescentOptimizer):
        def compute_gradients(self, *args: object, **kwargs: object) -> list:
            gv = super().compute_gradients(*args, **kwargs)
            return [(None if g is None else g * 2.0, v) for g, v in gv]

    return DoubledGradients(0.05)


def static_train(opt_name: str, executor: str, hvd: object | None,
                 buckets: int = 1) -> tuple[list, list]:
    """Train the MLP; with ``hvd``, check that each step makes ``buckets`` MPI allreduces."""
    import staticgraph as tf

    rank, size = (hvd.rank(), hvd.size()) if hvd else (0, 1)
    g, x, y, ws, loss, train, init, bcast = static_model(opt_name, hvd)
    with tf.Session(graph=g, executor=executor) as sess:
        sess.run(init)
        if bcast is not None:
            sess.run(bcast)
        start = sess.run(ws)
        calls = _mpi_calls()
        for xb, yb in data():
            sess.run([loss, train], {x: shard(xb, rank, size), y: shard(yb, rank, size)})
        if hvd:  # tensor fusion: the 3 gradients go in `buckets` MPI allreduces per step
            assert _mpi_calls() - calls == STEPS * buckets, (_mpi_calls() - calls, STEPS)
        return start, sess.run(ws)


def _mpi_calls() -> int:
    from staticgraph.distributed import world as W

    return W.world().calls if W.initialized() else 0


def static_case(executor: str) -> None:
    import staticgraph.distributed as hvd

    hvd.init(timeout=30)
    for name in OPTIMIZERS:
        start, got = static_train(name, executor, hvd)
        check(start, init_weights(1), f"static {executor} broadcast")
        _, want = static_train(name, "reference", None)
        check(got, want, f"static {executor} {name}")
    print(f"OK static-{executor} rank {hvd.rank()}", flush=True)


# ------------------------------------------------------------------------------ eager mode
def eager_train(opt_name: str, dist: object | None) -> tuple[list, list]:
    import dynamic as torch
    from dynamic.nn.parallel import DistributedDataParallel as DDP

    rank, size = (dist.get_rank(), dist.get_world_size()) if dist else (0, 1)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = init_weights(rank + 1 if dist else 1)
            self.w1, self.b1, self.w2 = (torch.nn.Parameter(torch.tensor(a)) for a in w)

        def forward(self, x: object) -> object:
            return torch.tanh(x @ self.w1 + self.b1) @ self.w2

    net = Net()
    model = DDP(net, bucket_cap_mb=0.0001) if dist else net  # several buckets
    opt = {"sgd": lambda p: torch.optim.SGD(p, lr=0.1),
           "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
           "adam": lambda p: torch.optim.Adam(p, lr=0.05)}[opt_name](list(model.parameters()))
    start = [p.detach().numpy().copy() for p in net.parameters()]
    for xb, yb in data():
        opt.zero_grad()
        out = model(torch.tensor(shard(xb, rank, size)))
        loss = ((out - torch.tensor(shard(yb, rank, size))) ** 2).mean()
        loss.backward()
        opt.step()
    return start, [p.detach().numpy().copy() for p in net.parameters()]


def eager_case() -> None:
    import dynamic as torch
    import dynamic.distributed as dist

    dist.init_process_group(backend="mpi")
    rank, size = dist.get_rank(), dist.get_world_size()
    t = torch.tensor(np.array([1.0, rank + 2.0], np.float32))
    dist.all_reduce(t)
    assert np.allclose(t.numpy(), [size, sum(r + 2.0 for r in range(size))]), t
    m = torch.tensor(np.array([rank], np.float32))
    dist.all_reduce(m, op=dist.ReduceOp.MAX)
    assert m.item() == size - 1
    b = torch.tensor(np.full(2, rank, np.float64))
    dist.broadcast(b, src=size - 1)
    assert (b.numpy() == size - 1).all()
    outs = [torch.zeros(2) for _ in range(size)]
    dist.all_gather(outs, torch.tensor(np.full(2, rank, np.float32)))
    assert [o.numpy()[0] for o in outs] == list(range(size))
    dist.barrier()
    for name in OPTIMIZERS:
        start, got = eager_train(name, dist)
        check(start, init_weights(1), "eager broadcast")
        _, want = eager_train(name, None)
        check(got, want, f"eager {name}")
    dist.destroy_process_group()
    print(f"OK eager rank {rank}", flush=True)


# ---------------------------------------------------------------------------------- faults
def fail_case(how: str) -> None:
    """Rank 1 fails (``raise``: an exception; ``kill``: SIGKILL) while rank 0 waits in an
    allreduce; ``skip``: rank 1 never calls it (rank 0 must time out)."""
    import staticgraph.distributed.world as W

    w = W.init(timeout=5)
    if w.rank == 1:
        if how == "raise":
            raise RuntimeError("rank 1 failed on purpose")
        if how == "kill":
            os.kill(os.getpid(), 9)
        time.sleep(60)  # skip: alive, but never joins the collective
        return
    W.allreduce(w, [np.ones(3)], "sum")
    print("rank 0 returned from the allreduce", flush=True)


def single_case() -> None:
    """Without mpiexec: a world of one, where every collective is the identity."""
    import dynamic as torch
    import dynamic.distributed as dist
    import staticgraph as tf
    import staticgraph.distributed as hvd

    hvd.init()
    assert (hvd.rank(), hvd.size(), hvd.local_rank(), hvd.local_size()) == (0, 1, 0, 1)
    x = tf.constant(np.arange(3, dtype=np.float32))
    with tf.Session() as sess:
        got = sess.run([hvd.allreduce(x), hvd.allgather(x), hvd.broadcast(x, 0)])
    assert all(np.array_equal(g, np.arange(3)) for g in got), got
    dist.init_process_group("mpi")
    t = torch.ones(2)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert dist.get_world_size() == 1 and t.numpy().tolist() == [1.0, 1.0]
    print("OK single", flush=True)


if __name__ == "__main__":
    case = sys.argv[1]
    if case == "single":
        single_case()
    elif case.startswith("static-"):
        static_case(case.split("-", 1)[1])
    elif case == "eager":
        eager_case()
    else:
        fail_case(case.split("-", 1)[1])
