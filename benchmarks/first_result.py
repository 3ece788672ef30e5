"""Time to the first result of the MLP training step (256x784-512-10, softmax CE, SGD) in a
fresh process, measured from before the interpreter starts: the static mode with empty caches
(LLVM kernels; and with ``STATICGRAPH_LLVM=0``, numba compiling every kernel), the warm start
(the same cache directory again), and JAX's first call (``jax.jit`` of the same step, JAX's
persistent compilation cache off), the modes interleaved round by round. Each process also
reports its CPU time by then (user and system, all threads: on this shared machine a steadier
figure than the wall time, which waits for a core whenever the machine is busy), the time
from its framework's import to the result (*in-process*), whether numba and
``llvmlite.binding`` were imported by then, and, for the static mode, which code answered
(quick LLVM kernels, optimised ones, numba's) and when the optimised LLVM kernels and numba's
took over while the process went on training (``Instance.switched_at``).

*Empty caches* means what a new user's first run after ``pip install`` sees: an empty
``STATICGRAPH_CACHE_DIR`` and no numba cache of the scalar library (``cpu/scalar.py``'s
``cache=True`` functions write ``.nbi``/``.nbc`` files to ``staticgraph/compiler/cpu/
__pycache__``, which a wheel does not ship): those files are removed from the measured tree
before every cold run (``--keep-numba-cache`` keeps them).

The package's bytecode is compiled first (``compileall``, as an installed package has it; on a
machine that sets ``PYTHONDONTWRITEBYTECODE`` every process would otherwise compile ~100
modules from source, 0.05-0.2 s); ``--no-bytecode`` measures without doing that.

    python -m benchmarks.first_result --reps 5 [--jax-path /tmp/jaxlib] [--no-bytecode]
        [--keep-numba-cache]

``--against DIR`` (a source tree of another version, e.g. ``git archive main``) measures only
the warm start, this tree and ``DIR`` interleaved round by round (each with its own cache,
warmed first, the order alternating), with the *floor* (the same script without
``staticgraph``: interpreter, ``site``, numpy, the data) in the same rounds, and prints the
per-round ratios of wall and CPU time and staticgraph's own CPU time (each tree's less the
floor's).
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
t_imp = time.time()
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
code = "quick" if inst.quick else "numba" if inst.tier == "numba" else "optimised"
print("RESULT", t, time.process_time(), float(l0), code, "numba" in sys.modules,
      "llvmlite.binding" in sys.modules, flush=True)
end = time.time() + 120  # go on training until numba's dispatchers run
while inst.tier != "numba" and time.time() < end:
    s.run([loss, train], {x: X, y: Y})
sw = inst.switched_at
print("TIERS", t_imp, sw.get("optimised", 0.0 if code == "quick" else t), sw.get("numba", t))
"""
FLOOR = _DATA + """
import time
print("RESULT", time.time(), time.process_time(), 0.0, "floor", False, False)
"""
JAX = _DATA + """
import time
import jax, jax.numpy as jnp
t_imp = time.time()
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
t = time.time()
print("RESULT", t, time.process_time(), l0, "jax", False, False)
print("TIERS", t_imp, t, t)
"""


COLD, JAX_MODE = "static cold (LLVM)", "jax first call"


def run_once(code: str, env: dict, cwd: str | None = None) -> tuple[float, float, str]:
    """Seconds from launch to the first result (whole process), the process's CPU time (user
    and system, all threads) by then, and the rest of its line (``cwd``: the directory ``-c``
    code imports the package from first)."""
    dt, cpu, rest, _ = run_tiers(code, env, cwd)
    return dt, cpu, rest


def run_tiers(code: str, env: dict, cwd: str | None = None) -> tuple[float, float, str, tuple]:
    """:func:`run_once`'s figures and, from the ``TIERS`` line where the script prints one,
    the seconds from launch to: the framework's import done, optimised code running, numba's
    dispatchers running (0.0: never)."""
    t0 = time.time()
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=600, cwd=cwd)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("RESULT "))
    _, t, cpu, rest = line.split(" ", 3)
    tiers = next((ln.split()[1:] for ln in r.stdout.splitlines() if ln.startswith("TIERS ")),
                 [])
    return (float(t) - t0, float(cpu), rest,
            tuple(float(v) - t0 if float(v) else 0.0 for v in tiers))


def purge_numba_cache() -> int:
    """Remove numba's cache of the scalar library from the measured tree (what a fresh
    install lacks); the number of files removed."""
    import staticgraph

    d = os.path.join(os.path.dirname(staticgraph.__file__), "compiler", "cpu", "__pycache__")
    n = 0
    for f in os.listdir(d) if os.path.isdir(d) else []:
        if f.endswith((".nbi", ".nbc")):
            os.remove(os.path.join(d, f))
            n += 1
    return n


def _summary(label: str, v: list[float]) -> str:
    return f"{label} {statistics.median(v):.3f} [{min(v):.3f}, {max(v):.3f}]"


def _ratios(a: list[float], b: list[float]) -> str:
    r = sorted(x / y for x, y in zip(a, b, strict=True))
    return f"median {statistics.median(r):.2f} [{r[0]:.2f}, {r[-1]:.2f}]"


