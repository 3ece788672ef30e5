"""Steady state of the MLP training step (256x784-512-10) on LLVM kernels against numba's, in
one process, interleaved: the whole step on each tier (``NumbaExecutor(llvm_only=True)``, the
packed call, against the default executor after its switch to numba's dispatchers), then each
kernel alone on the same arguments: the LLVM renderer's code and numba's code, both called the
same way (``ctypes``, :class:`~staticgraph.compiler.cpu.native.NativeKernel`), and numba's
dispatcher. Minimum and median per call over ``--samples`` samples (each the mean of a batch
of calls), in alternating order, so that load drifts hit both sides alike.

    python -m benchmarks.llvm_kernels [--samples 15] [--threads 1]

``--threads`` sets ``STATICGRAPH_THREADS`` (1: one BLAS thread, no ``prange``: the kernels'
code alone, no thread effects).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable


def _graph() -> tuple:
    import numpy as np

    import staticgraph as tf

    rng = np.random.default_rng(0)
    n, d, h, c = 256, 784, 512, 10
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, d])
        y = tf.placeholder(tf.int64, [None])
        w1 = tf.Variable((rng.standard_normal((d, h)) * 0.05).astype(np.float32))
        w2 = tf.Variable((rng.standard_normal((h, c)) * 0.05).astype(np.float32))
        b1, b2 = tf.Variable(np.zeros(h, np.float32)), tf.Variable(np.zeros(c, np.float32))
        logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                             logits=logits))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = tf.global_variables_initializer()
    feed = {x: rng.standard_normal((n, d)).astype(np.float32), y: rng.integers(0, c, n)}
    return g, init, [loss, train], feed


def _session(g, init, fetch, feed, executor: str | None):
    import staticgraph as tf

    s = tf.Session(graph=g, executor=executor)
    s.run(init)
    s.run(fetch, feed)
    return s


def _sample(fn: Callable[[], object], n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def compare(fns: dict[str, Callable[[], object]], n: int, samples: int) -> dict[str, list]:
    """Per-call seconds of each function: ``samples`` batches of ``n`` calls, alternating."""
    for f in fns.values():
        f()
    out: dict[str, list] = {k: [] for k in fns}
    names = list(fns)
    for i in range(samples):
        for k in (names if i % 2 == 0 else names[::-1]):
            out[k].append(_sample(fns[k], n))
    return out


def _line(label: str, res: dict[str, list], base: str) -> str:
    parts = []
    for k, v in res.items():
        r = sorted(a / b for a, b in zip(v, res[base], strict=True))
        parts.append(f"{k} {min(v) * 1e6:8.1f} / {statistics.median(v) * 1e6:8.1f} us"
                     + (f" ({statistics.median(r):.2f}x [{r[0]:.2f}, {r[-1]:.2f}])"
                        if k != base else ""))
    return f"{label:34s} " + "   ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=15)
    ap.add_argument("--threads", default="", help="STATICGRAPH_THREADS for this run")
    a = ap.parse_args(argv)
    if a.threads:
        os.environ["STATICGRAPH_THREADS"] = a.threads
    import numpy as np

    from staticgraph.compiler import block_until_ready
    from staticgraph.compiler.cpu.executor import NumbaExecutor
    from staticgraph.executor import EXECUTORS

    EXECUTORS.setdefault("numba-llvm", lambda: NumbaExecutor(llvm_only=True))
    g, init, fetch, feed = _graph()
    s_llvm = _session(g, init, fetch, feed, "numba-llvm")
    s_numba = _session(g, init, fetch, feed, None)
    block_until_ready()
    inst = {k: next(i for i in s._executor.instances() if i.plan.kernel_list)
            for k, s in (("llvm", s_llvm), ("numba", s_numba))}
    print(f"tiers: llvm session {inst['llvm'].tier}, numba session {inst['numba'].tier} "
          f"(small driver: {inst['numba'].small}); BLAS threads "
          f"{inst['numba'].policy.blas if inst['numba'].policy else '?'}")
    res = compare({"numba": lambda: s_numba.run(fetch, feed),
                   "llvm": lambda: s_llvm.run(fetch, feed)}, 10, a.samples)
    print("min / median per call; ratio llvm/numba: median [min, max] of the pairs")
    print(_line("whole step (Session.run)", res, "numba"))
    # each kernel on the arguments the numba session's driver passes it
    plan = inst["numba"].plan
    disp = inst["numba"].call.__globals__["K"]
    seen: dict[int, tuple] = {}

    def spy(i: int, f: Callable) -> Callable:
        def call(*args: np.ndarray) -> None:
            seen[i] = args
            f(*args)
        return call

    ns = inst["numba"].call.__globals__
    ns["K"] = [spy(i, f) for i, f in enumerate(disp)]
    s_numba.run(fetch, feed)
    ns["K"] = disp
    for i, ck in enumerate(plan.kernel_list):
        args = seen.get(i)
        if args is None:
            continue
        llvm, nat = ck.llvm(), ck.native()
        fns = {"numba": lambda d=disp[i], a=args: d(*a)}
        if nat is not None:
            fns["numba-ctypes"] = lambda k=nat, a=args: k(*a)
        if llvm is not None:
            fns["llvm-ctypes"] = lambda k=llvm, a=args: k(*a)
        k = ck.step.kernel
        label = f"k{i} {type(k).__name__[:3]} {getattr(k, 'kind', '')}" + \
                f"{'x'.join(str(x) for x in args[0].shape)}"
        res = compare(fns, 20, a.samples)
        print(_line(label, res, "numba"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
