"""Real-program pairs for ``dynamic.compile`` (issue #14): a PyTorch-style training script on
``nn.Module`` code and the same model written in the static mode's TF1 API.

The ``dynamic-compile`` side is what a PyTorch user writes, unchanged but for the import::

    model = nn.Sequential(nn.Linear(d_in, d_h), nn.ReLU(), nn.Linear(d_h, d_out))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)      # or Adam(lr=1e-3)

    @torch.compile
    def train_step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

The ``static`` side is the TF1 program a user of that API writes for the same model: two
``tf.Variable`` weight matrices (``[in, out]``, TF's layout; ``nn.Linear`` keeps ``[out, in]``
and multiplies by its transpose) and biases, ``sparse_softmax_cross_entropy_with_logits``,
``GradientDescentOptimizer``/``AdamOptimizer(...).minimize`` and ``sess.run([train_op, loss])``.
Both start from the same values (the static weights are the transposed module weights).

Programs (``name``: data rows x features -> hidden -> classes, optimizer):
``nn-xor-sgd``/``nn-xor-adam`` (4 x 2 -> 16 -> 2: XOR size, where the per-call overhead is
all there is) and ``nn-mnist-sgd``/``nn-mnist-adam`` (256 x 784 -> 512 -> 10: an MNIST batch,
BLAS products). Timed by :mod:`benchmarks.compile_steps` (``python -m benchmarks.compile_steps
5 nn-xor-sgd,nn-mnist-sgd``); :func:`final_params` runs either side from the initial values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .modes import Bench

SIZES = {"nn-xor": (4, 2, 16, 2), "nn-mnist": (256, 784, 512, 10)}
LR = {"sgd": 0.1, "adam": 1e-3}
PROGRAMS = tuple(f"{s}-{o}" for s in SIZES for o in LR)


def _parse(name: str) -> tuple[tuple[int, int, int, int], str]:
    size, _, opt = name.rpartition("-")
    if size not in SIZES or opt not in LR:
        raise ValueError(f"unknown module program {name!r}; choose from: {', '.join(PROGRAMS)}")
    return SIZES[size], opt


def data(name: str) -> dict[str, np.ndarray]:
    """Seeded inputs, labels and initial parameters (``nn.Linear``'s layout and init range)."""
    (n, d_in, d_h, d_out), _ = _parse(name)
    rng = np.random.default_rng(14)

    def uniform(fan_in: int, shape: tuple) -> np.ndarray:
        k = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-k, k, shape).astype(np.float32)

    return {"x": rng.normal(0.0, 1.0, (n, d_in)).astype(np.float32),
            "y": rng.integers(0, d_out, n).astype(np.int64),
            "0.weight": uniform(d_in, (d_h, d_in)), "0.bias": uniform(d_in, (d_h,)),
            "2.weight": uniform(d_h, (d_out, d_h)), "2.bias": uniform(d_h, (d_out,))}


def build_module(torch: Any, name: str, compiled: bool = True) -> tuple[Any, Any, Any]:
    """``(train_step, model, (x, y))`` of the PyTorch-style program (module docstring) on
    ``torch`` (``dynamic`` or PyTorch itself); ``compiled``: under ``torch.compile``."""
    (_, d_in, d_h, d_out), opt_name = _parse(name)
    v = data(name)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(d_in, d_h), nn.ReLU(), nn.Linear(d_h, d_out))
    with torch.no_grad():
        for k, p in model.named_parameters():
            p.copy_(torch.tensor(v[k]))
    loss_fn = nn.CrossEntropyLoss()
    opt_cls = torch.optim.SGD if opt_name == "sgd" else torch.optim.Adam
    opt = opt_cls(model.parameters(), lr=LR[opt_name])

    def train_step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    if compiled:
        train_step = torch.compile(train_step)
    return train_step, model, (torch.tensor(v["x"]), torch.tensor(v["y"]))


def build_static(tf: Any, name: str) -> tuple[Any, Any, dict]:
    """``(sess, (train_op, loss, variables), feed)`` of the TF1 program (module docstring)."""
    (n, d_in, _, _), opt_name = _parse(name)
    v = data(name)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [n, d_in], name="x")
        y = tf.placeholder(tf.int64, [n], name="y")
        w1, b1 = tf.Variable(v["0.weight"].T.copy()), tf.Variable(v["0.bias"])
        w2, b2 = tf.Variable(v["2.weight"].T.copy()), tf.Variable(v["2.bias"])
        h = tf.nn.relu(tf.matmul(x, w1) + b1)
        logits = tf.matmul(h, w2) + b2
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                             logits=logits))
        opt = tf.train.GradientDescentOptimizer(LR[opt_name]) if opt_name == "sgd" else \
            tf.train.AdamOptimizer(LR[opt_name])
        train_op = opt.minimize(loss)
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=graph)
    sess.run(init)
    return sess, (train_op, loss, (w1, b1, w2, b2)), {x: v["x"], y: v["y"]}


def final_params(mode: str, name: str, steps: int) -> dict[str, np.ndarray]:
    """Parameters (``nn.Linear``'s layout) after ``steps`` training steps from the initial
    values, in ``mode`` (``static`` or ``dynamic-compile``)."""
    if mode == "static":
        import staticgraph as tf

        sess, (train_op, loss, variables), feed = build_static(tf, name)
        for _ in range(steps):
            sess.run([train_op, loss], feed_dict=feed)
        w1, b1, w2, b2 = sess.run(list(variables))
        return {"0.weight": w1.T, "0.bias": b1, "2.weight": w2.T, "2.bias": b2}
    import dynamic

    step, model, (x, y) = build_module(dynamic, name)
    for _ in range(steps):
        step(x, y)
    return {k: p.detach().numpy().copy() for k, p in model.named_parameters()}


def build(mode: str, name: str) -> Bench:
    """The timed bench of ``name`` in ``mode``: one training step per ``step()``."""
    if mode == "static":
        import staticgraph as tf
        from staticgraph.compiler import block_until_ready

        sess, (train_op, loss, _), feed = build_static(tf, name)
        fetches = [train_op, loss]
        return Bench(lambda: sess.run(fetches, feed_dict=feed),
                     lambda: final_params("static", name, 3), settle=block_until_ready)
    import dynamic
    from staticgraph.compiler import block_until_ready

    step, _, (x, y) = build_module(dynamic, name)
    return Bench(lambda: step(x, y), lambda: final_params("dynamic-compile", name, 3),
                 settle=block_until_ready)


__all__ = ["PROGRAMS", "SIZES", "build", "build_module", "build_static", "data", "final_params"]
