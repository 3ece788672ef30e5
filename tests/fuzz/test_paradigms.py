"""The PyTorch-side oracles sit out documented paradigm differences run by run, decided on the
reference's values (:mod:`tests.fuzz.paradigms`), and only there."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.fuzz.case import check
from tests.fuzz.compare import compare
from tests.fuzz.oracles import Result, run_static, run_torch
from tests.fuzz.paradigms import sat_out
from tests.fuzz.program import Data, Input, Node, Program

HERE = os.path.dirname(__file__)


def _recorded(tag: str) -> Program:
    with open(os.path.join(HERE, "regressions.json")) as f:
        return Program.from_json(next(c for c in json.load(f) if c["tag"] == tag)["program"])


def test_top1_of_a_nan_row_is_sat_out_in_that_run_only():
    """Fuzz seed 25559: ``max`` over a dim is TF's ``top_k(x, 1)`` in the static program (TF
    2.21 skips the NaN of ``[-1.33, -0.11, nan]`` and gives -1.33), PyTorch's NaN in eager. Run
    1 holds the NaN row and is sat out; run 0 has none and is compared."""
    prog = _recorded("paradigm-top1-nan-row")
    ref = run_static(prog, Data(prog), "reference")
    assert ref.paradigm[0] == {}
    assert set(ref.paradigm[1]) == {"eager", "torch"} and ref.paradigm[1]["eager"] == "ghwy"
    # the reference's own answer is TF's, not the NaN-skipping max
    assert ref.values["b1/y0"][1] == pytest.approx(-1.3308286690358258)


def test_a_wrong_value_in_a_compared_run_is_still_found():
    prog = _recorded("paradigm-top1-nan-row")
    data = Data(prog)
    ref = run_static(prog, data, "reference")
    bad = Result(values={k: np.array(v, copy=True) for k, v in ref.values.items()})
    bad.values["b0/y0"][0] += 1.0  # run 0 has no NaN row: compared in full
    bad.values["b1/y0"][0] += 1.0  # run 1 is sat out
    found = compare(prog, {"reference": ref, "eager": bad})
    assert [f.key for f in found] == ["b0/y0"]


def test_remainder_quotients_sit_out_gradients_only():
    """Fuzz seed 25514: ``floormod`` at ``x = inf``: TF's gradient -floor(inf / y) = -inf,
    PyTorch's -floor_divide(inf, y) = NaN; values and other runs are compared."""
    prog = _recorded("remainder-grad-quotient-per-paradigm")
    ref = run_static(prog, Data(prog), "reference")
    assert ref.paradigm[0] == {"eager": "ghw", "torch": "ghw"}
    assert sat_out(prog, ref.paradigm, "compiled", 0) == ""
    assert not check(prog, ("reference", "eager", "torch")).failed


def _var_prog(nonfinite: bool) -> Program:
    """Fuzz seed 7200009 (``--edge 0.1``), minimized: ``reduce_variance`` of a column holding
    ``-inf``: torch's closed-form backward gives inf where TF's is NaN (a convention)."""
    return Program(dtype="float64", inputs=[Input([4, 4])],
                   nodes=[Node("var", [0], {"dims": [0], "keepdim": False})], outputs=[1],
                   batches=[1], grad={"wrt": [0], "ys": False, "second": False},
                   edge=0.1, nonfinite=nonfinite, shapes=[[4, 4], [4]], data_seed=5)


def test_torch_side_sits_out_var_gradients_at_infinite_inputs_only():
    pytest.importorskip("torch")
    prog = _var_prog(True)
    data = Data(prog)
    assert np.isinf(data.batch(0)["x0"]).any()
    ref = run_static(prog, data, "reference")
    assert ref.paradigm[0] == {"eager": "ghw", "torch": "ghw"}  # both: PyTorch's closed form
    assert run_torch(prog, data).skipped is None
    assert not check(prog, ("reference", "eager", "torch")).failed
    finite = _var_prog(False)
    assert not np.isinf(Data(finite).batch(0)["x0"]).any()
    assert run_static(finite, Data(finite), "reference").paradigm[0] == {}


