"""The workload table: every benchmark is defined here once, and only here.

A :class:`Workload` holds

* ``make(size)``: deterministic float32 data (seeded), returned as a :class:`Problem`;
* ``forward(F, v)``: the computation, written once against a tiny op vocabulary ``F``
  (``F.tanh``, ``F.matmul``, ``F.sum``...). Each mode family maps ``F`` onto its own standard API
  (``tf.tanh``/``tf.reduce_sum``, ``torch.tanh``/``torch.sum``, ``jnp``...), so every mode runs
  the same math; Python operators (``+ - * **``) are used as user code would;
* ``numpy_grads(v)``: forward and a *hand-written* backward in numpy. It is the numpy mode's timed
  code and the correctness oracle every other mode is checked against (its gradients are tested
  against finite differences in tests/benchmarks).

``kind`` tells the mode builders what to do with ``forward``:

* ``grad``: outputs ``y`` = forward and ``d_<name>`` = dy/d<name> for ``name`` in ``wrt``;
* ``grad2``: output ``dd_x`` = d/dx sum(d/dx forward) (grad of grad);
* ``train``: ``steps`` plain SGD steps (learning rate ``lr``) on ``params``; outputs the final
  ``loss`` and ``delta_<p>`` = final - initial parameter. ``reset``: each call starts again from
  the initial parameters (a whole training run per call) instead of continuing;
* ``dyn``: an RNN whose loop length is read from the data; each call takes the next example of a
  stream (lengths never repeat within a run); outputs ``loss`` and ``d_<p>`` on example 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

F32 = np.float32


@dataclass
class Problem:
    """Concrete data for one workload at one size. ``values``: name -> array (float32, labels
    int64). ``inputs`` are fed on every call (placeholders/data); ``params`` are state
    (variables/leaves); ``wrt`` are the names differentiated. ``examples`` (dyn kind): the stream of
    ``(xs, length)`` pairs."""

    values: dict[str, np.ndarray]
    inputs: tuple[str, ...]
    params: tuple[str, ...] = ()
    wrt: tuple[str, ...] = ()
    lr: float = 0.0
    steps: int = 1
    reset: bool = False
    examples: list[tuple[np.ndarray, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Workload:
    """One benchmark: data, the op-vocabulary forward, and the numpy forward+backward oracle."""

    name: str
    kind: str  # grad | grad2 | train | dyn
    summary: str
    size_help: str  # what --size means for this workload ("" = takes no size)
    default_size: int | None
    quick_size: int | None
    make: Callable[[int | None], Problem]
    forward: Callable[..., Any]
    numpy_grads: Callable[..., dict[str, np.ndarray]]
    rtol: float = 1e-4
    cell: Callable[..., Any] | None = None  # dyn: one loop step, for modes that compile it


class NumpyOps:
    """The op vocabulary on numpy arrays (used for oracle forwards and finite differences)."""

    tanh = staticmethod(np.tanh)
    exp = staticmethod(np.exp)
    matmul = staticmethod(np.matmul)

    @staticmethod
    def sigmoid(x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-x))

    @staticmethod
    def relu(x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0)

    @staticmethod
    def sum(x: np.ndarray) -> np.ndarray:
        return np.sum(x)

    @staticmethod
    def mean(x: np.ndarray) -> np.ndarray:
        return np.mean(x)

    @staticmethod
    def softmax_ce(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
        z = logits - logits.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -np.mean(logp[np.arange(len(labels)), labels])


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _f32(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=F32)


# ------------------------------------------------------------------------------------ seed
def _seed_make(size: int | None) -> Problem:
    return Problem({"x": _f32(2.0), "w": _f32(3.0)}, inputs=("x",), params=("w",), wrt=("x", "w"))


def _seed_forward(F: Any, v: dict) -> Any:
    x, w = v["x"], v["w"]
    return (x + w) * (w + 1.0)


def _seed_grads(v: dict) -> dict:
    x, w = v["x"], v["w"]
    a, b = x + w, w + F32(1.0)
    return {"y": a * b, "d_x": b, "d_w": b + a}


# ------------------------------------------------------------------- linear models (MSE)
def _linear_forward(F: Any, v: dict) -> Any:
    r = F.matmul(v["X"], v["W"]) + v["b"] - v["Y"]
    return F.mean(r * r)


def _linear_grads(v: dict) -> dict:
    X, W, b, Y = v["X"], v["W"], v["b"], v["Y"]
    r = X @ W + b - Y
    dr = r * (2.0 / r.size)
    return {"loss": np.mean(r * r), "d_W": X.T @ dr, "d_b": dr.sum(axis=0)}


_XOR_X = [[0, 0], [0, 1], [1, 0], [1, 1]]
_XOR_Y = [[0], [1], [1], [0]]


def _xor_linear_make(size: int | None) -> Problem:
    rng = _rng()
    vals = {"X": _f32(_XOR_X), "Y": _f32(_XOR_Y), "W": _f32(rng.normal(0, 0.5, (2, 1))),
            "b": np.zeros(1, F32)}
    return Problem(vals, inputs=("X", "Y"), params=("W", "b"), lr=0.1, steps=int(size or 1000),
                   reset=True)


def _xor_mlp_make(size: int | None) -> Problem:
    rng = _rng()
    vals = {"X": _f32(_XOR_X), "Y": _f32(_XOR_Y), "W1": _f32(rng.normal(0, 1.0, (2, 16))),
            "b1": np.zeros(16, F32), "W2": _f32(rng.normal(0, 0.5, (16, 1))),
            "b2": np.zeros(1, F32)}
    return Problem(vals, inputs=("X", "Y"), params=("W1", "b1", "W2", "b2"), lr=0.1,
                   steps=int(size or 1000), reset=True)


def _xor_mlp_forward(F: Any, v: dict) -> Any:
    h = F.tanh(F.matmul(v["X"], v["W1"]) + v["b1"])
    r = F.matmul(h, v["W2"]) + v["b2"] - v["Y"]
    return F.mean(r * r)


def _xor_mlp_grads(v: dict) -> dict:
    X, Y, W1, b1, W2, b2 = (v[k] for k in ("X", "Y", "W1", "b1", "W2", "b2"))
    h = np.tanh(X @ W1 + b1)
    r = h @ W2 + b2 - Y
    dr = r * (2.0 / r.size)
    dz = (dr @ W2.T) * (1.0 - h * h)
    return {"loss": np.mean(r * r), "d_W1": X.T @ dz, "d_b1": dz.sum(axis=0),
            "d_W2": h.T @ dr, "d_b2": dr.sum(axis=0)}


def _linreg_make(size: int | None) -> Problem:
    n, d = int(size or 65536), 32
    rng = _rng()
    X = _f32(rng.normal(size=(n, d)))
    Y = _f32(X @ rng.normal(size=(d, 1)) + 0.1 * rng.normal(size=(n, 1)))
    vals = {"X": X, "Y": Y, "W": np.zeros((d, 1), F32), "b": np.zeros(1, F32)}
    return Problem(vals, inputs=("X", "Y"), params=("W", "b"), lr=0.05, steps=1)


# ------------------------------------------------------------------------ MLP training step
def _mlp_make(size: int | None) -> Problem:
    n = int(size or 256)
    rng = _rng()
    vals = {"X": _f32(rng.normal(0, 0.25, (n, 784))),
            "labels": rng.integers(0, 10, size=n).astype(np.int64),
            "W1": _f32(rng.normal(0, np.sqrt(2 / 784), (784, 512))), "b1": np.zeros(512, F32),
            "W2": _f32(rng.normal(0, np.sqrt(1 / 512), (512, 10))), "b2": np.zeros(10, F32)}
    return Problem(vals, inputs=("X", "labels"), params=("W1", "b1", "W2", "b2"), lr=0.1, steps=1)


def _mlp_forward(F: Any, v: dict) -> Any:
    h = F.relu(F.matmul(v["X"], v["W1"]) + v["b1"])
    return F.softmax_ce(F.matmul(h, v["W2"]) + v["b2"], v["labels"])


def _mlp_grads(v: dict) -> dict:
    X, labels, W1, b1, W2, b2 = (v[k] for k in ("X", "labels", "W1", "b1", "W2", "b2"))
    n = X.shape[0]
    z = X @ W1 + b1
    h = np.maximum(z, 0)
    logits = h @ W2 + b2
    s = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(s)
    tot = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = np.mean(np.log(tot[:, 0]) - s[rows, labels])
    dl = e / tot
    dl[rows, labels] -= 1.0
    dl *= F32(1.0 / n)
    dh = dl @ W2.T
    dh *= z > 0
    return {"loss": loss, "d_W1": X.T @ dh, "d_b1": dh.sum(axis=0), "d_W2": h.T @ dl,
            "d_b2": dl.sum(axis=0)}


# ------------------------------------------------------------------ long elementwise chain
def _vector_make(size: int | None, default: int) -> Problem:
    x = _f32(_rng().uniform(-2.0, 2.0, int(size or default)))
    return Problem({"x": x}, inputs=("x",), wrt=("x",))


def _chain_forward(F: Any, v: dict) -> Any:
    x = v["x"]
    a = F.tanh(x)
    b = F.sigmoid(a * 1.5)
    c = F.exp(b * -1.0)
    d = F.tanh(c * x + a)
    return F.sum(d)


def _chain_grads(v: dict) -> dict:
    x = v["x"]
    a = np.tanh(x)
    b = 1.0 / (1.0 + np.exp(a * F32(-1.5)))
    c = np.exp(-b)
    d = np.tanh(c * x + a)
    gd = 1.0 - d * d
    ga = gd - gd * x * c * b * (1.0 - b) * F32(1.5)
    return {"y": np.sum(d), "d_x": gd * c + ga * (1.0 - a * a)}


# ------------------------------------------------------------------------- grad of grad
def _cube_forward(F: Any, v: dict) -> Any:
    return F.sum(v["x"] ** 3)


def _cube_grads(v: dict) -> dict:
    return {"dd_x": v["x"] * F32(6.0)}


# ------------------------------------------------------- data-dependent loop (dynamic wins)
_RNN_D, _RNN_H = 16, 32


def _dyn_make(size: int | None) -> Problem:
    """A stream of sequences whose lengths come from the data. Lengths pair up around the mean
    ``size`` (m-k, m+k), so the average work per call is the same for every prefix of the stream,
    and no length repeats within 2*size calls."""
    m = int(size or 32)
    rng = _rng()
    vals = {"h0": np.zeros((1, _RNN_H), F32),
            "W": _f32(rng.normal(0, 0.8 / np.sqrt(_RNN_H), (_RNN_H, _RNN_H))),
            "U": _f32(rng.normal(0, 1 / np.sqrt(_RNN_D), (_RNN_D, _RNN_H))),
            "b": _f32(rng.normal(0, 0.1, _RNN_H))}
    lengths = [m]
    for k in range(1, m):
        lengths += [m + k, m - k]
    examples = [(_f32(rng.normal(size=(n, _RNN_D))), n) for n in lengths]
    return Problem(vals, inputs=("h0",), params=("W", "U", "b"), wrt=("W", "U", "b"),
                   examples=examples)


def _rnn_cell(F: Any, x_t: Any, h: Any, v: dict) -> Any:
    return F.tanh(F.matmul(x_t, v["U"]) + F.matmul(h, v["W"]) + v["b"])


def _dyn_forward(F: Any, v: dict, length: int, cell: Callable[..., Any] = _rnn_cell) -> Any:
    """``length`` is read from the data: the graph's structure depends on it."""
    h = v["h0"]
    xs = v["xs"]
    for t in range(length):
        h = cell(F, xs[t:t + 1], h, v)
    return F.sum(h * h)


