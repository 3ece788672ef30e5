"""``tf.train.AdadeltaOptimizer``, ``FtrlOptimizer`` (plain, l1/l2, shrinkage, another
``learning_rate_power``) and ``ProximalAdagradOptimizer`` (plain, l1/l2): dense and sparse
(``embedding_lookup``) gradients, three steps, against numpy references of TF's ``Apply*`` /
``SparseApply*`` kernels on every executor, and against live TensorFlow when installed.

The model (``sparse_grad_reference.py``'s): ``loss = 0.5 * sum((E[ids] + b - t) ** 2)``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import staticgraph as sg
from tests.static.sparse_grad_reference import B0, E0, ID_CASES, targets

#: case -> (TF class name, constructor arguments, slot names)
OPTS: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "Adadelta": ("Adadelta", {"learning_rate": 0.5, "rho": 0.9, "epsilon": 1e-6},
                 ("accum", "accum_update")),
    "Ftrl": ("Ftrl", {"learning_rate": 0.2}, ("accum", "linear")),
    "FtrlL1L2": ("Ftrl", {"learning_rate": 0.2, "l1_regularization_strength": 0.05,
                          "l2_regularization_strength": 0.1}, ("accum", "linear")),
    "FtrlPowerShrink": ("Ftrl", {"learning_rate": 0.2, "learning_rate_power": -0.3,
                                 "l1_regularization_strength": 0.01,
                                 "l2_shrinkage_regularization_strength": 0.1},
                        ("accum", "linear")),
    "ProximalAdagrad": ("ProximalAdagrad", {"learning_rate": 0.3}, ("accumulator",)),
    "ProximalAdagradL1L2": ("ProximalAdagrad", {"learning_rate": 0.3,
                                                "l1_regularization_strength": 0.05,
                                                "l2_regularization_strength": 0.2},
                            ("accumulator",)),
}


def _step_rows(case: str, var: np.ndarray, s: dict[str, np.ndarray], g: np.ndarray) -> None:
    """TF's kernel formulas (float64) on some rows, var and slots updated in place."""
    kind, kw, _ = OPTS[case]
    lr = kw["learning_rate"]
    if kind == "Adadelta":
        rho, eps = kw["rho"], kw["epsilon"]
        s["accum"][:] = s["accum"] * rho + g * g * (1 - rho)
        u = np.sqrt(s["accum_update"] + eps) / np.sqrt(s["accum"] + eps) * g
        var -= u * lr
        s["accum_update"][:] = s["accum_update"] * rho + u * u * (1 - rho)
    elif kind == "Ftrl":
        p = -kw.get("learning_rate_power", -0.5)
        l1, l2 = kw.get("l1_regularization_strength", 0.0), kw.get(
            "l2_regularization_strength", 0.0)
        gs = g + 2 * kw.get("l2_shrinkage_regularization_strength", 0.0) * var
        n_new = s["accum"] + g * g
        s["linear"][:] = s["linear"] + gs - (n_new ** p - s["accum"] ** p) / lr * var
        z = s["linear"]
        y = n_new ** p / lr + 2 * l2
        var[:] = np.where(np.abs(z) > l1, (l1 * np.sign(z) - z) / y, 0.0)
        s["accum"][:] = n_new
    else:
        l1, l2 = kw.get("l1_regularization_strength", 0.0), kw.get(
            "l2_regularization_strength", 0.0)
        s["accumulator"][:] = s["accumulator"] + g * g
        a = lr / np.sqrt(s["accumulator"])
        p = var - g * a
        var[:] = (np.sign(p) * np.maximum(np.abs(p) - a * l1, 0) if l1 > 0 else p) / (
            1 + a * l2)


def reference(case: str, steps: list[list[int]]) -> list:
    init = {"accumulator": 0.1, "accum": 0.0 if OPTS[case][0] == "Adadelta" else 0.1}
    var = {"E": E0.copy(), "b": B0.copy()}
    slots = {n: {k: np.full_like(v, init.get(n, 0.0)) for k, v in var.items()}
             for n in OPTS[case][2]}
    out: list = []
    for i, ids in enumerate(steps):
        ids_a = np.asarray(ids)
        r = var["E"][ids_a] + var["b"] - targets(i, len(ids))
        out += [0.5 * float(np.sum(r * r))]
        _step_rows(case, var["b"], {n: d["b"] for n, d in slots.items()}, r.sum(0))
        uniq, pos = np.unique(ids_a, return_inverse=True)
        summed = np.zeros((len(uniq), 4))
        np.add.at(summed, pos, r)
        sub_v = var["E"][uniq]
        sub_s = {n: d["E"][uniq] for n, d in slots.items()}
        _step_rows(case, sub_v, sub_s, summed)
        var["E"][uniq] = sub_v
        for n, d in slots.items():
            d["E"][uniq] = sub_s[n]
    out += [var["E"], var["b"]]
    for n in OPTS[case][2]:
        out += [slots[n]["E"], slots[n]["b"]]
    return out


