"""Intra-op threads for large elementwise ops (``dynamic/_parallel.py``, issue #12): the
values and gradients are bit for bit the serial ones, float32 stays float32, the thread count
the user set is the one used (observed through ``_parallel.COUNTS``, never wall time), busy
cores fall back to one thread, and a fork after a parallel op works."""

from __future__ import annotations

import multiprocessing
import os
import sys

import numpy as np
import pytest

import dynamic as torch
from dynamic import _parallel as P
from dynamic import _parallel_ops, _pool_native

N = P.PAR_MIN * 2 + 4133  # not a multiple of the chunk alignment: a short last chunk
UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "neg",
         "square", "reciprocal", "log1p", "expm1"]
BINARY = ["add", "sub", "mul", "div"]


@pytest.fixture(params=["queue", "spin"])
def threads(monkeypatch, request):
    """``set_num_threads(n)`` on free cores (the load check answers 8); restored after. Run
    on each pool: the queue pool (``dynamic/_parallel.py``) and the spinning native pool
    (``dynamic/_pool_native.py``, skipped where it cannot load)."""
    saved = torch.get_num_threads()
    monkeypatch.setattr(P, "cores_free", lambda: 8)
    if request.param == "spin":
        if not _pool_native.wait_ready():
            pytest.skip(f"no spinning pool here: {_pool_native.why_not()}")
    else:
        monkeypatch.setattr(_parallel_ops, "_ready", lambda: False)

    def use(n: int) -> None:
        torch.set_num_threads(n)

    yield use
    torch.set_num_threads(saved)


def _data(dt, n=N, seed=0, positive=False):
    x = np.random.default_rng(seed).standard_normal(n).astype(dt) * 3
    if positive:
        x = np.abs(x) + dt(0.1)
    else:  # the values where kernels differ: NaN, +-inf, +-0, huge, tiny
        x[:8] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 1e-30]
    return x


def _apply(name, x, y=None):
    if name in BINARY:
        return getattr(x, {"add": "__add__", "sub": "__sub__", "mul": "__mul__",
                           "div": "__truediv__"}[name])(y)
    return getattr(x, name)() if name != "neg" else -x


def _run(name, xs, dt, scalar=None):
    """forward value and every input's gradient of ``sum(op(x) * w)`` and of ``sum(op(x))``
    (the second sends a broadcast cotangent into the rule)."""
    out = []
    for weighted in (True, False):
        ts = [torch.tensor(x, requires_grad=True) for x in xs]
        y = _apply(name, *ts) if scalar is None else _apply(name, ts[0], scalar)
        w = torch.tensor(_data(dt, xs[0].size, seed=7))
        loss = (y * w).sum() if weighted else y.sum()
        loss.backward()
        out += [y.detach().numpy()] + [t.grad.numpy() for t in ts]
    return out


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_and_grads_are_bit_identical(threads, name, dt):
    x = _data(dt, positive=name in ("log", "sqrt", "log1p", "reciprocal"))
    with np.errstate(all="ignore"):
        threads(1)
        serial = _run(name, [x], dt)
        threads(2)
        before = P.COUNTS["ops"]
        par = _run(name, [x], dt)
    for a, b in zip(serial, par, strict=True):
        _same(a, b)
        assert b.dtype == dt
    if name in ("exp", "tanh", "sigmoid", "relu", "neg", "sin"):  # forward and rule threaded
        assert P.COUNTS["ops"] > before


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", BINARY)
def test_binary_ops_and_both_grads_are_bit_identical(threads, name, dt):
    xs = [_data(dt), _data(dt, seed=1, positive=name == "div")]
    with np.errstate(all="ignore"):
        threads(1)
        serial = _run(name, xs, dt) + _run(name, xs[:1], dt, scalar=1.5)
        threads(2)
        before = P.COUNTS["ops"]
        par = _run(name, xs, dt) + _run(name, xs[:1], dt, scalar=1.5)
    for a, b in zip(serial, par, strict=True):
        _same(a, b)
    assert P.COUNTS["ops"] > before


def test_chain_workload_value_and_gradient_are_bit_identical(threads):
    """The benchmark's ``chain`` (tanh, sigmoid, exp, mul, add, sum) and ``autograd.grad``."""
    x0 = _data(np.float32, n=1 << 20)

    def chain():
        x = torch.tensor(x0, requires_grad=True)
        a = torch.tanh(x)
        d = torch.tanh(torch.exp(torch.sigmoid(a * 1.5) * -1.0) * x + a)
        y = torch.sum(d)
        return y.detach().numpy(), torch.autograd.grad(y, x)[0].numpy()

    with np.errstate(all="ignore"):
        threads(1)
        serial = chain()
        threads(2)
        par = chain()
    for a, b in zip(serial, par, strict=True):
        _same(a, b)
        assert b.dtype == np.float32


def test_the_thread_count_set_is_the_one_used(threads):
    x = torch.tensor(_data(np.float32))
    for n in (2, 3, 4):
        threads(n)
        ops, chunks = P.COUNTS["ops"], P.COUNTS["chunks"]
        x.sigmoid()
        assert torch.get_num_threads() == n
        assert (P.COUNTS["ops"] - ops, P.COUNTS["chunks"] - chunks) == (1, n)
    threads(1)
    ops = P.COUNTS["ops"]
    x.tanh()
    (x * 2.0).sigmoid()
    assert P.COUNTS["ops"] == ops


