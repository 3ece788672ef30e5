"""inf and NaN are values, not warnings (as in TensorFlow and PyTorch): the package's numpy
kernels do not show numpy's floating-point RuntimeWarnings; the user's own numpy calls still do.

Run in a fresh interpreter: pytest resets warning filters that modules install while it imports
them, so an in-process check would not see what a user's program sees."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_PROGRAM = textwrap.dedent("""
    import numpy as np
    import dynamic as dt
    import staticgraph as tf

    a = dt.tensor([0.0, -1.0, 2.0], requires_grad=True)
    b = a.log()
    (b * 1.0).sum().backward()
    assert np.isneginf(b.detach().numpy()[0]) and np.isnan(b.detach().numpy()[1])
    np.testing.assert_allclose(a.grad.numpy(), [np.inf, -1.0, 0.5])
    assert np.isnan((dt.tensor([0.0]) / dt.tensor([0.0])).item())

    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None], name="x")
        y = tf.log(x) / x
    with tf.Session(graph=g, executor="reference") as s:
        out = s.run(y, {x: np.array([0.0, 1.0], np.float32)})
    assert np.isneginf(out[0]) and out[1] == 0.0
    print("LIBRARY-DONE", flush=True)
    np.log(np.zeros(1))  # the user's own call: numpy's warning as usual
""")


def test_library_kernels_do_not_warn_on_inf_and_nan_but_user_numpy_does() -> None:
    r = subprocess.run([sys.executable, "-W", "default", "-c", _PROGRAM],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "LIBRARY-DONE" in r.stdout
    warned = [ln for ln in r.stderr.splitlines() if "RuntimeWarning" in ln]
    assert len(warned) == 1 and "divide by zero encountered in log" in warned[0], r.stderr
