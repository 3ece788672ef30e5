"""Every differentiable registry op: VJP rule vs central finite differences (float64, numpy path).

The rules run through ``bind``'s numpy fallback here, the same rule code that builds eager tapes
and static gradient graphs.
"""

from __future__ import annotations

import numpy as np
import pytest

from staticgraph import ops
from staticgraph.ops import REGISTRY, eval_numpy, sum_to_shape

R = np.random.default_rng(0)


def pos(*s):
    return R.uniform(0.5, 2.0, s)


def anyv(*s):
    return R.standard_normal(s)


LABELS = np.array([0, 2, 1, 2])
_M = R.standard_normal((3, 3))
SPD3 = _M @ _M.T + 3 * np.eye(3)
MASK = np.array([True, False, True])
# rows with no zero, one zero (first, inner, last) and two zeros: every branch of cumprod's rule
ZROWS = np.array([[1.5, -0.5, 2.0, 0.7, 1.2], [0.0, 2.0, -1.5, 0.5, 3.0],
                  [1.5, 2.0, 0.0, -0.5, 1.3], [1.1, 0.0, 2.0, 0.0, 0.8],
                  [0.9, 1.4, -1.2, 2.1, 0.0]])
# (op name, inputs (arrays are differentiated, others passed as is), params)
CASES = [
    ("add", [anyv(2, 3), anyv(3)], {}),
    ("sub", [anyv(2, 1), anyv(1, 3)], {}),
    ("mul", [anyv(2, 3), anyv(2, 3)], {}),
    ("div", [anyv(4), pos(4)], {}),
    ("pow", [pos(3), anyv(3)], {}),
    ("pow", [pos(2, 3), 3.0], {}),
    ("maximum", [anyv(5), anyv(5)], {}),
    ("minimum", [anyv(5), anyv(1)], {}),
    ("neg", [anyv(3)], {}),
    ("exp", [anyv(3)], {}),
    ("log", [pos(3)], {}),
    ("sqrt", [pos(3)], {}),
    ("sin", [anyv(3)], {}),
    ("cos", [anyv(3)], {}),
    ("tanh", [anyv(3)], {}),
    ("sigmoid", [anyv(3)], {}),
    ("relu", [anyv(6)], {}),
    ("abs", [anyv(6)], {}),
    ("square", [anyv(3)], {}),
    ("sign", [anyv(4)], {}),
    ("reciprocal", [pos(3)], {}),
    ("clamp", [anyv(6)], {"min": -0.5, "max": 0.5}),
    ("where", [np.array([True, False, True]), anyv(3), anyv(2, 3)], {}),
    ("cast", [anyv(3)], {"dtype": np.dtype(np.float64)}),
    ("sum", [anyv(2, 3, 4)], {"dim": (0, 2), "keepdim": False, "full": False}),
    ("sum", [anyv(2, 3)], {"dim": (0, 1), "keepdim": False, "full": True}),
    ("mean", [anyv(2, 3)], {"dim": (1,), "keepdim": True, "full": False}),
    ("reduce_mean", [anyv(2, 3)], {"dim": (0, 1), "keepdim": False, "full": True}),
    ("max", [anyv(3, 4)], {"dim": (1,), "keepdim": False, "full": False}),
    ("min", [anyv(3, 4)], {"dim": (0, 1), "keepdim": False, "full": True}),
    ("logsumexp", [anyv(3, 4)], {"dim": (1,), "keepdim": False, "full": False}),
    ("var", [anyv(3, 4)], {"dim": (1,), "keepdim": False, "full": False, "correction": 1}),
    ("var", [anyv(3, 4)], {"dim": (0, 1), "keepdim": True, "full": True, "correction": 0}),
    ("var", [anyv(2, 3, 2)], {"dim": (0, 2), "keepdim": False, "full": False,
                              "correction": 2.5}),
    ("reshape", [anyv(2, 6)], {"shape": (3, -1)}),
    ("permute", [anyv(2, 3, 4)], {"perm": (2, 0, 1)}),
    ("expand_dims", [anyv(2, 3)], {"dims": (0, 3)}),
    ("squeeze", [anyv(2, 1, 3)], {"dims": (1,), "all": False}),
    ("broadcast_to", [anyv(3, 1)], {"shape": (2, 3, 4)}),
    ("cat", [anyv(2, 3), anyv(4, 3)], {"dim": 0}),
    ("stack", [anyv(2, 3), anyv(2, 3)], {"dim": 1}),
    ("getitem", [anyv(4, 5)], {"index": (slice(1, 3), 2)}),
    ("getitem", [anyv(3, 2)], {"index": (MASK,)}),
    ("getitem", [anyv(5, 2)], {"index": (np.array([0, 3, 0]),)}),
    ("setitem", [anyv(4, 3), anyv(3)], {"index": (1,)}),
    ("matmul", [anyv(2, 3), anyv(3, 4)], {}),
    ("matrix_inverse", [anyv(3, 3) + 3 * np.eye(3)], {}),
    ("matrix_inverse", [anyv(2, 2, 2) + 2 * np.eye(2)], {}),
    # linear algebra shared by tf.linalg and torch.linalg (ops/linalg*.py): torch's parameters
    ("matrix_determinant", [anyv(3, 3) + 3 * np.eye(3)], {}),
    ("log_abs_determinant", [anyv(2, 3, 3) - 3 * np.eye(3)], {}),
    ("matrix_solve", [anyv(3, 3) + 3 * np.eye(3), anyv(3, 2)], {}),
    ("matrix_solve", [anyv(2, 3, 3) + 3 * np.eye(3), anyv(3, 1)], {}),
    ("matrix_solve", [anyv(2, 3, 3) + 3 * np.eye(3), anyv(3)], {"vec": True}),
    ("matrix_solve", [anyv(3, 3) + 3 * np.eye(3), anyv(2, 3)], {"vec": True, "adjoint": True}),
    ("cholesky", [np.eye(3) * 2 + 0.3 * anyv(3, 3)], {"symmetrize": True, "on_failure": "raise"}),
    ("matrix_triangular_solve", [anyv(2, 3, 3) + 3 * np.eye(3), anyv(3, 2)], {"lower": False}),
    *[(name, [np.diag([1.0, 2.5, 4.0]) + 0.3 * anyv(2, 3, 3)], {"symmetrize": sym})
      for name in ("linalg_eigvalsh", "linalg_eigh_vectors") for sym in (False, True)],
    # QR and SVD (ops/linalg_qr.py, linalg_svd.py): tall, wide, batched, complete/full
    *[(name, [anyv(*shape)], {"complete": full}) for name in ("linalg_qr_q", "linalg_qr_r")
      for shape, full in (((4, 3), False), ((3, 5), False), ((2, 3, 3), True),
                          ((2, 3, 4), True))],
    *[(name, [anyv(*shape)], params)
      for name in ("linalg_svd_u", "linalg_svd_vh")
      for shape, params in (((4, 3), {}), ((3, 5), {}), ((2, 4, 2), {}),
                            ((2, 3, 3), {"full": True}))],
    *[("linalg_svd_s", [anyv(*shape)], {}) for shape in ((4, 3), (2, 3, 5))],
    ("determinant_sign", [anyv(3, 3) + 3 * np.eye(3)], {"zero_grad": True}),
    ("matmul", [anyv(3), anyv(2, 3, 4)], {}),
    ("matmul", [anyv(2, 2, 3), anyv(3)], {}),
    ("matmul", [anyv(3), anyv(3)], {}),
    ("matmul", [anyv(2, 1, 2, 3), anyv(4, 3, 2)], {}),
    ("softmax", [anyv(3, 4)], {"dim": 1}),
    ("log_softmax", [anyv(3, 4)], {"dim": 0}),
    ("nll_loss", [anyv(4, 3), LABELS], {"reduction": "mean"}),
    ("nll_loss", [anyv(4, 3), LABELS], {"reduction": "none"}),
    ("mse_loss", [anyv(2, 3), anyv(3)], {"reduction": "mean"}),
    ("gather", [anyv(3, 4), np.array([[0, 3, 3], [1, 1, 0]])], {"dim": 1}),
    ("scatter_add", [anyv(3, 4), anyv(2, 3), np.array([[0, 2, 2], [1, 0, 2]])], {"dim": 0}),
    ("prod", [anyv(3, 4)], {"dim": (1,), "keepdim": False, "full": False}),
    ("prod", [np.array([[1.5, 0.0, -2.0], [0.0, 3.0, 0.0]])],
     {"dim": (1,), "keepdim": True, "full": False}),
    ("prod", [anyv(2, 3)], {"dim": (0, 1), "keepdim": False, "full": True}),
    ("prod", [np.array([[1.5, 0.0], [0.0, 3.0]])], {"dim": (0, 1), "keepdim": False,
                                                    "full": True}),
    ("prod", [np.array([[[1.5, 0.0], [2.0, 0.5]], [[0.7, -1.0], [3.0, 2.0]]])],
     {"dim": (0, 2), "keepdim": False, "full": False}),
    ("prod", [np.array(1.5)], {"dim": (), "keepdim": False, "full": True}),
    ("cumsum", [anyv(3, 4)], {"dim": 1, "exclusive": False, "reverse": False}),
    ("cumsum", [anyv(4, 2)], {"dim": 0, "exclusive": False, "reverse": True}),
    ("cumsum", [anyv(3, 4)], {"dim": 1, "exclusive": True, "reverse": False}),
    ("cumsum", [anyv(3, 4)], {"dim": 1, "exclusive": True, "reverse": True}),
    *[("cumprod", [ZROWS], {"dim": 1, "exclusive": e, "reverse": r})
      for e in (False, True) for r in (False, True)],
    ("cumprod", [anyv(4, 2)], {"dim": 0, "exclusive": False, "reverse": False}),
    ("log1p", [pos(3) - 0.4], {}),
    ("expm1", [anyv(3)], {}),
    ("softplus", [anyv(3) * 5], {}),
    ("erf", [anyv(4)], {}),
    *[(name, [anyv(5) * 3], {}) for name in ("floor", "ceil", "round", "trunc")],
    ("remainder", [anyv(2, 3) * 5, pos(3) * 2], {}),
    ("remainder", [anyv(4) * 5, 1.5], {}),
    ("floormod", [anyv(2, 3) * 5, pos(3) * 2], {}),
    ("div_floor", [anyv(2, 3) * 5, pos(3) * 2], {}),
    ("div_trunc", [anyv(2, 3) * 5, pos(3) * 2], {}),
    # the same records with TF's parameters
    ("matrix_solve", [anyv(3, 3) + 3 * np.eye(3), anyv(3, 2)], {"adjoint": False}),
    ("matrix_solve", [anyv(2, 3, 3) + 3 * np.eye(3), anyv(2, 3, 1)], {"adjoint": True}),
    ("matrix_determinant", [anyv(3, 3) + 2 * np.eye(3)], {}),
    ("matrix_determinant", [anyv(2, 2, 2) + 2 * np.eye(2)], {}),
    ("log_abs_determinant", [anyv(3, 3) - 3 * np.eye(3)], {}),
    ("cholesky", [SPD3], {}),
    ("cholesky", [np.stack([SPD3, SPD3 + np.eye(3)])], {}),
    *[("matrix_triangular_solve", [anyv(3, 3) + 3 * np.eye(3), anyv(3, 2)],
       {"lower": lo, "adjoint": adj}) for lo in (True, False) for adj in (False, True)],
    # staticgraph/ops/special.py and diagonal.py
    ("atan2", [anyv(2, 3), anyv(3)], {}),
    ("hypot", [anyv(2, 3), anyv(2, 1)], {}),
    ("fmod", [pos(3) * 3, pos(3)], {}),
    ("fmod", [anyv(4) * 3, 0.7], {}),
    ("sinh", [anyv(3)], {}),
    ("cosh", [anyv(3)], {}),
    ("asinh", [anyv(3)], {}),
    ("exp2", [anyv(3)], {}),
    ("lgamma", [np.array([-2.5, -0.3, 0.4, 1.7, 6.2])], {}),
    ("digamma", [np.array([-2.5, -0.3, 0.4, 1.7, 6.2, 13.0])], {}),
    ("polygamma", [np.array([-2.5, -0.3, 0.4, 1.7, 6.2, 13.0])], {"n": 1}),
    ("polygamma", [np.array([0.4, 1.7, 6.2, 13.0])], {"n": 2}),
    ("erfinv", [np.array([-0.9, -0.3, 0.0, 0.45, 0.8])], {}),
    ("diagonal", [anyv(3, 4)], {"offset": 1, "dim1": 0, "dim2": 1}),
    ("diagonal", [anyv(2, 3, 4)], {"offset": -1, "dim1": 2, "dim2": 0}),
    # staticgraph/ops/strided.py (overlapping elements: their cotangents add up)
    ("as_strided", [anyv(12)], {"size": (3, 3), "stride": (2, 1), "storage_offset": 1}),
    ("as_strided", [anyv(3, 4)], {"size": (2, 2, 2), "stride": (4, 1, 2), "storage_offset": 0}),
    ("unfold", [anyv(3, 7)], {"dim": 1, "size": 2, "step": 2}),
    ("unfold", [anyv(10)], {"dim": 0, "size": 3, "step": 1}),
]
# ops whose VJP is symmetrized (TF's) while the kernel reads one triangle: compared on
# symmetric directions only (G + G^T)
SYMMETRIC = {"cholesky"}


