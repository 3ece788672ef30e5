"""``sgbench --ranks N``: data-parallel training steps under MPI, both modes, 1 rank against N.

Weak scaling, as Horovod reports it: every rank trains an MLP on its own batch of ``--batch``
rows per step (so N ranks process N times the rows); the static mode uses
``hvd.DistributedOptimizer`` on the compiled executor, the eager mode
``DistributedDataParallel``. Each rank runs with one thread. Reported per mode and rank count:
the step time (the slowest rank's mean), the throughput in rows/s, the scaling efficiency
``t(1 rank) / t(N ranks)`` (1.0: perfect) and the share of the step spent waiting in allreduce.

Run directly: ``python -m benchmarks.distributed --ranks 2 [--steps S] [--batch B]
[--hidden H] [--mode static,eager]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .runner import thread_env

DIN, DOUT = 64, 10


def _data(rank: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    rs = np.random.RandomState(rank)
    return rs.randn(batch, DIN).astype(np.float32), rs.randn(batch, DOUT).astype(np.float32)


def _weights(hidden: int) -> list[np.ndarray]:
    rs = np.random.RandomState(0)
    return [(rs.randn(DIN, hidden) * 0.1).astype(np.float32), np.zeros(hidden, np.float32),
            (rs.randn(hidden, hidden) * 0.1).astype(np.float32), np.zeros(hidden, np.float32),
            (rs.randn(hidden, DOUT) * 0.1).astype(np.float32)]


def _static_step(w: Any, batch: int, hidden: int) -> Any:
    import staticgraph as tf
    import staticgraph.distributed as hvd

    hvd.init()
    x = tf.placeholder(tf.float32, [None, DIN])
    y = tf.placeholder(tf.float32, [None, DOUT])
    v = [tf.Variable(a) for a in _weights(hidden)]
    h = tf.nn.relu(tf.matmul(x, v[0]) + v[1])
    h = tf.nn.relu(tf.matmul(h, v[2]) + v[3])
    loss = tf.reduce_mean(tf.square(tf.matmul(h, v[4]) - y))
    train = hvd.DistributedOptimizer(tf.train.MomentumOptimizer(0.01, 0.9)).minimize(loss)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    sess.run(hvd.broadcast_global_variables(0))
    xb, yb = _data(w.rank, batch)
    return lambda: sess.run([loss, train], {x: xb, y: yb})


def _eager_step(w: Any, batch: int, hidden: int) -> Any:
    import dynamic as torch
    import dynamic.distributed as dist
    from dynamic.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")
    net = torch.nn.Sequential(torch.nn.Linear(DIN, hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, DOUT))
    model = DistributedDataParallel(net)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xb, yb = (torch.tensor(t) for t in _data(w.rank, batch))

    def step() -> None:
        opt.zero_grad()
        loss = ((model(xb) - yb) ** 2).mean()
        loss.backward()
        opt.step()
    return step


def worker(mode: str, steps: int, batch: int, hidden: int) -> None:
    """One rank's part: warm up, time ``steps`` steps, rank 0 prints a JSON line."""
    from staticgraph.distributed import world as W

    w = W.init()
    step = (_static_step if mode == "static" else _eager_step)(w, batch, hidden)
    for _ in range(3):
        step()
    W.barrier(w)
    comm0 = w.comm_seconds
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    per_step = (time.perf_counter() - t0) / steps
    comm = (w.comm_seconds - comm0) / steps
    slowest = W.allreduce(w, [np.array([per_step, comm])], "max")[0]
    if w.rank == 0:
        print(json.dumps({"mode": mode, "ranks": w.size, "step_s": float(slowest[0]),
                          "comm_s": float(slowest[1]), "rows": batch * w.size}), flush=True)


def _mpiexec() -> str:
    local = Path(sys.executable).with_name("mpiexec")
    return str(local) if local.exists() else "mpiexec"


def run(ranks: int, modes: list[str], steps: int, batch: int, hidden: int,
        timeout: float = 600) -> list[dict]:
    """Launch the workers for 1 and ``ranks`` ranks per mode; their JSON records."""
    env = dict(os.environ, **thread_env(1))
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    out = []
    for mode in modes:
        for n in sorted({1, ranks}):
            cmd = [_mpiexec(), "-n", str(n), sys.executable, "-m", "benchmarks.distributed",
                   "--worker", mode, "--steps", str(steps), "--batch", str(batch),
                   "--hidden", str(hidden)]
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
            lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
            if p.returncode != 0 or not lines:
                raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
            out.append(json.loads(lines[-1]))
    return out


def table(records: list[dict]) -> str:
    base = {r["mode"]: r["step_s"] for r in records if r["ranks"] == 1}
    lines = [f"{'mode':<7} {'ranks':>5} {'step ms':>9} {'rows/s':>9} {'efficiency':>10} "
             f"{'allreduce wait':>14}"]
    for r in records:
        eff = base[r["mode"]] / r["step_s"]
        lines.append(f"{r['mode']:<7} {r['ranks']:>5} {r['step_s'] * 1e3:>9.2f} "
                     f"{r['rows'] / r['step_s']:>9.0f} {eff:>10.2f} "
                     f"{r['comm_s'] / r['step_s']:>13.0%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="sgbench --ranks", description=__doc__.split("\n\n")[0])
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch", type=int, default=256, help="rows per rank per step")
    p.add_argument("--hidden", type=int, default=256, help="MLP width")
    p.add_argument("--mode", default="static,eager")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        worker(a.worker, a.steps, a.batch, a.hidden)
        return 0
    from staticgraph.distributed.world import load_mpi

    try:
        load_mpi()
    except ImportError as e:
        print(f"sgbench --ranks: {e}", file=sys.stderr)
        return 2
    records = run(a.ranks, [m.strip() for m in a.mode.split(",") if m.strip()], a.steps,
                  a.batch, a.hidden)
    print(f"weak scaling: {a.batch} rows per rank per step, MLP {DIN}-{a.hidden}-{a.hidden}-"
          f"{DOUT}, {a.steps} timed steps, 1 thread per rank, {os.cpu_count()} CPUs")
    print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
