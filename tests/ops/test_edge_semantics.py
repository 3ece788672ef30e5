"""Edge semantics follow PyTorch: every case of ``edge_table.CASES`` (forward value and first
gradient, float32 and float64) in the eager mode, the static reference executor and the
compiled executor, against ``torch`` on the same inputs. Skips without torch.

The static graphs hold every case of one dtype, so each executor compiles two graphs in all.
"""

from __future__ import annotations

import numpy as np
import pytest

from .edge_table import CASES, Case

T = pytest.importorskip("torch")

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def seed(shape: tuple, dt: np.dtype, nonfinite: bool) -> np.ndarray:
    """The output cotangent: ones, or ones with inf and NaN at some points (rules must mask
    with ``where``, not multiply by 0, where PyTorch does)."""
    g = np.ones(shape, dt)
    if nonfinite and g.size:
        g.reshape(-1)[::3] = np.inf
        g.reshape(-1)[1::5] = np.nan
    return g


def _torch(case: Case, xs: list[np.ndarray], nonfinite: bool = False) -> tuple:
    ts = [T.tensor(x, requires_grad=True) for x in xs]
    y = case.ref(T, *ts)
    y.backward(T.tensor(seed(tuple(y.shape), xs[0].dtype, nonfinite)))
    return y.detach().numpy(), [t.grad.numpy() if t.grad is not None else np.zeros_like(x)
                                for t, x in zip(ts, xs, strict=True)]


def _eager(case: Case, xs: list[np.ndarray], nonfinite: bool = False) -> tuple:
    import dynamic

    ts = [dynamic.tensor(x, requires_grad=True) for x in xs]
    y = (case.eager or case.ours)(*ts)
    y.backward(dynamic.tensor(seed(tuple(y.shape), xs[0].dtype, nonfinite)))
    return y.detach().numpy(), [t.grad.numpy() if t.grad is not None else np.zeros_like(x)
                                for t, x in zip(ts, xs, strict=True)]


def _static_all(dt: np.dtype, executor: str) -> dict[str, tuple]:
    """Every static case of ``dt`` in one graph, run once on ``executor``."""
    import staticgraph as tf

    g = tf.Graph()
    fetches, feeds = {}, {}
    with g.as_default():
        for case in CASES:
            if "static" not in case.modes:
                continue
            xs = case.inputs(dt)
            ps = [tf.placeholder(tf.as_dtype(dt), x.shape) for x in xs]
            feeds.update(zip(ps, xs, strict=True))
            y = (case.static or case.ours)(*ps)
            grads = tf.gradients(y, ps)
            fetches[case.name] = (y, [gr if gr is not None else tf.zeros_like(p)
                                      for gr, p in zip(grads, ps, strict=True)])
        with tf.Session(graph=g, executor=executor) as s:
            return s.run(fetches, feeds)


@pytest.fixture(scope="module")
def static_results():
    memo: dict = {}

    def get(dt: np.dtype, executor: str) -> dict:
        if (dt, executor) not in memo:
            memo[dt, executor] = _static_all(dt, executor)
        return memo[dt, executor]

    return get


def same(got: np.ndarray, want: np.ndarray, dt: np.dtype, noise: float = 0.0) -> np.ndarray:
    """Where ``got`` agrees with ``want``: the same NaNs and infinities, finite values within
    a few ulp (relative) of each other, or within ``noise`` ulps of 1."""
    got, want = np.broadcast_to(np.asarray(got, np.float64), np.shape(want)), \
        np.asarray(want, np.float64)
    rtol, atol = (2e-6, 1e-37) if dt == np.float32 else (1e-13, 1e-300)
    atol = max(atol, noise * float(np.finfo(dt).eps))
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(got - want) <= atol + rtol * np.abs(want)
    return (np.isnan(got) & np.isnan(want)) | (got == want) | close


def check(case: Case, dt: np.dtype, got: tuple, want: tuple, where: str) -> None:
    xs = case.inputs(dt)
    skip = case.skip(xs, where) if case.skip is not None else False
    bad = []
    for what, g, w in [("value", got[0], want[0])] + [
            (f"grad{i}", gi, wi) for i, (gi, wi) in enumerate(zip(got[1], want[1], strict=True))]:
        g = np.asarray(g)
        assert g.dtype == dt, f"{case.name} {what}: dtype {g.dtype}, expected {dt}"
        ok = same(g, w, dt, case.noise) | np.broadcast_to(skip, np.shape(w))
        if not ok.all():
            idx = np.argwhere(~np.broadcast_to(ok, np.shape(w)))[:6]
            for i in map(tuple, idx):
                at = [x[i] if x.shape == np.shape(w) else x[i[:x.ndim]] for x in xs]
                bad.append(f"{what} at inputs {at}: got {np.broadcast_to(g, np.shape(w))[i]!r}"
                           f", torch {w[i]!r}")
    assert not bad, f"{case.name} ({where}, {dt}):\n  " + "\n  ".join(bad)


def _ids(case: Case) -> str:
    return case.name


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("case", [c for c in CASES if "eager" in c.modes], ids=_ids)
def test_eager_matches_torch(case: Case, dt: np.dtype) -> None:
    xs = case.inputs(dt)
    with np.errstate(all="ignore"):
        check(case, dt, _eager(case, xs), _torch(case, xs), "eager")


@pytest.mark.parametrize("case", [c for c in CASES if "eager" in c.modes], ids=_ids)
def test_eager_gradients_with_nonfinite_cotangents(case: Case) -> None:
    """The same, float64, with inf and NaN in the output cotangent."""
    dt = np.dtype(np.float64)
    xs = case.inputs(dt)
    with np.errstate(all="ignore"):
        check(case, dt, _eager(case, xs, True), _torch(case, xs, True), "eager")


@pytest.mark.parametrize("executor", ["reference", "numba", "numba-llvm"])
@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("case", [c for c in CASES if "static" in c.modes], ids=_ids)
def test_static_matches_torch(case: Case, dt: np.dtype, executor: str, static_results) -> None:
    xs = case.inputs(dt)
    if executor == "numba-llvm":  # the LLVM renderer's kernels (a test-only executor name)
        from tests.static.conftest import _executors

        _executors()
    with np.errstate(all="ignore"):
        got = static_results(dt, executor)[case.name]
        check(case, dt, got, _torch(case, xs), executor)
