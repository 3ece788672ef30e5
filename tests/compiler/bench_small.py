"""Per-run overhead of small graphs: seed with gradients, XOR linear SGD step (us per run),
measured on the executor directly and through ``Session.run``.

Run: ``python tests/compiler/bench_small.py`` (not a test: timings belong to the benchmarks).
"""

from __future__ import annotations

import timeit

import numpy as np

import staticgraph as tf


def seed() -> tuple:
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, shape=(), name="x")
        w = tf.Variable(np.float32(3.0), name="w")
        y = (x + w) * (w + 1.0)
        gx, gw = tf.gradients(y, [x, w])
        init = tf.global_variables_initializer()
    s = tf.Session(graph=g)
    s.run(init)
    return s, [y, gx, gw], [], {x: np.float32(2.0)}


def xor() -> tuple:
    g = tf.Graph()
    rng = np.random.default_rng(0)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    Y = np.array([[0], [1], [1], [0]], np.float32)
    with g.as_default():
        px = tf.placeholder(tf.float32, shape=X.shape, name="X")
        py = tf.placeholder(tf.float32, shape=Y.shape, name="Y")
        W = tf.Variable(rng.normal(0, 0.5, (2, 1)).astype(np.float32), name="W")
        b = tf.Variable(np.zeros(1, np.float32), name="b")
        r = tf.matmul(px, W) + b - py
        loss = tf.reduce_mean(r * r)
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = tf.global_variables_initializer()
    s = tf.Session(graph=g)
    s.run(init)
    return s, [], [train], {px: X, py: Y}


def bench(name: str, make, n: int = 20000) -> None:
    s, tens, targs, feeds = make()
    fetch = tens + targs if tens else targs[0]
    s.run(fetch, feeds)
    ex, G, st = s._executor, s.graph, s._state
    fd = {k: np.asarray(v) for k, v in feeds.items()}
    ex.run(G, tens, targs, fd, st)

    def best(f) -> float:
        return min(timeit.repeat(f, number=n, repeat=5)) / n * 1e6

    runner = ex.prepare(G, tens, targs, list(fd))  # what a Session fast path would keep
    F = list(fd.values())
    p = best(lambda: runner(F, st))
    e = best(lambda: ex.run(G, tens, targs, fd, st))
    r = best(lambda: s.run(fetch, feeds))
    print(f"{name}: prepared runner {p:.2f}, executor.run {e:.2f}, Session.run {r:.2f} us/run")


if __name__ == "__main__":
    bench("seed", seed)
    bench("xor-linear", xor)
