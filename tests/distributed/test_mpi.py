"""Data-parallel training over MPI, both modes: each test launches ``mpi_programs.py`` under
``mpiexec -n 2`` with a timeout (skipped with the reason when the ``distributed`` extra is
missing). What they show: 2 ranks on half of every batch end with the weights of 1 process on the
whole batch (SGD, Momentum, Adam; reference and compiled executors; eager DDP), ranks starting
from different weights agree after the broadcast, and a failing, killed or absent rank ends the
job with a clear error in bounded time instead of a hang."""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROGRAMS = pathlib.Path(__file__).with_name("mpi_programs.py")
RANKS = 2


def _mpiexec() -> str | None:
    local = pathlib.Path(sys.executable).with_name("mpiexec")
    return str(local) if local.exists() else shutil.which("mpiexec")


def _skip_reason() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "the distributed extra is not installed: pip install -e '.[distributed]'"
    if _mpiexec() is None:
        return "mpiexec not found (pip install -e '.[distributed]' brings mpich's)"
    return None


needs_mpi = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


def _run(args: list[str], timeout: float, env: dict | None = None) -> tuple[int, str, float]:
    """Run ``args`` in its own process group (``env`` added to the environment); kill the group
    if it outlives ``timeout``."""
    env = dict(os.environ, **(env or {}), PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=env, cwd=ROOT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        pytest.fail(f"{' '.join(args)} hung for more than {timeout} s:\n{out}")
    return p.returncode, out, time.monotonic() - t0


def _mpi(case: str, timeout: float = 90, program: pathlib.Path = PROGRAMS,
         env: dict | None = None) -> tuple[int, str, float]:
    return _run([_mpiexec(), "-n", str(RANKS), sys.executable, str(program), case], timeout,
                env)


@needs_mpi
@pytest.mark.parametrize("case", ["eager", "static-reference", "static-numba"])
def test_ranks_on_shards_match_one_process_on_the_whole_batch(case):
    rc, out, _ = _mpi(case)
    assert rc == 0, out
    for r in range(RANKS):
        assert f"OK {case} rank {r}" in out, out


@needs_mpi
def test_a_world_of_one_without_mpiexec():
    rc, out, _ = _run([sys.executable, str(PROGRAMS), "single"], 60)
    assert rc == 0 and "OK single" in out, out


@needs_mpi
def test_a_rank_that_raises_aborts_the_job():
    rc, out, took = _mpi("fail-raise", timeout=60)
    assert rc != 0, out
    assert "rank 1 failed on purpose" in out and "aborting all 2 ranks" in out, out
    assert "rank 0 returned" not in out
    assert took < 30, took


@needs_mpi
def test_a_killed_rank_ends_the_job():
    rc, out, took = _mpi("fail-kill", timeout=60)
    assert rc != 0, out
    assert "rank 0 returned" not in out
    assert took < 30, took


@needs_mpi
def test_a_rank_that_never_joins_a_collective_times_out_the_others():
    rc, out, took = _mpi("fail-skip", timeout=60)
    assert rc != 0, out
    assert "allreduce of 1 tensor(s), 24 bytes did not complete within 5 s" in out, out
    assert took < 30, took


def test_a_clear_error_names_the_extra_when_mpi4py_is_missing():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import staticgraph.distributed as hvd, dynamic.distributed as dist\n"
            "for f in (hvd.init, lambda: dist.init_process_group('mpi')):\n"
            "    try:\n        f()\n    except ImportError as e:\n        print(e)\n")
    rc, out, _ = _run([sys.executable, "-c", code], 60)
    assert rc == 0 and out.count("pip install 'staticgraph[distributed]'") == 2, out
