"""The CUDA executor in numba's CUDA simulator (a subprocess: ``NUMBA_ENABLE_CUDASIM`` must be
set before ``numba.cuda`` is imported). Each scenario of ``cuda_scenarios.py`` runs on the CUDA
and reference executors and must agree: seed graph with gradients, XOR SGD steps, an MLP
training step with softmax cross-entropy, an elementwise chain with NaN/Inf inputs, reductions
(multi-chunk partials + combine), row kernels, and a loop with its gradient loop (host loops
over device-compiled stages, ``compiler/regions.py``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.compiler.cuda_scenarios import ALL_SCENARIOS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def sim_output() -> str:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    p = subprocess.run([sys.executable, "-m", "tests.compiler.cuda_scenarios"], env=env,
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    if "SKIP" in p.stdout or ("No module named" in p.stderr and "cuda" in p.stderr):
        pytest.skip("numba.cuda is not importable")
    return p.stdout + p.stderr


@pytest.mark.parametrize("name", sorted(ALL_SCENARIOS))
def test_cuda_executor_agrees_with_reference_in_simulator(sim_output: str, name: str):
    assert f"PASS {name}" in sim_output, sim_output[-4000:]


BAD_TARGET = """
import numpy as np, staticgraph as sg
from staticgraph import ops
from staticgraph.compiler.cuda.executor import register
from staticgraph.graph.errors import InvalidArgumentError
assert register()
g = sg.Graph()
with g.as_default():
    x = sg.placeholder(sg.float32, [None, 3], name="x")
    y = sg.placeholder(sg.int64, [None], name="y")
    w = sg.Variable(np.ones((3, 3), np.float32), name="w")
    loss = ops.cross_entropy(sg.matmul(x, w), y)
    init = sg.global_variables_initializer()
s = sg.Session(graph=g, executor="cuda")
s.run(init)
xv = np.ones((2, 3), np.float32)
print("LOSS", float(s.run(loss, {x: xv, y: np.array([0, 2])})))
try:
    s.run(loss, {x: xv, y: np.array([0, 3])})
except InvalidArgumentError as e:
    print("RAISED", e)
"""


def test_cuda_executor_reports_bad_targets():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    p = subprocess.run([sys.executable, "-c", BAD_TARGET], env=env, capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "LOSS 1.0986" in p.stdout  # log(3): equal logits
    assert "RAISED" in p.stdout and "out of bounds" in p.stdout


def test_cuda_not_registered_without_device_or_simulator():
    code = ("import staticgraph.compiler.cuda.executor as c, staticgraph.session as s;"
            "print('REG', c.register(), 'cuda' in s.EXECUTORS)")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    from staticgraph.compiler.cuda.device import cuda_usable

    if not cuda_usable():  # this machine has no GPU: nothing registered
        assert "REG False False" in p.stdout
