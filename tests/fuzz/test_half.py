"""float16 in the fuzzer (tests/fuzz/half.py; docs/guarantees.md, "float16 programs"): drawn now
and then, forced by ``--dtypes``, judged by rules that a planted float16 bug fails."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.fuzz.case import check
from tests.fuzz.ci_seed import PICKED_OVER
from tests.fuzz.generate import generate
from tests.fuzz.generator import HALF_P
from tests.fuzz.program import Input, Node, Program


def test_float16_is_drawn_now_and_then_and_other_seeds_keep_their_programs():
    progs = {s: generate(s, 4) for s in range(300)}
    half = [s for s, p in progs.items() if p.dtype == "float16"]
    assert 0.5 * HALF_P < len(half) / len(progs) < 1.5 * HALF_P
    for s, p in list(progs.items())[:80]:  # drawn float32/float64: the program of before
        if s not in half:
            assert p.dumps() == generate(s, 4, dtypes=PICKED_OVER).dumps()
    assert {generate(s, 4, dtypes=("float16",)).dtype for s in range(20)} == {"float16"}
    assert {generate(s, 4, dtypes=PICKED_OVER).dtype for s in half} <= set(PICKED_OVER)


def test_an_unknown_dtype_is_an_error():
    with pytest.raises(ValueError, match=r"unknown fuzz dtypes \['float8'\]"):
        generate(1, 4, dtypes=("float16", "float8"))
    r = subprocess.run([sys.executable, "-m", "tests.fuzz", "--minutes", "0.01", "--dtypes",
                        "float16,float8"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "unknown --dtypes ['float8']" in r.stderr


def _program(op: str, p: dict, shape: list, batch: int, **kw) -> Program:
    return Program(dtype="float16", inputs=[Input(shape=shape, domain=kw.get("domain", "sym"))],
                   nodes=[Node(op, [0], p)], outputs=[1], batches=[batch],
                   grad=kw.get("grad"), data_seed=7, shapes=[shape, kw.get("out", shape)])


SUM_ROWS = _program("sum", {"dim": [0], "keepdim": False, "full": False}, ["B", 3], 1200,
                    out=[3])
SIGMOID = _program("sigmoid", {}, ["B", 4], 300)


@pytest.fixture
def plant():
    """``plant(op, impl, field="impl")``: the registry op ``op`` has ``impl`` as its kernel (or
    another field) until the test ends (records are frozen dataclasses: set and restored with
    ``object.__setattr__``)."""
    saved = []

    def put(op, impl, field: str = "impl") -> None:
        saved.append((op, field, getattr(op, field)))
        object.__setattr__(op, field, impl)
    yield put
    for op, field, value in reversed(saved):
        object.__setattr__(op, field, value)


def test_a_float16_accumulation_is_caught(plant):
    """Planted: ``sum`` adding float16 rows in float16 (numpy's own ``add.reduce`` on a
    non-inner axis, the bug fuzz seed 93073 found). Every mode shares the kernel; the
    reference's kernel check sees it."""
    from staticgraph.ops.reductions import SUM

    assert not check(SUM_ROWS, ("reference", "eager")).failed
    plant(SUM, lambda x, dim, keepdim, full: np.add.reduce(x, axis=dim, keepdims=keepdim))
    out = check(SUM_ROWS, ("reference", "eager"))
    assert "reference:kernel:sum" in out.signatures(), out.findings


def test_float16_steps_in_an_elementwise_kernel_are_caught(plant):
    """Planted: ``sigmoid`` computed by six float16 passes (its kernel before the fix, fuzz seed
    93070), 1.6 ulp off where one rounding of float32 is within 0.5."""
    from staticgraph.ops import tiles
    from staticgraph.ops.elementwise import SIGMOID as OP

    assert not check(SIGMOID, ("reference",)).failed
    plant(OP, tiles.sigmoid)
    assert "reference:kernel:sigmoid" in check(SIGMOID, ("reference",)).signatures()


def test_a_float16_op_returning_float32_is_caught(plant):
    """Planted: ``sigmoid`` of float16 returning float32. A kernel's own result dtype is cast to
    the record's rule by both modes; a rule that promotes float16 (here) is followed by every
    mode alike, and caught by "float16 stays float16"."""
    from staticgraph.ops.elementwise import SIGMOID as OP

    real = OP.infer
    plant(OP, lambda x: (real(x)[0], np.dtype(np.float32)), "infer")
    out = check(SIGMOID, ("reference", "eager"))
    assert "reference:dtype:y" in out.signatures(), out.findings


def test_the_truth_rule_catches_an_eager_value_off_by_a_few_ulp(monkeypatch):
    """The modes are held to the float64 truth, no worse than a few times the reference's own
    error plus ``eps16`` per op of the largest intermediate: an eager ``tanh`` 1.5% (about 24
    ulp) off is a finding, 0.2% (4 ulp) is within the rule."""
    import dynamic
    from staticgraph import ops

    prog = _program("tanh", {}, ["B", 4], 50, domain="pos")
    assert not check(prog, ("reference", "eager")).failed
    real = ops.tanh

    def off(by: float):
        def tanh(x):
            y = real(x)
            if isinstance(y, dynamic.Tensor):
                d = y.detach().numpy().astype(np.float64)
                return dynamic.tensor((d * (1 + by)).astype(np.float16))
            return y
        return tanh
    monkeypatch.setattr(ops, "tanh", off(0.002))
    assert not check(prog, ("reference", "eager")).failed
    monkeypatch.setattr(ops, "tanh", off(0.015))
    assert "eager:value:y" in check(prog, ("reference", "eager")).signatures()


