"""The numpy oracle: expected outputs of every workload, and the comparison every mode must pass.

The expected values come from each workload's hand-written numpy forward+backward
(``Workload.numpy_grads``); the same code is what the ``numpy`` mode times.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .workloads import Problem, Workload


def sgd_numpy(wl: Workload, problem: Problem, v: dict[str, np.ndarray], steps: int) -> None:
    """``steps`` plain SGD steps on the params in ``v`` (in place), numpy gradients."""
    lr = np.float32(problem.lr)
    for _ in range(steps):
        g = wl.numpy_grads(v)
        for p in problem.params:
            v[p] -= lr * g["d_" + p]


def example_values(problem: Problem, index: int) -> tuple[dict[str, np.ndarray], int]:
    """The values for example ``index`` of a dyn-kind stream (cycling), and its loop length."""
    xs, length = problem.examples[index % len(problem.examples)]
    return {**problem.values, "xs": xs}, length


def reference(wl: Workload, problem: Problem) -> dict[str, np.ndarray]:
    """The outputs every mode's ``check()`` must reproduce (see the workload kinds)."""
    if wl.kind in ("grad", "grad2"):
        return {k: np.asarray(a) for k, a in wl.numpy_grads(problem.values).items()}
    if wl.kind == "train":
        v = {k: a.copy() for k, a in problem.values.items()}
        sgd_numpy(wl, problem, v, problem.steps)
        out = {"loss": np.asarray(wl.numpy_grads(v)["loss"])}
        out.update({"delta_" + p: v[p] - problem.values[p] for p in problem.params})
        return out
    if wl.kind == "dyn":
        v, length = example_values(problem, 0)
        return {k: np.asarray(a) for k, a in wl.numpy_grads(v, length).items()}
    raise ValueError(f"workload {wl.name!r} has unknown kind {wl.kind!r}")


def scales(wl: Workload, problem: Problem) -> dict[str, float]:
    """Error scales below which an output is compared absolutely: a training run can drive the
    loss to ~0 (XOR is fit exactly), where float32 noise is large *relative* to the loss, so the
    final loss is measured against the initial loss."""
    if wl.kind == "train":
        return {"loss": abs(float(wl.numpy_grads(problem.values)["loss"]))}
    return {}


def train_outputs(problem: Problem, final: dict[str, Any], loss: Any) -> dict[str, np.ndarray]:
    """The ``train`` check outputs from final parameter values (arrays) and the final loss."""
    out = {"loss": np.asarray(loss, dtype=np.float64)}
    for p in problem.params:
        out["delta_" + p] = np.asarray(final[p]) - problem.values[p]
    return out


def compare(got: dict[str, Any], want: dict[str, np.ndarray], rtol: float,
            floors: dict[str, float] | None = None) -> list[str]:
    """Problems found comparing a mode's outputs with the oracle's (empty: they agree).

    The error measure is normwise: ``max|got - want| / max(max|want|, floor)``, which is stable
    for arrays whose entries vary in size (gradients) and for single scalars alike; ``floors``
    (see :func:`scales`) keeps near-zero outputs from demanding impossible relative accuracy.
    """
    problems = []
    for key, w in want.items():
        if key not in got:
            problems.append(f"{key}: missing (got {sorted(got)})")
            continue
        try:
            g = np.asarray(got[key], dtype=np.float64)
        except (TypeError, ValueError) as e:
            problems.append(f"{key}: not convertible to an array ({e})")
            continue
        w64 = np.asarray(w, dtype=np.float64)
        if g.shape != w64.shape:
            problems.append(f"{key}: shape {g.shape}, expected {w64.shape}")
            continue
        if not np.all(np.isfinite(g)):
            problems.append(f"{key}: contains NaN or Inf")
            continue
        scale = max(float(np.max(np.abs(w64))) if w64.size else 0.0,
                    (floors or {}).get(key, 0.0))
        err = float(np.max(np.abs(g - w64))) if w64.size else 0.0
        rel = err / scale if scale > 0 else err
        if rel > rtol:
            problems.append(f"{key}: relative error {rel:.3g} > tolerance {rtol:g} "
                            f"(max abs error {err:.3g}, scale {scale:.3g})")
    return problems