def run(tf: Any, case: str, steps: list[list[int]], dense: bool = False, **kw: Any) -> list:
    """The model trained ``steps`` steps in ``tf``: losses, then variables and slots."""
    kind, args, slot_names = OPTS[case]
    g = tf.Graph()
    with g.as_default():
        ids = tf.placeholder(tf.int32, [None])
        t = tf.placeholder(tf.float32, [None, 4])
        E = tf.Variable(E0.astype(np.float32), name="E")
        b = tf.Variable(B0.astype(np.float32), name="b")
        rows = tf.matmul(tf.one_hot(ids, 6), E) if dense else tf.nn.embedding_lookup(E, ids)
        loss = 0.5 * tf.reduce_sum(tf.square(rows + b - t))
        opt = getattr(tf.train, kind + "Optimizer")(**args)
        train = opt.minimize(loss)
        slots = [opt.get_slot(v, n) for n in slot_names for v in (E, b)]
        init = tf.global_variables_initializer()
    out: list = []
    with tf.Session(graph=g, **kw) as sess:
        sess.run(init)
        for i, st in enumerate(steps):
            out.append(sess.run([loss, train], {ids: np.asarray(st, np.int32),
                                                t: targets(i, len(st)).astype(np.float32)})[0])
        out += sess.run([E, b] + slots)
    return out


def _compare(got: list, want: list, tol: float = 2e-5) -> None:
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_allclose(np.asarray(a, np.float64), b, rtol=tol, atol=tol,
                                   err_msg=f"output {i}")


@pytest.mark.parametrize("case", sorted(OPTS))
@pytest.mark.parametrize("ids", sorted(ID_CASES))
def test_sparse_matches_tf_kernel_formulas(case, ids, executor):
    _compare(run(sg, case, ID_CASES[ids], executor=executor), reference(case, ID_CASES[ids]))


@pytest.mark.parametrize("case", sorted(OPTS))
def test_sparse_leaves_rows_never_looked_up_and_their_slots(case):
    got = run(sg, case, ID_CASES["missing_rows"])
    n = len(ID_CASES["missing_rows"])
    np.testing.assert_array_equal(got[n][2:], E0[2:].astype(np.float32))
    init = 0.0 if case == "Adadelta" else 0.1
    for k, name in enumerate(OPTS[case][2]):
        slot_e = got[n + 2 + 2 * k]
        want = 0.0 if name in ("linear", "accum_update") else init
        np.testing.assert_array_equal(slot_e[2:], np.float32(want))


@pytest.mark.parametrize("case", sorted(OPTS))
def test_dense_gradient_moves_every_row_by_the_dense_kernel(case):
    """With ``one_hot @ E`` the gradient is dense: every row and slot of ``E`` follows the dense
    kernel (zero gradient rows included), unlike the sparse path."""
    steps = ID_CASES["missing_rows"]
    got = run(sg, case, steps, dense=True)
    kind, kw, names = OPTS[case]
    init = {"accumulator": 0.1, "accum": 0.0 if kind == "Adadelta" else 0.1}
    var = {"E": E0.copy(), "b": B0.copy()}
    slots = {n: {k: np.full_like(v, init.get(n, 0.0)) for k, v in var.items()} for n in names}
    for i, st in enumerate(steps):
        ids_a = np.asarray(st)
        r = var["E"][ids_a] + var["b"] - targets(i, len(st))
        gE = np.zeros_like(var["E"])
        np.add.at(gE, ids_a, r)
        _step_rows(case, var["b"], {n: d["b"] for n, d in slots.items()}, r.sum(0))
        _step_rows(case, var["E"], {n: d["E"] for n, d in slots.items()}, gE)
    _compare(got[len(steps):], [var["E"], var["b"]] + [slots[n][k] for n in names
                                                        for k in ("E", "b")])


def test_slot_names_and_variables_follow_tf():
    E = sg.Variable(E0.astype(np.float32), name="E")
    loss = sg.reduce_sum(sg.square(E))
    for cls, slots in ((sg.train.AdadeltaOptimizer, {"accum": "E/Adadelta:0",
                                                     "accum_update": "E/Adadelta_1:0"}),
                       (sg.train.FtrlOptimizer, {"accum": "E/Ftrl:0", "linear": "E/Ftrl_1:0"}),
                       (sg.train.ProximalAdagradOptimizer,
                        {"accumulator": "E/ProximalAdagrad:0"})):
        opt = cls(0.1) if cls is not sg.train.AdadeltaOptimizer else cls()
        opt.minimize(loss)
        assert opt.get_slot_names() == sorted(slots)
        assert {n: opt.get_slot(E, n).name for n in slots} == slots


@pytest.mark.parametrize(("kw", "match"), [
    ({"learning_rate_power": 0.5}, "learning_rate_power 0.500000 needs to be negative or zero"),
    ({"initial_accumulator_value": -1.0}, "initial_accumulator_value -1.000000 needs to be"),
    ({"l1_regularization_strength": -0.1}, "l1_regularization_strength -0.100000 needs"),
    ({"l2_regularization_strength": -0.1}, "l2_regularization_strength -0.100000 needs"),
])
def test_ftrl_rejects_bad_hyperparameters_naming_them(kw, match):
    with pytest.raises(ValueError, match=match):
        sg.train.FtrlOptimizer(0.1, **kw)


def test_proximal_adagrad_rejects_a_non_positive_accumulator():
    with pytest.raises(ValueError, match="initial_accumulator_value must be positive"):
        sg.train.ProximalAdagradOptimizer(0.1, initial_accumulator_value=0.0)


@pytest.mark.parametrize("case", sorted(OPTS))
@pytest.mark.parametrize("dense", [False, True])
def test_matches_live_tensorflow(case, dense):
    tf = pytest.importorskip("tensorflow.compat.v1")
    tf.disable_eager_execution()
    steps = ID_CASES["duplicates"]
    _compare(run(sg, case, steps, dense), run(tf, case, steps, dense), 1e-4)