def _numeric_vjp(op, args, params, g, i, eps=1e-6):
    x = args[i]
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        plus, minus = [a.copy() if isinstance(a, np.ndarray) else a for a in args], list(args)
        plus[i] = x.copy()
        plus[i][idx] += eps
        minus = list(plus)
        minus[i] = x.copy()
        minus[i][idx] -= eps
        fp = eval_numpy(op, plus, params)
        fm = eval_numpy(op, minus, params)
        grad[idx] = np.sum(g * (fp - fm)) / (2 * eps)
    return grad


@pytest.mark.parametrize("name,args,params", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_vjp_matches_finite_differences(name, args, params):
    op = REGISTRY[name]
    out = eval_numpy(op, args, params)
    g = R.standard_normal(out.shape)
    grads = op.vjp(g, out, *args, **params)
    assert len(grads) == len(args), f"{name}: one cotangent per input"
    for i, (a, ga) in enumerate(zip(args, grads, strict=True)):
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            continue
        assert ga is not None, f"{name}: missing gradient for input {i}"
        ga = sum_to_shape(np.asarray(ga, dtype=np.float64), a.shape)
        want = _numeric_vjp(op, args, params, g, i)
        if name in SYMMETRIC:
            ga, want = ga + np.swapaxes(ga, -1, -2), want + np.swapaxes(want, -1, -2)
        np.testing.assert_allclose(ga, want, rtol=1e-5, atol=1e-6, err_msg=f"{name} input {i}")


def test_every_differentiable_op_is_covered():
    tested = {c[0] for c in CASES}
    helpers = {"reshape_like", "broadcast_like", "sum_to_like", "cat_slice", "index_grad",
               "nll_loss_grad"}
    missing = {n for n, op in REGISTRY.items() if op.differentiable} - tested - helpers
    assert not missing, f"ops without a finite-difference test: {sorted(missing)}"


def test_promotion_follows_pytorch():
    i32, f16 = np.zeros(3, np.int32), np.zeros(3, np.float16)
    assert ops.result_type(i32, 1.0) == np.float32  # int tensor + python float -> default float
    assert ops.result_type(f16, np.zeros((), np.float64)) == np.float16  # 0-d is lower priority
    assert ops.result_type(np.zeros(3, np.int64), np.zeros((), np.float64)) == np.float64
    assert ops.result_type(np.zeros(3, bool), 2) == np.int64
    assert ops.result_type(np.zeros(3, np.float32), np.zeros(3, np.float64)) == np.float64
    assert ops.div(np.arange(3), 2).dtype == np.float32
    # across categories the higher one wins, whatever the widths (not numpy's float64)
    assert ops.result_type(np.zeros(3, np.int64), np.zeros(3, np.float32)) == np.float32
    assert ops.result_type(np.zeros(3, np.int32), np.zeros(3, np.float16)) == np.float16
    assert ops.result_type(np.zeros(3, np.uint8), np.zeros(3, np.int8)) == np.int16


def test_broadcast_error_names_sizes_and_dim():
    with pytest.raises(ValueError, match=r"size of tensor a \(3\) must match the size of tensor b"
                                         r" \(4\) at non-singleton dimension 0"):
        ops.broadcast_shapes((3,), (4,))
    assert ops.broadcast_shapes((None, 3), (4, 1)) == (4, 3)
    assert ops.broadcast_shapes((None, 1), (1, 5)) == (None, 5)