def test_small_arrays_and_busy_cores_run_serially(threads, monkeypatch):
    threads(2)
    ops = P.COUNTS["ops"]
    torch.tensor(_data(np.float32, n=P.PAR_MIN - 1)).tanh()
    assert P.COUNTS["ops"] == ops
    monkeypatch.setattr(P, "cores_free", lambda: 1)  # the static mode's "cores not free"
    big = torch.tensor(_data(np.float32))
    _same(big.tanh().numpy(), np.tanh(big.numpy()))
    assert P.COUNTS["ops"] == ops


def test_layouts_the_chunks_cannot_take_run_serially(threads):
    threads(2)
    ops = P.COUNTS["ops"]
    x = _data(np.float32, n=(P.PAR_MIN // 512 + 1) * 512).reshape(-1, 512)
    xf = torch.tensor(np.asfortranarray(x))
    _same(xf.tanh().numpy(), np.tanh(xf.numpy()))  # Fortran order
    xc, b = torch.tensor(x), torch.tensor(np.ones(512, np.float32))
    _same((xc + b).numpy(), x + b.numpy())  # a broadcast operand
    assert P.COUNTS["ops"] == ops


def test_the_callers_errstate_holds_in_every_chunk(threads):
    threads(2)
    x = np.zeros(N, np.float32)
    x[-1] = 1000.0  # overflows in the last chunk, run by a worker
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        torch.tensor(x).exp()
    with np.errstate(over="ignore"):
        assert np.isinf(torch.tensor(x).exp().numpy()[-1])  # the pool still works


def test_set_num_threads_errors_are_pytorchs():
    with pytest.raises(RuntimeError, match="expects a positive integer"):
        torch.set_num_threads(0)
    with pytest.raises(RuntimeError, match="expects an int, but got float"):
        torch.set_num_threads(1.5)
    with pytest.raises(RuntimeError, match="expects an int, but got bool"):
        torch.set_num_threads(True)
    assert torch.get_num_threads() >= 1


def _child_tanh(_: int) -> bool:
    x = _data(np.float32)
    P.COUNTS["ops"] = 0
    ok = torch.tensor(x).tanh().numpy().tobytes() == np.tanh(x).tobytes()
    return ok and P.COUNTS["ops"] == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is Linux-only here")
def test_fork_after_a_parallel_op_works(threads):
    threads(2)
    x = torch.tensor(_data(np.float32))
    x.tanh()  # the pool is up
    pid = os.fork()
    if pid == 0:  # the child: its own pool, the same values
        code = 1
        try:
            import signal

            signal.alarm(60)
            code = 0 if _child_tanh(0) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert pool.map(_child_tanh, range(2), chunksize=1) == [True, True]
    x.tanh()  # and the parent's pool still runs


def test_products_take_the_thread_count_and_one_blas_thread_on_busy_cores(threads, monkeypatch):
    libs = P.cpu_threads.blas_threads()
    if not libs:
        pytest.skip("no OpenBLAS found in this process")
    a = torch.tensor(np.ones((256, 784), np.float32))
    b = torch.tensor(np.ones((784, 512), np.float32))
    try:
        threads(1)
        assert {n for _, n in P.cpu_threads.blas_threads()} == {1}
        threads(2)
        _same((a @ b).numpy(), np.full((256, 512), 784, np.float32))
        assert {n for _, n in P.cpu_threads.blas_threads()} == {2}
        monkeypatch.setattr(P, "cores_free", lambda: 1)
        P._BLAS[0] = 0.0  # the next reading (at most once per REFRESH_S otherwise)
        a @ b
        assert {n for _, n in P.cpu_threads.blas_threads()} == {1}
    finally:
        P.cpu_threads.set_blas_threads(libs[0][1])


def test_fan_in_sums_are_threaded_and_bit_identical(threads):
    """``x`` reaches the loss three ways: its cotangents are summed in place, in chunks."""
    x0 = _data(np.float32)

    def grad():
        x = torch.tensor(x0, requires_grad=True)
        (x.tanh() * x + x.sigmoid()).sum().backward()
        return x.grad.numpy()

    with np.errstate(all="ignore"):
        threads(1)
        serial = grad()
        threads(2)
        before = P.COUNTS["ops"]
        par = grad()
    _same(serial, par)
    assert P.COUNTS["ops"] - before >= 6  # 3 forward, 3 rules (the sums: in place, owned)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("n", [N, 1 << 20, 999_999, P.PAR_MIN + 1])
def test_full_sums_and_means_are_numpys_bits_at_every_thread_count(threads, dt, n):
    x0 = _data(dt, n=n)
    x0[:8] = 1.0  # finite: a NaN would hide differences
    x0[::1000] *= 1e6  # big terms, where the order of additions shows
    got = {}
    for k in (1, 2, 3):
        threads(k)
        before = P.COUNTS["ops"]
        x = torch.tensor(x0, requires_grad=True)
        s, m = x.sum(), x.mean()
        (s + m).backward()
        got[k] = [s.detach().numpy(), m.detach().numpy(), x.grad.numpy()]
        assert (P.COUNTS["ops"] > before) == (k > 1)
    for k in (2, 3):
        for a, b in zip(got[1], got[k], strict=True):
            _same(a, b)
    _same(got[1][0], np.asarray(np.sum(x0)))


@pytest.mark.parametrize("shape", [(512, 1024), (3, 333_333), (64, 64, 256)])
def test_full_sums_of_many_dims_are_numpys_bits(threads, shape):
    x0 = (np.random.default_rng(3).standard_normal(shape) * 100).astype(np.float32)
    threads(2)
    before = P.COUNTS["ops"]
    _same(torch.tensor(x0).sum().numpy(), np.asarray(np.sum(x0)))
    _same(torch.tensor(x0).mean().numpy(), np.asarray(np.mean(x0)))
    assert P.COUNTS["ops"] - before == 2