def test_torch_sits_out_ops_without_a_float16_kernel_and_says_so():
    pytest.importorskip("torch")
    from tests.fuzz.oracles import run_all

    prog = Program.from_json(generate(6027, 6, dtypes=("float16",)).to_json())
    assert "cholesky" in prog.ops_used()
    res = run_all(prog, ("reference", "eager", "torch"))
    assert res["torch"].skipped.startswith("float16 sit-out: ['cholesky']")
    assert res["eager"].values and not res["eager"].skipped  # the others still compare


def test_eager_bias_gradient_sums_float16_in_float32():
    """The eager engine's inlined bias un-broadcast (``lean_walk``: ``np.add.reduce(r, 0)``)
    added float16 rows in float16: 3000 rows of ones gave 2048 (PyTorch: 3000). Found beside
    the ``sum_to_like`` kernel finding (fuzz seed 93003); float16 now takes ``sum_to_shape``."""
    import dynamic

    b = dynamic.tensor(np.ones(2, np.float16), requires_grad=True)
    (dynamic.tensor(np.ones((3000, 2), np.float16)) * b).sum().backward()  # the one-pass walk
    assert b.grad.numpy().tolist() == [3000.0, 3000.0]
    x, w = (dynamic.tensor(np.ones((3000, 2), np.float16), requires_grad=True) for _ in "xw")
    (g,) = dynamic.autograd.grad((x * w + b).sum(), b)  # x, w not targets: the planned walk
    assert g.numpy().tolist() == [3000.0, 3000.0]


def _two(op: str, args: list, p: dict, inputs: list, shapes: list, batch: int,
         wrt: list | None = None) -> Program:
    return Program(dtype="float16", inputs=inputs, nodes=[Node(op, args, p)],
                   outputs=[len(inputs)], batches=[batch], data_seed=11, shapes=shapes,
                   grad={"wrt": wrt, "ys": True, "second": False} if wrt else None)


FIXED = {  # kernels that ran float16 steps or float16 sums (found with the kernel check)
    "logsumexp": _program("logsumexp", {"dim": [0], "keepdim": False, "full": False},
                          ["B", 2], 1400, out=[2]),
    "softplus": _program("softplus", {}, ["B", 3], 400),
    "pow_rsqrt": _two("pow", [0, {"c": -0.5}], {}, [Input(["B", 3], domain="pos")],
                      [["B", 3], ["B", 3]], 400),
    "gather_grad": _two("gather", [0, 1], {"dim": 0},
                        [Input([3, 2], kind="var"), Input(["B", 2], kind="int", high=3)],
                        [[3, 2], ["B", 2], ["B", 2]], 1500, wrt=[0]),
}


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_float16_kernels_round_once(name):
    """logsumexp (its sum), softplus, ``x ** -0.5`` (``1 / sqrt``), scatter_add (a gather's
    gradient) and the gradient of a slice's broadcast: each was off by more than an ulp of
    float16 (probe seeds 7235, 7245, 6060, 8070), now computed in float32 and rounded once."""
    out = check(FIXED[name], ("reference",))
    assert out.invalid is None, out.invalid
    assert not out.failed, out.findings


def test_an_index_gradient_sums_float16_in_float32():
    """``x[idx]``'s gradient (``shapes._scatter_impl``, ``np.add.at``) added repeated indices in
    float16: 3000 picks of one element gave 2048 (now 3000, rounded once; PyTorch's own index
    backward accumulates in float16 and gives 2048: the eager mode is the more accurate)."""
    import dynamic

    x = dynamic.tensor(np.ones(3, np.float16), requires_grad=True)
    x[dynamic.tensor(np.zeros(3000, np.int64))].sum().backward()
    assert x.grad.numpy().tolist() == [3000.0, 0.0, 0.0]


def test_each_known_open_signature_names_an_xfail_case():
    """A fuzz run counts cases whose findings are all known and open (half.KNOWN_OPEN) apart;
    once a fix lands and its case's xfail flag goes, the entry must go too."""
    import json
    import os

    from tests.fuzz.half import KNOWN_OPEN

    with open(os.path.join(os.path.dirname(__file__), "regressions.json")) as f:
        xfail = {c["tag"] for c in json.load(f) if c.get("xfail")}
    assert set(KNOWN_OPEN.values()) <= xfail, sorted(set(KNOWN_OPEN.values()) - xfail)


def test_eager_float16_vector_norm_does_not_overflow_where_pytorch_does_not():
    """Fuzz seed 102108: the eager ``vector_norm`` of five 300s was inf in float16 (``300 ** 2``
    overflowed), PyTorch's (float32 inside) 671, the exact value 670.8: now float32 inside,
    rounded once. The static ``tf.norm`` composes its squares as TF does (a documented
    paradigm, paradigms.py)."""
    import dynamic

    got = dynamic.linalg.vector_norm(dynamic.tensor(np.full(5, 300, np.float16)))
    assert got.numpy().dtype == np.float16 and got.numpy() == np.float16(670.8)
