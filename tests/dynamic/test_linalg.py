"""``torch.linalg`` in the eager mode: values against numpy, first and second derivatives against
finite differences (``gradcheck``/``gradgradcheck``, float64), and, where PyTorch 2.13 is
installed, values, gradients, ``grad_fn`` names and error texts against it."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dynamic as torch
from dynamic.autograd import gradcheck, gradgradcheck

R = np.random.default_rng(7)
A3 = R.standard_normal((3, 3)) + 3 * np.eye(3)  # well conditioned
B3 = R.standard_normal((2, 3, 3)) + 3 * np.eye(3)
SPD = A3 @ A3.T + np.eye(3)
M43 = R.standard_normal((2, 4, 3))


def signed(v):
    """Eigenvectors with a positive first row (their sign is LAPACK's choice)."""
    return v * v[..., :1, :].sign()


def signed_np(v):
    return v * np.sign(v[..., :1, :])


def t64(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def sym(x):
    return (x + x.transpose(-2, -1)) / 2


FNS = {  # name -> (function of tensors, inputs)
    "vector_norm": (lambda x: torch.linalg.vector_norm(x), [A3]),
    "vector_norm_p3_dim": (lambda x: torch.linalg.vector_norm(x, 3, dim=1), [A3]),
    "vector_norm_inf": (lambda x: torch.linalg.vector_norm(x, math.inf, dim=(0, 1)), [A3]),
    "norm": (lambda x: torch.linalg.norm(x, dim=0, keepdim=True), [A3]),
    "matrix_norm_fro": (lambda x: torch.linalg.matrix_norm(x), [B3]),
    "matrix_norm_1": (lambda x: torch.linalg.matrix_norm(x, 1), [B3]),
    "matrix_norm_-inf": (lambda x: torch.linalg.matrix_norm(x, -math.inf, keepdim=True), [B3]),
    "inv": (lambda x: torch.linalg.inv(x), [B3]),
    "inverse": (lambda x: torch.inverse(x), [A3]),
    "det": (lambda x: torch.linalg.det(x), [B3]),
    "torch_det": (lambda x: torch.det(x), [A3]),
    "slogdet": (lambda x: torch.linalg.slogdet(x).logabsdet, [B3 - 6 * np.eye(3)]),
    "logdet": (lambda x: torch.logdet(x), [SPD]),
    "solve": (lambda a, b: torch.linalg.solve(a, b), [B3, R.standard_normal((3, 2))]),
    "solve_vec": (lambda a, b: torch.linalg.solve(a, b), [A3, R.standard_normal(3)]),
    "solve_batch_vec": (lambda a, b: torch.linalg.solve(a, b), [B3, R.standard_normal((2, 3))]),
    "solve_right": (lambda a, b: torch.linalg.solve(a, b, left=False),
                    [A3, R.standard_normal((2, 3))]),
    "cholesky": (lambda x: torch.linalg.cholesky(sym(x)), [SPD]),
    "cholesky_upper": (lambda x: torch.linalg.cholesky(x @ x.mT + torch.eye(3), upper=True),
                       [A3]),
    "eigvalsh": (lambda x: torch.linalg.eigvalsh(sym(x)), [SPD]),
    "eigh": (lambda x: signed(torch.linalg.eigh(sym(x)).eigenvectors), [B3]),
    "svdvals": (lambda x: torch.linalg.svdvals(x), [M43]),
    "matrix_norm_nuc": (lambda x: torch.linalg.matrix_norm(x, "nuc"), [M43]),
    "matrix_norm_2": (lambda x: torch.linalg.matrix_norm(x, 2, dim=(0, 2)), [M43]),
    "solve_triangular": (lambda a, b: torch.linalg.solve_triangular(a, b, upper=True),
                         [B3, R.standard_normal((3, 2))]),
    "solve_triangular_unit_right": (
        lambda a, b: torch.linalg.solve_triangular(a, b, upper=False, left=False,
                                                   unitriangular=True),
        [A3, R.standard_normal((2, 3))]),
    "matrix_power_3": (lambda x: torch.linalg.matrix_power(x, 3), [B3 / 3]),
    "matrix_power_-2": (lambda x: torch.linalg.matrix_power(x, -2), [A3]),
    "matrix_power_0": (lambda x: torch.linalg.matrix_power(x, 0), [A3]),
    "multi_dot": (lambda a, b, c: torch.linalg.multi_dot([a, b, c]),
                  [R.standard_normal(3), A3, R.standard_normal((3, 2))]),
    "vecdot": (lambda x, y: torch.linalg.vecdot(x, y, dim=0), [A3, R.standard_normal((3, 1))]),
    "cross": (lambda x, y: torch.linalg.cross(x, y), [M43[0], R.standard_normal((1, 3))]),
}
NUMPY = {
    "vector_norm": lambda x: np.linalg.norm(x),
    "vector_norm_p3_dim": lambda x: np.sum(np.abs(x) ** 3, 1) ** (1 / 3),
    "vector_norm_inf": lambda x: np.abs(x).max(),
    "norm": lambda x: np.linalg.norm(x, axis=0, keepdims=True),
    "matrix_norm_fro": lambda x: np.linalg.norm(x, "fro", axis=(-2, -1)),
    "matrix_norm_1": lambda x: np.linalg.norm(x, 1, axis=(-2, -1)),
    "matrix_norm_-inf": lambda x: np.linalg.norm(x, -np.inf, axis=(-2, -1), keepdims=True),
    "inv": np.linalg.inv, "inverse": np.linalg.inv, "det": np.linalg.det,
    "torch_det": np.linalg.det, "slogdet": lambda x: np.linalg.slogdet(x)[1],
    "logdet": lambda x: np.log(np.linalg.det(x)),
    "solve": lambda a, b: np.linalg.solve(a, b),
    "solve_vec": lambda a, b: np.linalg.solve(a, b),
    "solve_batch_vec": lambda a, b: np.linalg.solve(a, b[..., None])[..., 0],
    "solve_right": lambda a, b: b @ np.linalg.inv(a),
    "cholesky": np.linalg.cholesky,
    "cholesky_upper": lambda x: np.linalg.cholesky(x @ x.T + np.eye(3)).T,
    "eigvalsh": np.linalg.eigvalsh,
    "eigh": lambda x: signed_np(np.linalg.eigh((x + np.swapaxes(x, -1, -2)) / 2)[1]),
    "svdvals": lambda x: np.linalg.svd(x, compute_uv=False),
    "matrix_norm_nuc": lambda x: np.linalg.norm(x, "nuc", axis=(-2, -1)),
    "matrix_norm_2": lambda x: np.linalg.norm(x, 2, axis=(0, 2)),
    "solve_triangular": lambda a, b: np.linalg.solve(np.triu(a), b),
    "solve_triangular_unit_right": lambda a, b: b @ np.linalg.inv(np.tril(a, -1) + np.eye(3)),
    "matrix_power_3": lambda x: np.linalg.matrix_power(x, 3),
    "matrix_power_-2": lambda x: np.linalg.matrix_power(x, -2),
    "matrix_power_0": lambda x: np.eye(3),
    "multi_dot": lambda a, b, c: np.linalg.multi_dot([a, b, c]),
    "vecdot": lambda x, y: np.sum(x * y, 0),
    "cross": np.cross,
}
GRAD_FN = {
    "vector_norm": "LinalgVectorNormBackward0", "norm": "LinalgVectorNormBackward0",
    "matrix_norm_fro": "LinalgVectorNormBackward0", "matrix_norm_1": "AmaxBackward0",
    "inv": "LinalgInvExBackward0", "inverse": "LinalgInvExBackward0",
    "det": "LinalgDetBackward0", "torch_det": "LinalgDetBackward0",
    "slogdet": "LinalgSlogdetBackward0", "logdet": "WhereBackward0",
    "solve": "LinalgSolveExBackward0", "solve_vec": "LinalgSolveExBackward0",
    "cholesky": "LinalgCholeskyExBackward0", "eigvalsh": "LinalgEighBackward0",
    "svdvals": "LinalgSvdBackward0", "matrix_norm_nuc": "SumBackward1",
    "matrix_norm_2": "AmaxBackward0", "solve_triangular": "LinalgSolveTriangularBackward0",
    "matrix_power_3": "UnsafeViewBackward0", "vecdot": "SumBackward1",
    "cross": "LinalgCrossBackward0",
}


@pytest.mark.parametrize("name", sorted(FNS))
def test_values_match_numpy(name):
    fn, args = FNS[name]
    out = fn(*[t64(a) for a in args])
    np.testing.assert_allclose(out.detach().numpy(), NUMPY[name](*args), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FNS))
def test_first_and_second_derivatives_match_finite_differences(name):
    fn, args = FNS[name]
    inputs = tuple(t64(a) for a in args)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("name", sorted(GRAD_FN))
def test_grad_fn_names(name):
    fn, args = FNS[name]
    assert type(fn(*[t64(a) for a in args]).grad_fn).__name__ == GRAD_FN[name]


@pytest.mark.parametrize("name", sorted(FNS))
def test_values_and_gradients_match_pytorch(name):
    T = pytest.importorskip("torch")
    fn, args = FNS[name]
    ours = [torch.tensor(a.astype(np.float32), requires_grad=True) for a in args]
    theirs = [T.tensor(a.astype(np.float32), requires_grad=True) for a in args]
    globals_torch = fn.__globals__["torch"]
    try:
        fn.__globals__["torch"] = T
        ref = fn(*theirs)
    finally:
        fn.__globals__["torch"] = globals_torch
    out = fn(*ours)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=2e-5, atol=2e-6)
    w = R.standard_normal(tuple(ref.shape)).astype(np.float32)
    (out * torch.tensor(w)).sum().backward()
    (ref * T.tensor(w)).sum().backward()
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    if name in GRAD_FN:
        assert type(out.grad_fn).__name__ == type(ref.grad_fn).__name__