def test_a_training_run_sits_out_every_later_run():
    prog = _var_prog(True)
    prog.train = {"opt": "sgd", "lr": 0.1}
    prog.batches = [1, 1, 1]
    assert [sat_out(prog, {1: {"torch": "ghw"}}, "torch", k) for k in range(3)] == \
        ["", "yghw", "yghw"]
    assert sat_out(prog, {1: {"torch": "ghw"}}, "eager", 2) == ""


def test_torch_sits_out_attention_rows_of_only_minus_inf_scores():
    """Fuzz seed 26002 (``--edge 0.1``): ``q = [.., -inf]`` against positive keys makes a score
    row all -inf; torch's fused CPU attention writes 0 there, TF's softmax (and the eager mode)
    NaN. Only the torch oracle sits out, only that run."""
    prog = _recorded("paradigm-sdpa-all-neg-inf-row")
    ref = run_static(prog, Data(prog), "reference")
    assert ref.paradigm[0] == {"torch": "ghwy"}
    assert np.isnan(ref.values["b0/y0"]).any()
    assert not check(prog, ("reference", "eager")).failed  # the eager mode: TF's NaN


@pytest.mark.parametrize("seed", [4, 8])
def test_sort_rows_with_nan_are_drawn_and_only_their_runs_sat_out(seed):
    """``--edge`` programs draw ``sort``/``top_k`` again: a run whose rows hold NaN is sat out
    by eager/torch, the others compared (seeds of ``families=("sort",)``, ``edge=0.2``)."""
    from tests.fuzz.generate import generate

    prog = generate(seed, 4, families=("sort",), edge=0.2)
    assert prog.nonfinite and prog.ops_used() & {"sort", "topk"}
    ref = run_static(prog, Data(prog), "reference")
    fired = [k for k, kinds in ref.paradigm.items() if kinds]
    assert fired and len(fired) < len(prog.batches)
    assert not check(prog, ("reference", "eager", "torch")).failed


def test_a_rounding_op_meeting_nan_sits_out_gradients_in_those_runs():
    """Fuzz seed 100020 (float16, ``--edge 0.05``), minimized: ``ceil(tanh(x))`` with ``x``
    holding NaN. TF registers no gradient for ceil (the static gradient stops: 1 from the other
    output), PyTorch's is zeros, times tanh's NaN derivative: NaN in the eager mode and torch.
    Runs whose ceil input is finite are compared in full."""
    prog = _recorded("paradigm-rounding-grad-nan")
    ref = run_static(prog, Data(prog), "reference")
    assert all(kinds == {"eager": "ghw", "torch": "ghw"} for kinds in ref.paradigm.values())
    assert not check(prog, ("reference", "eager", "torch")).failed
    clean = prog.copy()
    clean.edge, clean.nonfinite = 0.0, False
    ref = run_static(clean, Data(clean), "reference")
    assert all(not kinds for kinds in ref.paradigm.values())
    assert not check(clean, ("reference", "eager", "torch")).failed


def test_float16_reaches_a_zero_norm_vector_and_a_composite_overflow():
    """Fuzz seeds 102015 (``norm(sigmoid(x))`` with ``x = -30``: sigmoid underflows to 0 in
    float16, and tf.norm's gradient at a zero vector is NaN, PyTorch's 0) and 102108 (the float16
    ``tf.norm`` of 30 squared: TF composes ``sqrt(sum(x * x))``, inf; PyTorch's fused
    ``vector_norm`` computes in float32, 900, and so does the eager mode's): sat out in those
    runs, by eager and torch."""
    for tag, kinds in (("paradigm-f16-norm-zero-vector", {"eager": "ghw", "torch": "ghw"}),
                       ("paradigm-f16-norm-squares-overflow", {"eager": "ghwy", "torch": "ghwy"})):
        prog = _recorded(tag)
        ref = run_static(prog, Data(prog), "reference")
        assert kinds in ref.paradigm.values(), (tag, ref.paradigm)
        assert not check(prog, ("reference", "eager", "torch")).failed