def compare_warm(other: str, reps: int, base: dict) -> None:
    """Warm start of this tree against the tree at ``other``, interleaved (both warmed first;
    the order alternates round by round), with the floor: the same script without
    ``staticgraph`` (the interpreter, ``site``, numpy and the data)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = {"this tree": here, "against": os.path.abspath(other), "floor": here}
    wall: dict[str, list[float]] = {m: [] for m in trees}
    cpu: dict[str, list[float]] = {m: [] for m in trees}
    with tempfile.TemporaryDirectory() as cache:
        envs = {m: dict(base, STATICGRAPH_CACHE_DIR=os.path.join(cache, str(i)),
                        PYTHONPATH=d)
                for i, (m, d) in enumerate(trees.items())}
        code = {m: FLOOR if m == "floor" else STATIC for m in trees}
        for m in trees:  # warm both caches (and the bytecode)
            run_once(code[m], envs[m], trees[m])
            run_once(code[m], envs[m], trees[m])
        order = list(trees)
        for rep in range(reps):
            for m in (order if rep % 2 == 0 else order[::-1]):
                dt, c, _ = run_once(code[m], envs[m], trees[m])
                wall[m].append(dt)
                cpu[m].append(c)
            print(f"round {rep + 1}: " + ", ".join(f"{m} {wall[m][-1]:.3f} s ({cpu[m][-1]:.3f} "
                                                   f"CPU)" for m in trees) +
                  f"  ratio {wall['this tree'][-1] / wall['against'][-1]:.2f}", flush=True)
    print("\nwarm start, launch to first result, s: median [min, max]; CPU: the process's user "
          "and system time by then (all threads; less sensitive to load than wall time)")
    for m in trees:
        print(f"  {m:10s} {_summary('wall', wall[m])}  {_summary('CPU', cpu[m])}  "
              f"{trees[m] if m != 'floor' else '(no staticgraph)'}")
    print(f"  per-round ratio this/against: wall {_ratios(wall['this tree'], wall['against'])}"
          f", CPU {_ratios(cpu['this tree'], cpu['against'])}")
    own = [a - f for a, f in zip(cpu["this tree"], cpu["floor"], strict=True)]
    other_own = [a - f for a, f in zip(cpu["against"], cpu["floor"], strict=True)]
    print(f"  staticgraph's own CPU (minus the floor's, same round): this tree "
          f"{statistics.median(own):.3f}, against {statistics.median(other_own):.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--jax-path", default="", help="a --target directory holding jax")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="do not compile the package's bytecode first")
    ap.add_argument("--no-numba", action="store_true",
                    help="leave out the numba-only cold mode (STATICGRAPH_LLVM=0, slow)")
    ap.add_argument("--keep-numba-cache", action="store_true",
                    help="keep numba's cache of the scalar library between cold runs")
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
    modes: dict[str, dict | None] = {
        COLD: {}, "static warm": None,
        "static cold (LLVM, STATICGRAPH_LLVM_QUICK=0)": {"STATICGRAPH_LLVM_QUICK": "0"}}
    if not a.no_numba:
        modes["static cold (numba, STATICGRAPH_LLVM=0)"] = {"STATICGRAPH_LLVM": "0"}
    if a.jax_path:
        modes[JAX_MODE] = {"PYTHONPATH": a.jax_path + os.pathsep + base.get("PYTHONPATH", ""),
                           "JAX_PLATFORMS": "cpu", "JAX_ENABLE_COMPILATION_CACHE": "false"}
    res: dict[str, list[tuple]] = {m: [] for m in modes}
    notes: dict[str, str] = {}
    for rep in range(a.reps):
        # the order alternates round by round; the warm start follows the cold LLVM run
        # whose cache it reads
        order = [m for m in modes if m != "static warm"]
        order = order if rep % 2 == 0 else order[::-1]
        order.insert(order.index(COLD) + 1, "static warm")
        with tempfile.TemporaryDirectory() as cache:
            for m in order:
                extra = modes[m]
                d = os.path.join(cache, COLD if m == "static warm" else m)
                env = dict(base, STATICGRAPH_CACHE_DIR=d, **(extra or {}))
                if m.startswith("static cold") and not a.keep_numba_cache:
                    purge_numba_cache()
                dt, c, rest, tiers = run_tiers(JAX if m == JAX_MODE else STATIC, env)
                res[m].append((dt, c, dt - tiers[0], tiers[1], tiers[2]))
                notes[m] = rest
        print(f"round {rep + 1}: " + ", ".join(f"{m} {v[-1][0]:.3f}" for m, v in res.items()),
              flush=True)
    print("\nlaunch to first result (s, whole process): median [min, max]; CPU: the process's "
          "user+system time by then; in-process: from the framework's import done to the "
          "result; optimised: launch to optimised code running (LLVM O3 or numba); numba: "
          "launch to numba's dispatchers running; last run's loss, the code that answered, "
          "numba and llvmlite.binding imported by then")
    for m, v in res.items():
        col = list(zip(*v, strict=True))
        print(f"  {m:45s} {_summary('first', col[0])}  CPU {statistics.median(col[1]):.3f}  "
              f"in-process {statistics.median(col[2]):.3f}  optimised "
              f"{statistics.median(col[3]):.3f}  numba {statistics.median(col[4]):.3f}  "
              f"{notes[m]}")
    if a.jax_path:
        for k, what in ((0, "whole process"), (2, "in-process")):
            r = sorted(x[k] / y[k] for x, y in zip(res[COLD], res[JAX_MODE], strict=True))
            print(f"  static cold / jax first call, {what}, per round: median "
                  f"{statistics.median(r):.2f} [{r[0]:.2f}, {r[-1]:.2f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