def test_slogdet_sign_and_return_type():
    out = torch.linalg.slogdet(torch.tensor(np.diag([2.0, -3.0, 1.0])))
    assert out.sign.item() == -1.0 and out[0].item() == -1.0
    assert out.logabsdet.item() == pytest.approx(math.log(6.0))
    assert repr(out).startswith("torch.return_types.linalg_slogdet(\nsign=tensor(-1.")
    assert math.isnan(torch.logdet(torch.tensor(np.diag([2.0, -3.0]))).item())


def test_norm_orders_and_old_api():
    x = torch.tensor([[3.0, -4.0], [0.0, 1.0]])
    assert torch.linalg.norm(x).item() == pytest.approx(math.sqrt(26))
    assert torch.linalg.norm(x, 1).item() == pytest.approx(5.0)  # 2-D: the matrix 1-norm
    assert torch.linalg.norm(torch.tensor([3.0, -4.0]), math.inf).item() == 4.0
    assert torch.linalg.vector_norm(x, 0).item() == 3.0
    assert torch.linalg.vector_norm(x, -math.inf).item() == 0.0
    np.testing.assert_allclose(torch.linalg.matrix_norm(x, "nuc").numpy(),
                               np.linalg.norm(x.numpy(), "nuc"), rtol=1e-6)
    np.testing.assert_allclose(torch.linalg.matrix_norm(x, 2).numpy(),
                               np.linalg.norm(x.numpy(), 2), rtol=1e-6)
    np.testing.assert_allclose(torch.norm(x, dim=1).numpy(), [5.0, 1.0])
    assert torch.linalg.vector_norm(torch.ones(2, 2), dtype=torch.float64).dtype == torch.float64


