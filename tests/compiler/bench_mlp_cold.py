"""Time to first result of the MLP 256x784x512x10 training step in this process (not a test).

Cold: ``STATICGRAPH_CACHE_DIR=$(mktemp -d) python tests/compiler/bench_mlp_cold.py``; run it again
with the same directory for the warm start (disk cache). Any argument: also time 20 steps.
"""

import time

t0 = time.perf_counter()
import sys  # noqa: E402

import numpy as np  # noqa: E402

import staticgraph as tf  # noqa: E402

t_imp = time.perf_counter() - t0
rng = np.random.default_rng(0)
N, D, H, C = 256, 784, 512, 10
X = rng.standard_normal((N, D)).astype(np.float32)
Y = rng.integers(0, C, N)
g = tf.Graph()
with g.as_default():
    x = tf.placeholder(tf.float32, [None, D])
    y = tf.placeholder(tf.int64, [None])
    w1 = tf.Variable((rng.standard_normal((D, H)) * 0.05).astype(np.float32))
    b1 = tf.Variable(np.zeros(H, np.float32))
    w2 = tf.Variable((rng.standard_normal((H, C)) * 0.05).astype(np.float32))
    b2 = tf.Variable(np.zeros(C, np.float32))
    logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    init = tf.global_variables_initializer()
s = tf.Session(graph=g)
s.run(init)
t1 = time.perf_counter()
l0, _ = s.run([loss, train], {x: X, y: Y})
t2 = time.perf_counter()
print(f"import {t_imp:.3f}s  first run (compile/load) {t2 - t1:.3f}s  "
      f"total to first result {t2 - t0:.3f}s  loss {float(l0):.6f}")
if len(sys.argv) > 1:
    import timeit

    def step() -> None:
        s.run(train, {x: X, y: Y})

    print("step ms", min(timeit.repeat(step, number=20, repeat=5)) / 20 * 1e3)
