"""Per-run cost of the native tier's calls against numba's dispatchers, side by side: the seed
graph ``(x+w)*(w+1)`` with both gradients (one kernel) and the MLP training step
(256x784-512-10), ``Session.run`` in a fresh process per mode and round, the modes interleaved:

* ``numba``: after the switch to numba's dispatchers (``block_until_ready``);
* ``packed``: native kernels, stretches of LLVM kernels in one ``sg_seq`` call
  (``STATICGRAPH_NATIVE=always``);
* ``plain``: native kernels, one ``ctypes`` call each (``STATICGRAPH_PACKED=0`` too).

    python -m benchmarks.native_call --rounds 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

_PROGRAM = """
import sys, time, numpy as np
import staticgraph as tf
from staticgraph.compiler import block_until_ready
which, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
g = tf.Graph()
with g.as_default():
    if which == "seed":
        x = tf.placeholder(tf.float32, [None])
        w = tf.Variable(np.ones(8, np.float32))
        y = (x + w) * (w + 1.0)
        fetch = [y] + tf.gradients(tf.reduce_sum(y), [x, w])
        feed = {x: rng.standard_normal(8).astype(np.float32)}
    else:
        N, D, H, C = 256, 784, 512, 10
        x = tf.placeholder(tf.float32, [None, D])
        y_ = tf.placeholder(tf.int64, [None])
        w1 = tf.Variable((rng.standard_normal((D, H)) * 0.05).astype(np.float32))
        w2 = tf.Variable((rng.standard_normal((H, C)) * 0.05).astype(np.float32))
        b1, b2 = tf.Variable(np.zeros(H, np.float32)), tf.Variable(np.zeros(C, np.float32))
        logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y_, logits=logits))
        fetch = [loss, tf.train.GradientDescentOptimizer(0.1).minimize(loss)]
        feed = {x: rng.standard_normal((N, D)).astype(np.float32),
                y_: rng.integers(0, C, N)}
    init = tf.global_variables_initializer()
s = tf.Session(graph=g)
s.run(init)
s.run(fetch, feed)
block_until_ready()
inst = next(i for i in s._executor.instances() if i.plan.kernel_list)
best = float("inf")
for _ in range(7):
    t = time.perf_counter()
    for _ in range(n):
        s.run(fetch, feed)
    best = min(best, (time.perf_counter() - t) / n)
print("US", best * 1e6, inst.tier, "seq0(" in getattr(inst, "call_source", ""))
"""
MODES = {"numba": {}, "packed": {"STATICGRAPH_NATIVE": "always"},
         "plain": {"STATICGRAPH_NATIVE": "always", "STATICGRAPH_PACKED": "0"}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args(argv)
    base = {k: v for k, v in os.environ.items() if not k.startswith("STATICGRAPH_")}
    with tempfile.TemporaryDirectory() as cache:
        base["STATICGRAPH_CACHE_DIR"] = cache
        res: dict = {}
        for rnd in range(a.rounds):
            for w, n in (("seed", 2000), ("mlp-step", 20)):
                for m, extra in MODES.items():
                    r = subprocess.run([sys.executable, "-c", _PROGRAM, w, str(n)],
                                       env=dict(base, **extra), capture_output=True, text=True,
                                       timeout=900)
                    if r.returncode:
                        raise RuntimeError(r.stderr[-2000:])
                    _, us, tier, packed = next(ln for ln in r.stdout.splitlines()
                                               if ln.startswith("US ")).split()
                    res.setdefault((w, m), []).append(float(us))
                    print(f"round {rnd + 1} {w:8s} {m:6s} {float(us):10.2f} us  tier={tier} "
                          f"packed={packed}", flush=True)
    print("\nmin per Session.run over 7 samples, per round; ratio to numba in the same round")
    for w in ("seed", "mlp-step"):
        for m in MODES:
            v = res[(w, m)]
            ratios = [x / y for x, y in zip(v, res[(w, "numba")], strict=True)]
            print(f"  {w:8s} {m:6s} " + " ".join(f"{x:9.2f}" for x in v) + "   x numba: " +
                  " ".join(f"{r:.2f}" for r in ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