def test_decomposition_values():
    a = torch.tensor(A3)
    q, r = torch.linalg.qr(a)
    np.testing.assert_allclose((q @ r).numpy(), A3, atol=1e-12)
    np.testing.assert_allclose(np.triu(r.numpy()), r.numpy())
    w, v = torch.linalg.eigh(torch.tensor(SPD))
    np.testing.assert_allclose(w.numpy(), np.linalg.eigvalsh(SPD), rtol=1e-12)
    np.testing.assert_allclose((v @ torch.diag(w) @ v.mT).numpy(), SPD, atol=1e-10)
    np.testing.assert_allclose(torch.linalg.eigvalsh(torch.tensor(SPD)).numpy(), w.numpy())
    u, s, vh = torch.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose((u * s) @ vh, A3, atol=1e-12)
    np.testing.assert_allclose(torch.linalg.svdvals(a).numpy(), s.numpy())


def test_decompositions_differentiate_forward_and_without_grad_record_nothing():
    """qr/svd were values-only (this test asserted their NotImplementedError); their forward
    derivatives now match central differences (reverse mode: test_linalg_qr_svd_grads.py)."""
    x = torch.tensor(A3, requires_grad=True)
    t = np.ones((3, 3))
    fns = {"R": lambda a: torch.linalg.qr(a).R, "S": lambda a: torch.linalg.svd(a).S}
    for name, fn in fns.items():
        _, tangent = torch.func.jvp(fn, (x.detach(),), (torch.tensor(t),))
        fd = (fn(torch.tensor(A3 + 1e-6 * t)).numpy() - fn(torch.tensor(A3 - 1e-6 * t)).numpy())
        np.testing.assert_allclose(tangent.numpy(), fd / 2e-6, rtol=1e-5, atol=1e-7,
                                   err_msg=name)
    with torch.no_grad():
        q, r = torch.linalg.qr(x)
    assert not q.requires_grad and q.grad_fn is None
    with pytest.raises(RuntimeError, match="Expected UPLO argument to be 'L' or 'U'"):
        torch.linalg.eigh(x, UPLO="X")


