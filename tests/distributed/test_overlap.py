"""The static mode's overlapped gradient buckets and allgather's gradient, under ``mpiexec -n 2``
(programs in ``overlap_programs.py``; skipped with the reason when the extra is missing).

What they show: with a small fusion threshold the gradients form several buckets in the order the
backward produces them, the first bucket's allreduce starts before the first layer's gradient is
computed (in graph order and in the compiled plan's steps), and training still ends with the
weights of one process on the whole batch; allgather's gradient is Horovod's for ranks with
different row counts, on both executors, and in the eager mode
(``dynamic.distributed.nn.functional``) PyTorch's reduce-scatter of the cotangents."""

from __future__ import annotations

import pathlib

import pytest

from .test_mpi import RANKS, _mpi, needs_mpi

PROGRAMS = pathlib.Path(__file__).with_name("overlap_programs.py")


@needs_mpi
@pytest.mark.parametrize("executor", ["reference", "numba"])
def test_buckets_start_during_the_backward_and_train_as_one_process(executor):
    case = f"buckets-{executor}"
    rc, out, _ = _mpi(case, 120, PROGRAMS, {"STATICGRAPH_FUSION_THRESHOLD": "64"})
    assert rc == 0, out
    for r in range(RANKS):
        assert f"OK {case} rank {r}" in out, out


@needs_mpi
@pytest.mark.parametrize("executor", ["reference", "numba", "torch"])
def test_allgather_gradient_is_the_summed_cotangent_at_this_ranks_rows(executor):
    case = f"{'eager-' if executor == 'torch' else ''}allgather-grad-{executor}"
    rc, out, _ = _mpi(case, 90, PROGRAMS)
    assert rc == 0, out
    for r in range(RANKS):
        assert f"OK {case} rank {r}" in out, out
