"""The fuzzer's own machinery: deterministic generation, serialisation, the comparator's
rules, the shrinker, and the supervisor surviving a native crash. Fast: no compiled kernels."""

from __future__ import annotations

import os
import time

import numpy as np

from tests.fuzz.case import check
from tests.fuzz.compare import _check
from tests.fuzz.generate import generate
from tests.fuzz.program import Input, Node, Program, compact
from tests.fuzz.render import snippet
from tests.fuzz.runner import supervise
from tests.fuzz.shrink import shrink

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_generation_is_deterministic_and_round_trips_through_json():
    for seed in range(30):
        a, b = generate(seed), generate(seed)
        assert a.dumps() == b.dumps()
        assert Program.from_json(a.to_json()).dumps() == a.dumps()
        assert len(a.shapes) == a.n_values


def test_generated_programs_build():
    invalid = 0
    for seed in range(40):
        out = check(generate(seed, 5), ("reference", "eager"))
        invalid += out.invalid is not None
    assert invalid <= 2, "the generator should rarely build an invalid program"


def test_comparator_rules():
    f32 = np.float32
    ref = np.array([1.0, np.nan, np.inf, 2.0], f32)
    assert _check("x", "k", ref.copy(), ref, 1e-5, 1e-5, "float32", True) is None
    moved = np.array([np.nan, 1.0, np.inf, 2.0], f32)
    assert _check("x", "k", moved, ref, 1e-5, 1e-5, "float32", True).kind == "nan"
    neg = np.array([1.0, np.nan, -np.inf, 2.0], f32)
    assert _check("x", "k", neg, ref, 1e-5, 1e-5, "float32", True).kind == "inf"
    twin = np.array([1.0, np.nan, np.finfo(f32).max, 2.0], f32)  # overflow twin: agreement
    assert _check("x", "k", twin, ref, 1e-5, 1e-5, "float32", True) is None
    off = np.array([1.0, np.nan, np.inf, 2.001], f32)
    f = _check("x", "k", off, ref, 1e-5, 1e-5, "float32", True)
    assert f.kind == "value" and "(3,)" in f.detail and f.score > 1
    assert _check("x", "k", ref.astype(np.float64), ref, 1, 1, "float32", True).kind == "dtype"


def _chain() -> Program:
    """x -> tanh -> exp -> sin -> add(., y): four nodes, two inputs."""
    p = Program(dtype="float64", inputs=[Input(["B", 3]), Input([3])],
                nodes=[Node("tanh", [0]), Node("exp", [2]), Node("sin", [3]),
                       Node("add", [4, 1])],
                outputs=[5], batches=[3, 1], grad={"wrt": [0, 1], "ys": True, "second": True},
                shapes=[["B", 3], [3], ["B", 3], ["B", 3], ["B", 3], ["B", 3]])
    return compact(p)


def test_shrinker_keeps_the_failure_and_drops_the_rest():
    small = shrink(_chain(), lambda p: "exp" in p.ops_used(), budget_s=30)
    assert [n.op for n in small.nodes] == ["exp"]
    assert small.grad is None and small.batches == [1]
    assert "ops.exp(" in snippet(small)


def test_supervisor_records_a_native_crash_and_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv("SG_FUZZ_ABORT_AT", "11")
    opts = dict(seed=10, deadline=time.time() + 120, cases=3, max_nodes=3,
                oracles=["reference"], families=["unary", "binary"], shrink=False,
                shrink_s=10, shrink_per_signature=1, parallel_min=4096, case_timeout=60,
                out=str(tmp_path), cache_dir=str(tmp_path / "cache"), root=ROOT)
    s = supervise(opts, log=lambda m: None)
    assert [c["seed"] for c in s.crashes] == [11]
    assert s.ok + s.invalid == 2 and not s.failures and not s.harness


def test_factorizations_keep_the_product():
    from tests.fuzz.gen_shapes import _factor

    r = np.random.default_rng(0)
    for n in (12, 36, 48, 64, 210, 360, 1024):
        for _ in range(200):
            assert int(np.prod(_factor(n, r))) == n, n


def test_recorded_shapes_are_the_reference_shapes():
    """The generator's shape bookkeeping (what ``grad_ys`` are drawn with) matches what the
    reference executor computes. Seeds 4356 (``where`` of a scalar condition and a batch: the
    scalar shape ``[]`` was taken for "no broadcast") and 6300 (a reshape whose factorization
    lost its product) drew cotangents of the wrong shape, which only the eager oracles refused."""
    from tests.fuzz.oracles import run_static
    from tests.fuzz.program import Data, concrete

    for seed in [4356, 6300, *range(40)]:
        prog = generate(seed)
        res = run_static(prog, Data(prog), "reference")
        if res.build is not None:
            continue
        for k, b in enumerate(prog.batches):
            for j, o in enumerate(prog.outputs):
                v = res.values.get(f"b{k}/y{j}")
                if v is not None:
                    assert v.shape == concrete(prog.shapes[o], b), (seed, k, j)


def test_snippet_of_a_case_with_infinite_feeds_runs(capsys):
    """A rendered case prints its arrays as numpy does (``-inf``, ``nan``): the script binds
    those names (seed 27542's script raised ``NameError: inf``)."""
    import json
    from pathlib import Path

    cases = json.loads((Path(__file__).with_name("regressions.json")).read_text())
    case = next(c for c in cases if c["tag"] == "torch-prod-one-reduction")
    src = snippet(Program.from_json(case["program"]), ("reference",))
    assert "-inf" in src
    exec(compile(src, "<snippet>", "exec"), {"__name__": "__snippet__"})  # noqa: S102
    assert "reference {'y0': np.float64(-inf)" in capsys.readouterr().out
