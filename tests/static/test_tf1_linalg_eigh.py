"""``tf.linalg.eigh``/``tf.self_adjoint_eig`` and ``tf.linalg.eigvalsh``/``tf.self_adjoint_eigvals``
on the eigendecomposition records ``torch.linalg.eigh`` uses (TF's behaviour: the lower triangle
read, TF's gradient on it): values and gradients against numpy (whose ``eigh`` also reads the
lower triangle) and central differences on every executor, against TensorFlow where installed."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg

from .conftest import check_case_against_numpy, check_case_against_tensorflow

RNG = np.random.default_rng(404)


def _skewed(*shape: int) -> np.ndarray:
    """Distinct eigenvalues; the upper triangle disagrees with the lower (it is never read)."""
    return np.diag([1.0, 2.5, 4.0, 6.0][:shape[-1]]) + 0.3 * RNG.standard_normal(shape)


def _rebuilt(e: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (v * e[..., None, :]) @ np.swapaxes(v, -1, -2)


CASES = {
    "eigvalsh": (lambda tf, x: tf.linalg.eigvalsh(x), np.linalg.eigvalsh, [_skewed(3, 3)]),
    "self_adjoint_eigvals_batch": (lambda tf, x: tf.self_adjoint_eigvals(x),
                                   np.linalg.eigvalsh, [_skewed(2, 4, 4)]),
    "eigh_values": (lambda tf, x: tf.linalg.eigh(x)[0], lambda x: np.linalg.eigh(x)[0],
                    [_skewed(2, 3, 3)]),
    "eigh_vectors_squared": (lambda tf, x: tf.linalg.eigh(x)[1] ** 2,
                             lambda x: np.linalg.eigh(x)[1] ** 2, [_skewed(3, 3)]),
    "self_adjoint_eig_rebuilt": (
        lambda tf, x: (lambda e, v: tf.matmul(v * tf.expand_dims(e, -2), v, transpose_b=True))(
            *tf.self_adjoint_eig(x)),
        lambda x: _rebuilt(*np.linalg.eigh(x)), [_skewed(2, 3, 3)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_numpy(name, executor):
    check_case_against_numpy(CASES[name], executor, rtol=1e-10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_shapes_values_and_gradients_match_tensorflow(name):
    check_case_against_tensorflow(CASES[name], rtol=1e-4, atol=2e-5)


def test_names_shapes_and_errors():
    with sg.Graph().as_default():
        e, v = sg.linalg.eigh(sg.placeholder(sg.float32, [None, 3, 3]))
        assert e.name == "SelfAdjointEigV2:0" and e.shape.as_list() == [None, 3]
        assert v.shape.as_list() == [None, 3, 3] and v.dtype == sg.float32
        assert sg.self_adjoint_eigvals(sg.ones([2, 2])).name == "SelfAdjointEigV2_1:0"
        with pytest.raises(ValueError, match="Dimensions must be equal, but are 2 and 3"):
            sg.linalg.eigh(sg.ones([2, 3]))
        with pytest.raises(TypeError, match="DataType int32"):
            sg.linalg.eigvalsh(sg.ones([2, 2], sg.int32))