def _dyn_grads(v: dict, length: int) -> dict:
    xs, W, U, b = v["xs"], v["W"], v["U"], v["b"]
    hs = [v["h0"]]
    for t in range(length):
        hs.append(np.tanh(xs[t:t + 1] @ U + hs[-1] @ W + b))
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh = 2.0 * hs[-1]
    for t in range(length - 1, -1, -1):
        da = dh * (1.0 - hs[t + 1] * hs[t + 1])
        dU += xs[t:t + 1].T @ da
        dW += hs[t].T @ da
        db += da[0]
        dh = da @ W.T
    return {"loss": np.sum(hs[-1] * hs[-1]), "d_W": dW, "d_U": dU, "d_b": db}


WORKLOADS: dict[str, Workload] = {w.name: w for w in [
    Workload("seed", "grad", "seed graph y = (x + w) * (w + 1) with dy/dx and dy/dw (scalars)",
             "", None, None, _seed_make, _seed_forward, _seed_grads, rtol=1e-6),
    Workload("xor-linear", "train", "XOR, linear model 2-1, MSE, plain SGD from scratch",
             "SGD steps per call", 1000, 5, _xor_linear_make, _linear_forward, _linear_grads,
             rtol=1e-4),
    Workload("xor-mlp", "train", "XOR, 2-16-1 tanh MLP, MSE, plain SGD from scratch",
             "SGD steps per call", 1000, 5, _xor_mlp_make, _xor_mlp_forward, _xor_mlp_grads,
             rtol=2e-3),
    Workload("mlp-step", "train",
             "one SGD step of a 784-512-10 relu MLP with softmax cross-entropy",
             "batch size", 256, 4, _mlp_make, _mlp_forward, _mlp_grads, rtol=1e-3),
    Workload("chain", "grad", "tanh/sigmoid/exp/tanh elementwise chain, sum, and its gradient",
             "elements (float32)", 1 << 20, 1024, lambda s: _vector_make(s, 1 << 20),
             _chain_forward, _chain_grads, rtol=1e-4),
    Workload("grad2", "grad2", "grad of grad: d/dx sum(d/dx sum(x**3)) = 6x",
             "elements (float32)", 1 << 20, 1024, lambda s: _vector_make(s, 1 << 20),
             _cube_forward, _cube_grads, rtol=1e-5),
    Workload("linreg", "train", "linear regression (32 features), one full-batch SGD step, MSE",
             "samples", 65536, 64, _linreg_make, _linear_forward, _linear_grads, rtol=1e-3),
    Workload("dyn-loop", "dyn",
             "RNN (16->32) over a sequence whose length comes from the data; loss and grads",
             "mean sequence length", 32, 3, _dyn_make, _dyn_forward, _dyn_grads, rtol=1e-3,
             cell=_rnn_cell),
]}


def get(name: str) -> Workload:
    """The workload called ``name`` (a clear error listing the choices otherwise)."""
    try:
        return WORKLOADS[name]
    except KeyError:
        choices = ", ".join(WORKLOADS)
        raise ValueError(f"unknown workload {name!r}; choose from: {choices}") from None
