"""Time to the first result of the MLP training step (256x784-512-10, softmax CE, SGD) in a
fresh process, measured from before the interpreter starts: the static mode with empty caches
(LLVM kernels; and with ``STATICGRAPH_LLVM=0``, numba compiling every kernel), the warm start
(the same cache directory again), and JAX's first call (``jax.jit`` of the same step), the
modes interleaved round by round. Each process also reports when compiled code first ran and
whether numba and ``llvmlite.binding`` were imported by then.

The package's bytecode is compiled first (``compileall``, as an installed package has it; on a
machine that sets ``PYTHONDONTWRITEBYTECODE`` every process would otherwise compile ~100
modules from source, 0.05-0.2 s); ``--no-bytecode`` measures without doing that.

    python -m benchmarks.first_result --reps 5 [--jax-path /tmp/jaxlib] [--no-bytecode]

``--against DIR`` (a source tree of another version, e.g. ``git archive main``) measures only
the warm start, this tree and ``DIR`` interleaved round by round (each with its own cache,
warmed first), and prints the per-round ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

_DATA = """
import numpy as np
rng = np.random.default_rng(0)
N, D, H, C = 256, 784, 512, 10
X = rng.standard_normal((N, D)).astype(np.float32)
Y = rng.integers(0, C, N)
W1 = (rng.standard_normal((D, H)) * 0.05).astype(np.float32)
W2 = (rng.standard_normal((H, C)) * 0.05).astype(np.float32)
"""
STATIC = _DATA + """
import sys, time
import staticgraph as tf
g = tf.Graph()
with g.as_default():
    x = tf.placeholder(tf.float32, [None, D])
    y = tf.placeholder(tf.int64, [None])
    w1, b1 = tf.Variable(W1), tf.Variable(np.zeros(H, np.float32))
    w2, b2 = tf.Variable(W2), tf.Variable(np.zeros(C, np.float32))
    logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    init = tf.global_variables_initializer()
s = tf.Session(graph=g)
s.run(init)
l0, _ = s.run([loss, train], {x: X, y: Y})
t = time.time()
inst = next(i for i in s._executor.instances() if i.plan.kernel_list)
print("RESULT", t, float(l0), inst.tier, "numba" in sys.modules, "llvmlite.binding" in sys.modules)
"""
JAX = _DATA + """
import time
import jax, jax.numpy as jnp
def loss_fn(p, x, y):
    h = jax.nn.relu(x @ p[0] + p[1])
    lp = jax.nn.log_softmax(h @ p[2] + p[3])
    return -jnp.mean(lp[jnp.arange(x.shape[0]), y])
@jax.jit
def step(p, x, y):
    l, g = jax.value_and_grad(loss_fn)(p, x, y)
    return l, [a - 0.1 * b for a, b in zip(p, g)]
p = [jnp.asarray(W1), jnp.zeros(H, jnp.float32), jnp.asarray(W2), jnp.zeros(C, jnp.float32)]
l0, p = step(p, X, Y)
l0 = float(jax.block_until_ready(l0))
print("RESULT", time.time(), l0, "jax", False, False)
"""


def run_once(code: str, env: dict, cwd: str | None = None) -> tuple[float, str]:
    """Seconds from launch to the first result (whole process), and the rest of its line
    (``cwd``: the directory ``-c`` code imports the package from first)."""
    t0 = time.time()
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=600, cwd=cwd)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("RESULT "))
    _, t, rest = line.split(" ", 2)
    return float(t) - t0, rest


def compare_warm(other: str, reps: int, base: dict) -> None:
    """Warm start of this tree against the tree at ``other``, interleaved (both warmed first)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = {"this tree": here, "against": os.path.abspath(other)}
    times: dict[str, list[float]] = {m: [] for m in trees}
    with tempfile.TemporaryDirectory() as cache:
        envs = {m: dict(base, STATICGRAPH_CACHE_DIR=os.path.join(cache, str(i)),
                        PYTHONPATH=d)
                for i, (m, d) in enumerate(trees.items())}
        for m in trees:  # warm both caches (and the bytecode)
            run_once(STATIC, envs[m], trees[m])
            run_once(STATIC, envs[m], trees[m])
        for rep in range(reps):
            for m in trees:
                dt, rest = run_once(STATIC, envs[m], trees[m])
                times[m].append(dt)
            print(f"round {rep + 1}: " + ", ".join(f"{m} {v[-1]:.3f}" for m, v in
                                                  times.items()) +
                  f"  ratio {times['this tree'][-1] / times['against'][-1]:.2f}", flush=True)
    print("\nwarm start, launch to first result (s): median [min, max]")
    for m, v in times.items():
        print(f"  {m:10s} {statistics.median(v):.3f} [{min(v):.3f}, {max(v):.3f}]  {trees[m]}")
    ratios = sorted(a / b for a, b in zip(times["this tree"], times["against"], strict=True))
    print(f"  per-round ratio this/against: median {statistics.median(ratios):.2f} "
          f"[{ratios[0]:.2f}, {ratios[-1]:.2f}]")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--jax-path", default="", help="a --target directory holding jax")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="do not compile the package's bytecode first")
    ap.add_argument("--against", default="",
                    help="another source tree: warm start only, interleaved with it")
    a = ap.parse_args(argv)
    if not a.no_bytecode:
        import compileall

        import staticgraph

        compileall.compile_dir(os.path.dirname(staticgraph.__file__), quiet=1)
        if a.against:
            compileall.compile_dir(os.path.join(a.against, "staticgraph"), quiet=1)
    base = {k: v for k, v in os.environ.items() if not k.startswith("STATICGRAPH_")}
    if a.against:
        compare_warm(a.against, a.reps, base)
        return 0
    modes = {"static cold (LLVM)": {}, "static warm": None,
             "static cold (numba, STATICGRAPH_LLVM=0)": {"STATICGRAPH_LLVM": "0"}}
    if a.jax_path:
        modes["jax first call"] = {"PYTHONPATH": a.jax_path + os.pathsep +
                                   base.get("PYTHONPATH", ""), "JAX_PLATFORMS": "cpu"}
    times: dict[str, list[float]] = {m: [] for m in modes}
    notes: dict[str, str] = {}
    for rep in range(a.reps):
        with tempfile.TemporaryDirectory() as cache:
            for m, extra in modes.items():
                # every cold run gets an empty cache; the warm start the LLVM run's
                d = os.path.join(cache, "llvm" if m in ("static warm", "static cold (LLVM)")
                                 else m.split()[0] + m.split()[-1])
                env = dict(base, STATICGRAPH_CACHE_DIR=d, **(extra or {}))
                code = JAX if m.startswith("jax") else STATIC
                dt, rest = run_once(code, env)
                times[m].append(dt)
                notes[m] = rest
        print(f"round {rep + 1}: " + ", ".join(f"{m} {v[-1]:.3f}" for m, v in times.items()),
              flush=True)
    print("\nwhole process, launch to first result (s): median [min, max]; last run's loss, "
          "tier, numba and llvmlite.binding imported by then")
    for m, v in times.items():
        print(f"  {m:42s} {statistics.median(v):.3f} [{min(v):.3f}, {max(v):.3f}]  {notes[m]}")
    if a.jax_path:
        j = statistics.median(times["jax first call"])
        c = statistics.median(times["static cold (LLVM)"])
        print(f"  static cold / jax first call: {c / j:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