def test_svdvals_gradient_path_matches_lapack_values():
    x = torch.tensor(M43, requires_grad=True)
    np.testing.assert_allclose(torch.linalg.svdvals(x).detach().numpy(),
                               torch.linalg.svdvals(x.detach()).numpy(), rtol=1e-13)


ERRORS = [
    (lambda: torch.linalg.inv(torch.tensor([[1.0, 2.0], [2.0, 4.0]])),
     "linalg.inv: The diagonal element 2 is zero, the inversion could not be completed because "
     "the input matrix is singular."),
    (lambda: torch.linalg.inv(torch.stack([torch.eye(2), torch.zeros(2, 2)])),
     "linalg.inv: (Batch element 1): The diagonal element 1 is zero, the inversion could not be "
     "completed because the input matrix is singular."),
    (lambda: torch.linalg.solve(torch.ones(2, 2), torch.ones(2)),
     "torch.linalg.solve: The solver failed because the input matrix is singular."),
    (lambda: torch.linalg.cholesky(torch.stack([torch.eye(2), -torch.eye(2)])),
     "linalg.cholesky: (Batch element 1): The factorization could not be completed because the "
     "input is not positive-definite (the leading minor of order 1 is not positive-definite)."),
    (lambda: torch.linalg.cholesky(torch.tensor([[1.0, 2.0], [2.0, 1.0]])),
     "linalg.cholesky: The factorization could not be completed because the input is not "
     "positive-definite (the leading minor of order 2 is not positive-definite)."),
]
SHAPE_ERRORS = [
    (lambda: torch.linalg.det(torch.ones(2, 3)),
     "linalg.det: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: torch.linalg.det(torch.ones(3)),
     "linalg.det: The input tensor A must have at least 2 dimensions."),
    (lambda: torch.linalg.inv(torch.ones(2, 3)),
     "linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: torch.linalg.solve(torch.eye(2), torch.ones(3)),
     "linalg.solve: Incompatible shapes of A and B for the equation AX = B (2x2 and 3x1)"),
    (lambda: torch.linalg.det(torch.ones(2, 2, dtype=torch.long)),
     "linalg.det: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: torch.linalg.vector_norm(torch.ones(2, dtype=torch.long)),
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: torch.linalg.matrix_norm(torch.ones(3)),
     "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."),
    (lambda: torch.linalg.norm(torch.ones(2, 2, 2), ord=2),
     "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got 3D."),
    (lambda: torch.linalg.solve(torch.eye(2), torch.ones(2, dtype=torch.float64)),
     "linalg.solve: Expected A and B to have the same dtype, but found A of type Float and B of "
     "type Double instead"),
    (lambda: torch.linalg.matrix_power(torch.ones(2, 3), 2),
     "linalg.matrix_power: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: torch.linalg.multi_dot([torch.ones(3, 3)]),
     "multi_dot(): expected at least 2 tensors but got 1"),
    (lambda: torch.linalg.multi_dot([torch.ones(3, 3), torch.ones(2, 3, 3), torch.ones(3)]),
     "multi_dot(): tensor 1 must be 2D but got 3D"),
    (lambda: torch.linalg.multi_dot([torch.ones(2, 3, 3), torch.ones(3)]),
     "multi_dot(): the first tensor must be 1D or 2D but got 3D"),
    (lambda: torch.linalg.cross(torch.ones(2, 2), torch.ones(2, 2)),
     "linalg.cross: inputs dimension -1 must have length 3. Got 2 and 2"),
    (lambda: torch.linalg.cross(torch.ones(2, 3), torch.ones(3)),
     "linalg.cross: inputs must have the same number of dimensions."),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_singular_and_indefinite_inputs_raise_pytorchs_linalg_error(i):
    fn, text = ERRORS[i]
    with pytest.raises(torch.linalg.LinAlgError) as e:
        fn()
    assert isinstance(e.value, RuntimeError) and str(e.value) == text


@pytest.mark.parametrize("i", range(len(SHAPE_ERRORS)))
def test_bad_shapes_and_dtypes_raise_pytorchs_text(i):
    fn, text = SHAPE_ERRORS[i]
    with pytest.raises(RuntimeError) as e:
        fn()
    assert str(e.value) == text


def test_error_texts_match_pytorch():
    T = pytest.importorskip("torch")
    for fn, text in ERRORS + SHAPE_ERRORS:
        g = fn.__globals__["torch"]
        try:
            fn.__globals__["torch"] = T
            with pytest.raises(RuntimeError) as e:
                fn()
        finally:
            fn.__globals__["torch"] = g
        assert str(e.value) == text


def test_missing_linalg_names_say_so():
    with pytest.raises(NotImplementedError, match="torch.linalg.lstsq is not supported"):
        torch.linalg.lstsq  # noqa: B018
    from dynamic import linalg
    assert linalg is torch.linalg


@pytest.mark.parametrize("p", [2, 3, 1.5])
def test_norm_gradient_at_the_origin_is_zero(p):
    x = torch.zeros(2, 3, requires_grad=True)
    (g,) = torch.autograd.grad(torch.linalg.vector_norm(x, p, dim=1).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), np.zeros((2, 3)))
    y = torch.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    torch.norm(y, dim=1).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [[0.0, 0.0], [0.6, 0.8]])