def test_std_at_zero_spread_sits_out_gradients_only():
    """Fuzz seed 110169 (float16): ``std`` over one element; TF's composed gradient is NaN
    (``sqrt``'s ``0 * inf``), PyTorch's ``std_backward`` (and the eager mode's) 0. The
    eager mode sits out that run's gradients (the torch oracle renders std as ``sqrt(var)``,
    TF's form, and is compared); with two distinct values nothing is excused."""
    prog = _recorded("f16-std-one-element-grad")
    ref = run_static(prog, Data(prog), "reference")
    assert ref.paradigm[0] == {"eager": "ghw"}
    assert not check(prog, ("reference", "eager", "torch")).failed
    from tests.fuzz.paradigms import RULES

    rule = next(r for r in RULES if r.ops == frozenset({"std"}))
    node = Node("std", [0], {"dims": [1], "keepdim": False})
    assert rule.fires(node, [np.array([[1.0, 1.0], [1.0, 2.0]], np.float16)])
    assert not rule.fires(node, [np.array([[1.0, 3.0], [1.0, 2.0]], np.float16)])


def test_float32_norm_squares_underflow_and_std_at_zero_spread():
    """Fuzz seeds 9137 (float32 ``norm`` of ``sigmoid`` values near ``4e-27``: their squares
    underflow, TF's composed norm is 0 and its gradient NaN, PyTorch's norm ``4e-27``, the eager
    mode's gradient 0) and 9290 (``reduce_std`` of ``broadcast_to`` of a scalar: a zero std,
    NaN gradient on TF, 0 on ``torch.std`` and the eager mode; the torch oracle renders std as
    ``sqrt(var)``, TF's form, and is compared). Sat out in those runs only."""
    for tag, oracles in (("paradigm-norm-squares-underflow", {"eager", "torch"}),
                         ("paradigm-std-zero-spread", {"eager"})):
        prog = _recorded(tag)
        ref = run_static(prog, Data(prog), "reference")
        hit = [p for p in ref.paradigm.values() if p]
        assert hit and all(set(p) == oracles and "g" in p["eager"] for p in hit), (tag, hit)
        assert sat_out(prog, ref.paradigm, "compiled", 0) == ""
        assert not check(prog, ("reference", "eager", "torch")).failed


def test_std_rule_fires_on_equal_slices_only():
    from tests.fuzz.paradigms import _zero_spread, _zero_vector

    std = Node("std", [0], {"dims": [1], "keepdim": False})
    assert _zero_spread(std, [np.array([[1.5, 1.5], [1.0, 2.0]])])
    assert not _zero_spread(std, [np.array([[1.5, 1.25], [1.0, 2.0]])])
    norm = Node("norm", [0], {"dim": 1, "keepdim": False})
    assert _zero_vector(norm, [np.array([[4e-27, 0.0], [1.0, 2.0]], np.float32)])
    assert not _zero_vector(norm, [np.array([[4e-27, 0.0], [1.0, 2.0]], np.float64)])


def test_torch_sits_out_atan2_gradients_at_the_origin():
    """Fuzz seed 32562: ``atan2(gather(x), x)`` reads one 0 as both ``y`` and ``x``: TF 2.21's
    gradient is NaN there (``x / (x^2 + y^2)``, the registry's rule, so the eager mode's too),
    torch 2.13's 0. Torch alone sits it out; the eager mode is compared."""
    from tests.fuzz.paradigms import _atan2_origin

    prog = _recorded("paradigm-atan2-grad-origin")
    ref = run_static(prog, Data(prog), "reference")
    assert {"torch": "ghw"} in ref.paradigm.values(), ref.paradigm
    assert not check(prog, ("reference", "eager", "torch")).failed
    node = Node("atan2", [0, 1])
    assert _atan2_origin(node, [np.array([[0.0], [1.0]]), np.array([[0.0, 2.0]])])
    assert not _atan2_origin(node, [np.array([[0.0], [1.0]]), np.array([[3.0, 2.0]])])
    tiny = np.array([1e-30], np.float32)  # seed 52759: the squares underflow in float32
    assert _atan2_origin(node, [tiny, tiny]) and not _atan2_origin(node, [tiny.astype(float)] * 2)
    prog = _recorded("paradigm-atan2-grad-squares-underflow")
    assert not check(prog, ("reference", "eager", "torch")).failed
