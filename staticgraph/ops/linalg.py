"""Linear algebra ops: ``matrix_inverse`` (TF's ``MatrixInverse``, ``tf.linalg.inv``).

The kernel is LAPACK's pivoted LU (``numpy.linalg.inv``) computed in float64 and rounded to the
input's dtype, so a float32 inverse is as accurate as float32 can hold (an unrolled float32
elimination lost four digits on an ill-conditioned 9x9 normal-equation matrix). The VJP is the
inverse's rule, ``dA = -A^-T g A^-T``, written with ``matmul``/``transpose`` so it builds graph
nodes statically and is differentiable again.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, bind, register
from .elementwise import neg
from .nn import matmul
from .shapes import transpose


def matrix_inverse(x):
    """The inverse of each square matrix in the last two dims of ``x``."""
    return bind(MATRIX_INVERSE, x)


def _inverse_kernel(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    try:
        inv = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise ValueError("Input is not invertible.") from None
    return inv.astype(x.dtype, copy=False)


def _inverse_infer(x: AVal) -> tuple:
    if x.ndim < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {x.ndim}")
    n, m = x.shape[-2], x.shape[-1]
    if n is not None and m is not None and n != m:
        raise ValueError(f"Dimensions must be equal, but are {n} and {m}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"matrix_inverse needs a float matrix, got {x.dtype}")
    return x.shape, x.dtype


def _inverse_vjp(g, out, x):
    inv_t = transpose(out)
    return (neg(matmul(matmul(inv_t, g), inv_t)),)


def _inverse_jvp(ts, out, x):
    return neg(matmul(matmul(out, ts[0]), out))


MATRIX_INVERSE = register(Op(name="matrix_inverse", impl=_inverse_kernel, infer=_inverse_infer,
                             vjp=_inverse_vjp, grad_name="LinalgInvExBackward0", saves=("out",),
                             nin=1, tf_name="MatrixInverse", fresh_output=True,
                             jvp=_inverse_jvp))