def test_tensor_methods_and_old_norm_api():
    a = torch.tensor(A3, requires_grad=True)
    np.testing.assert_allclose(a.inverse().detach().numpy(), np.linalg.inv(A3), rtol=1e-12)
    assert a.det().item() == pytest.approx(np.linalg.det(A3))
    assert torch.tensor(SPD).logdet().item() == pytest.approx(np.log(np.linalg.det(SPD)))
    assert torch.norm(a, p="nuc").item() == pytest.approx(np.linalg.norm(A3, "nuc"))
    assert a.norm(p="fro", dim=(0, 1)).item() == pytest.approx(np.linalg.norm(A3))
    assert type(a.norm(1).grad_fn).__name__ == "LinalgVectorNormBackward0"
    assert a.norm(dtype=torch.float32).dtype == torch.float32


def test_compiled_function_captures_linalg_as_one_graph():
    """The records run in a compiled plan (``fullgraph=True`` raises on a graph break) with the
    eager values and gradients."""
    w = torch.tensor(R.standard_normal((3, 4)), requires_grad=True)
    x = torch.tensor(R.standard_normal((5, 3)))

    def f(x):
        s = w[:, :3] @ w[:, :3].T + torch.eye(3, dtype=torch.float64)
        return (torch.linalg.vector_norm(x @ w, dim=1).sum() + torch.linalg.det(s)
                + torch.linalg.solve(s, x[:3].T).sum() + torch.linalg.eigvalsh(s).sum()
                + torch.linalg.cholesky(s).sum() + torch.linalg.inv(s).sum())

    cf = torch.compile(f, fullgraph=True)
    for _ in range(2):
        w.grad = None
        y = cf(x)
        y.backward()
        got = w.grad.clone()
        w.grad = None
        ref = f(x)
        ref.backward()
        np.testing.assert_allclose(y.item(), ref.item(), rtol=1e-12)
        np.testing.assert_allclose(got.numpy(), w.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FNS))
def test_forward_mode_matches_finite_differences(name):
    fn, args = FNS[name]
    tangents = [R.standard_normal(np.shape(a)) for a in args]
    _, tan = torch.func.jvp(fn, tuple(torch.tensor(a) for a in args),
                            tuple(torch.tensor(t) for t in tangents))
    eps = 1e-6
    hi = fn(*[torch.tensor(a + eps * t) for a, t in zip(args, tangents, strict=True)])
    lo = fn(*[torch.tensor(a - eps * t) for a, t in zip(args, tangents, strict=True)])
    np.testing.assert_allclose(tan.numpy(), (hi.numpy() - lo.numpy()) / (2 * eps),
                               rtol=1e-6, atol=1e-7)
