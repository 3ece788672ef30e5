"""Numpy references for TF1's sparse-gradient training (tests/static/test_sparse_grads*.py):
the update formulas of TF's ``SparseApply*`` kernels and Adam's ``_apply_sparse_shared``
(duplicate ids summed first, ``Optimizer._apply_sparse_duplicate_indices``), its dense
``Apply*`` kernels, and ``clip_by_global_norm`` over an ``IndexedSlices``'s values.

The model, shared by every test: ``loss = 0.5 * sum((E[ids] + b - t) ** 2)`` with an embedding
table ``E`` (6 x 4, looked up) and a bias ``b`` (dense), so the gradient rows of ``E`` are
``E[ids] + b - t`` (one per id, duplicates kept) and ``b``'s is their sum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

E0 = (np.arange(24, dtype=np.float64).reshape(6, 4) / 10.0 - 1.0)
B0 = np.array([0.5, -0.3, 0.2, 0.1])

#: optimizer name -> (TF1 constructor arguments, slot names in TF's order)
OPTIMIZERS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "GradientDescent": ({"learning_rate": 0.1}, ()),
    "Momentum": ({"learning_rate": 0.1, "momentum": 0.9}, ("momentum",)),
    "MomentumNesterov": ({"learning_rate": 0.1, "momentum": 0.9, "use_nesterov": True},
                         ("momentum",)),
    "Adam": ({"learning_rate": 0.05}, ("m", "v")),
    "Adagrad": ({"learning_rate": 0.1}, ("accumulator",)),
    "RMSProp": ({"learning_rate": 0.05, "momentum": 0.5}, ("rms", "momentum")),
    "RMSPropCentered": ({"learning_rate": 0.05, "momentum": 0.5, "centered": True},
                        ("rms", "momentum", "mg")),
}

#: case -> the ids of each step (unique ids; duplicate ids; rows 2..5 never looked up)
ID_CASES: dict[str, list[list[int]]] = {
    "unique": [[0, 2, 5], [4, 1], [3, 0, 2]],
    "duplicates": [[1, 1, 3, 1], [0, 3, 3], [5, 1, 5, 5, 2]],
    "missing_rows": [[0, 1, 0], [1], [1, 0, 0, 0]],
}

CLIP_NORM = 0.5


def tf_class(tf: Any, name: str) -> Callable[..., Any]:
    """TF's optimizer class for a name of :data:`OPTIMIZERS`."""
    base = {"MomentumNesterov": "Momentum", "RMSPropCentered": "RMSProp"}.get(name, name)
    return getattr(tf.train, base + "Optimizer")


def targets(step: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(step + 10 * n)
    return rng.standard_normal((n, 4))


class Reference:
    """One optimizer's state (variables and slots) stepped with TF's formulas in float64."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kw = OPTIMIZERS[name][0]
        self.var = {"E": E0.copy(), "b": B0.copy()}
        init = {"rms": 1.0, "accumulator": 0.1}
        self.slots = {s: {k: np.full_like(v, init.get(s, 0.0)) for k, v in self.var.items()}
                      for s in OPTIMIZERS[name][1]}
        self.t = 0

    def step(self, ids: list[int], clip: bool) -> tuple[float, float]:
        """One train step; returns (loss, global norm of the gradients)."""
        ids_a = np.asarray(ids)
        t = targets(self.t, len(ids))
        r = self.var["E"][ids_a] + self.var["b"] - t
        loss = 0.5 * float(np.sum(r * r))
        values, gb = r.copy(), r.sum(0)
        norm = float(np.sqrt(np.sum(values ** 2) + np.sum(gb ** 2)))
        if clip:
            scale = CLIP_NORM / max(norm, CLIP_NORM)
            values, gb = values * scale, gb * scale
        uniq, pos = np.unique(ids_a, return_inverse=True)
        summed = np.zeros((len(uniq), 4))
        np.add.at(summed, pos, values)
        self.t += 1
        self._dense("b", gb)
        self._sparse("E", uniq, summed)
        return loss, norm

    def _sparse(self, key: str, rows: np.ndarray, g: np.ndarray) -> None:
        """The sparse update of ``var[rows]`` (Adam: of every row, as TF's shared path)."""
        var, s, kw = self.var[key], {n: d[key] for n, d in self.slots.items()}, self.kw
        lr = kw["learning_rate"]
        if self.name == "Adam":
            full = np.zeros_like(var)
            full[rows] = g
            b1, b2, eps = 0.9, 0.999, 1e-8
            alpha = lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
            s["m"][:] = s["m"] * b1 + full * (1 - b1)
            s["v"][:] = s["v"] * b2 + full * full * (1 - b2)
            var -= alpha * s["m"] / (np.sqrt(s["v"]) + eps)
            return
        sub = {n: a[rows] for n, a in s.items()}
        new = self._rows(var[rows], sub, g)
        var[rows] = new
        for n, a in s.items():
            a[rows] = sub[n]

    def _dense(self, key: str, g: np.ndarray) -> None:
        var, s = self.var[key], {n: d[key] for n, d in self.slots.items()}
        if self.name == "Adam":
            b1, b2, eps = 0.9, 0.999, 1e-8
            alpha = self.kw["learning_rate"] * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
            s["m"][:] = s["m"] + (g - s["m"]) * (1 - b1)
            s["v"][:] = s["v"] + (g * g - s["v"]) * (1 - b2)
            var -= s["m"] * alpha / (np.sqrt(s["v"]) + eps)
            return
        var[:] = self._rows(var, s, g)

    def _rows(self, var: np.ndarray, s: dict[str, np.ndarray], g: np.ndarray) -> np.ndarray:
        """The non-Adam formulas on some rows (slots in ``s`` updated in place)."""
        kw, name = self.kw, self.name
        lr = kw["learning_rate"]
        if name == "GradientDescent":
            return var - lr * g
        if name.startswith("Momentum"):
            s["momentum"][:] = s["momentum"] * kw["momentum"] + g
            if kw.get("use_nesterov"):
                return var - (g * lr + s["momentum"] * kw["momentum"] * lr)
            return var - lr * s["momentum"]
        if name == "Adagrad":
            s["accumulator"][:] = s["accumulator"] + g * g
            return var - lr * g / np.sqrt(s["accumulator"])
        rho, eps = 0.9, 1e-10
        s["rms"][:] = s["rms"] * rho + g * g * (1 - rho)
        denom = s["rms"] + eps
        if kw.get("centered"):
            s["mg"][:] = s["mg"] * rho + g * (1 - rho)
            denom = denom - s["mg"] ** 2
        s["momentum"][:] = s["momentum"] * kw["momentum"] + lr * g / np.sqrt(denom)
        return var - s["momentum"]


def build(tf: Any, name: str, clip: bool, dtype: Any = None) -> dict[str, Any]:
    """The model and train op in ``tf`` (staticgraph or TF's compat.v1), in a new graph."""
    g = tf.Graph()
    dtype = dtype or tf.float32
    with g.as_default():
        ids = tf.placeholder(tf.int32, [None])
        t = tf.placeholder(dtype, [None, 4])
        E = tf.Variable(E0.astype(np.float32), name="E")
        b = tf.Variable(B0.astype(np.float32), name="b")
        r = tf.nn.embedding_lookup(E, ids) + b - t
        loss = 0.5 * tf.reduce_sum(tf.square(r))
        opt = tf_class(tf, name)(**OPTIMIZERS[name][0])
        gv = opt.compute_gradients(loss, [E, b])
        grads = [gr for gr, _ in gv]
        norm = tf.global_norm(grads)
        if clip:
            grads, _ = tf.clip_by_global_norm(grads, CLIP_NORM)
        train = opt.apply_gradients(list(zip(grads, [E, b], strict=True)))
        slots = {s: [opt.get_slot(v, s) for v in (E, b)] for s in OPTIMIZERS[name][1]}
        init = tf.global_variables_initializer()
    return {"graph": g, "ids": ids, "t": t, "E": E, "b": b, "loss": loss, "norm": norm,
            "train": train, "slots": slots, "init": init}


def run(tf: Any, m: dict[str, Any], steps: list[list[int]], **session_kw: Any) -> list:
    """Losses, norms, then the final variables and slots, of ``steps`` train steps."""
    out: list = []
    with tf.Session(graph=m["graph"], **session_kw) as sess:
        sess.run(m["init"])
        for i, ids in enumerate(steps):
            loss, norm, _ = sess.run([m["loss"], m["norm"], m["train"]],
                                     {m["ids"]: np.asarray(ids, np.int32),
                                      m["t"]: targets(i, len(ids)).astype(np.float32)})
            out += [loss, norm]
        out += sess.run([m["E"], m["b"]])
        for pair in m["slots"].values():
            out += sess.run(pair)
    return out


def reference(name: str, steps: list[list[int]], clip: bool) -> list:
    """What :func:`run` returns, from :class:`Reference`."""
    ref = Reference(name)
    out: list = []
    for ids in steps:
        out += list(ref.step(ids, clip))
    out += [ref.var["E"], ref.var["b"]]
    for s in OPTIMIZERS[name][1]:
        out += [ref.slots[s]["E"], ref.slots[s]["b"]]
    return out
