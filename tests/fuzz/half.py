"""float16 programs: what the fuzzer demands of them (docs/guarantees.md, "float16 programs").

float16 has 11 significant bits (``eps = 2**-10``): its results cannot be held to float64's
tolerances, and the modes legitimately differ in where they accumulate in float32 (PyTorch and
the eager mode reduce float16 sums and means in float32) and in rewrites (the compiler's
``log(exp(x)) -> x`` skips a float16 rounding). So a float16 program is judged by these
rules:

* **every mode against the truth**: each oracle's value (compiled, native, LLVM, eager,
  torch; ``compile`` against its eager twin) is compared with the program's float64 evaluation
  on the same data, and must be no worse than a few times the reference's own error:
  ``8 |ref - truth| + rtol (|truth| + mag)``, ``rtol`` = ``eps16`` per op
  (:data:`.compare.TRUTH_RTOL`), as float32 programs are judged. Dtypes must match exactly
  (float16 stays float16).
* **the reference's kernels, one by one** (:func:`kernel_probe`, :func:`kernel_findings`):
  every registry op the fetches need that reads or makes a float16 value (gradient ops
  included) is re-run in float64 on the same arguments; its float16 result must be within
  :data:`KERNEL_ULP` ulp of that, plus float32 rounding of the terms a reduction adds
  (:func:`_allowed`). A correct float16 kernel computes in float32 (or wider) and rounds once,
  as PyTorch's CPU kernels do. This is the check that sees a kernel computing in float16 where
  it should not (a float16 accumulation loses half an ulp per term): every mode shares the
  registry's kernels, so no comparison between modes can. Integer and boolean results must
  equal the float64 run's, except where a float argument holds NaN.
* **float16 stays float16** (:func:`widened`).

Finite differences are off for float16 (they need float64: :func:`.oracles.fd_applies`); the
``torch`` oracle sits out the ops PyTorch has no CPU float16 kernel for (:data:`TORCH_NO_HALF`),
and a torch disagreement is judged again on torch's float32 run of the same data
(:func:`torch_in_float32`: PyTorch's own float16 precision is not ours to guarantee).
"""

from __future__ import annotations

import numpy as np

HALF = "float16"
EPS16 = float(np.finfo(np.float16).eps)  # 2**-10
EPS32 = float(np.finfo(np.float32).eps)
TORCH_NO_HALF = frozenset({"solve", "inv", "det", "logdet", "cholesky"})
"""Fuzz ops whose torch form has no float16 kernel on the CPU (torch 2.13: ``lu_cpu`` /
``cholesky_cpu`` "not implemented for 'Half'", ``linalg.inv``/``slogdet``: "Low precision
dtypes not supported"): the ``torch`` oracle sits out a float16 program using one, saying so
(:data:`SIT_OUT`; counted in the run summary). Any other torch error is a finding."""
SIT_OUT = "float16 sit-out:"
KNOWN_OPEN: dict = {}  # signature -> its strict-xfail case in regressions.json
"""Known, open float16 kernel findings (none now: the float16 scans, ``f16-cumsum``,
``f16-cumprod``, ``f16-prod-outer-axis``, compute in float32 and round once). A fuzz run
counts a case whose findings are all of these as *known open*, not as a failure (else every
run would stop at them); :func:`.case.check` still reports them (the xfail cases replay
them), and the entry goes once its case's ``xfail`` flag does (``test_half.py`` checks that
each entry names an xfail case)."""
KERNEL_ULP = 1.0
"""A kernel's allowance in ulp of its float16 result: one rounding of a value computed in
float32 or wider is within half an ulp (plus float32's own error); 1 ulp leaves room for a
double rounding, and none for a second float16 rounding inside the kernel."""


def torch_in_float32(prog, data):
    """The ``torch`` oracle's run of a float16 program in float32 on the same data. PyTorch's
    float16 double backward loses digits at ill-conditioned points that ours keeps (fuzz seed
    4089: the second derivative of ``log(var(x))`` of two close values, torch -2.906, truth
    -2.324, torch in float32 -2.324); a torch finding of a float16 program is judged again on
    this run: a finding that remains (at a value where both runs disagree: float32 does not
    overflow where float16 does, seeds 102074, 102108) is a difference of semantics, not of
    torch's precision."""
    from .compare import Upcast
    from .oracles import run_torch

    p32 = prog.copy()
    p32.dtype = "float32"
    return run_torch(p32, Upcast(data, np.float32))


def magnitude(probe) -> float:
    """The largest finite |value| a float16 run's kernels read or make (:func:`kernel_probe`),
    gradient ops included: the scale of a gradient's float16 rounding noise. A normalization's
    gradient multiplies it by ``1 / std``, which no forward value shows (fuzz seed 98068: a
    layer_norm row of ``[-0.909, -1.028]``, whose exact gradient 0 is -0.047 in PyTorch's
    float16 and the eager mode's, terms of 17 cancelling)."""
    m = 1.0
    for _, ins, got in probe:
        for a in (*ins, got):
            if a.dtype.kind == "f" and a.size:
                fin = np.abs(a[np.isfinite(a)])
                if fin.size:
                    m = max(m, float(fin.max()))
    return m


def ulp16(t: np.ndarray) -> np.ndarray:
    """The spacing of float16 numbers at ``|t|`` (as float64; 2**-24 below the normals)."""
    a = np.abs(np.asarray(t, np.float64))
    with np.errstate(over="ignore"):
        h = np.minimum(a, 65504.0).astype(np.float16)
    return np.maximum(np.spacing(h).astype(np.float64), 2.0 ** -24)


def _allowed(op, t: np.ndarray, args: list) -> np.ndarray:
    """The error a correct float16 kernel of registry op ``op`` may make at exact value ``t``:
    :data:`KERNEL_ULP` ulp of the result, plus, for an op that is not elementwise (a
    reduction, contraction, scan, row kernel), float32 rounding of the terms it adds:
    ``4 n eps32 m**2`` (``n``: the largest argument's size, ``m``: the largest finite argument
    magnitude, at least 1). A float16 accumulation loses ``eps16 / 2`` per term instead."""
    allowed = KERNEL_ULP * ulp16(t)
    if op.kind == "elementwise":
        return allowed
    arrays = [a for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    m = max((float(np.max(np.abs(a[np.isfinite(a)]), initial=0.0)) for a in arrays),
            default=0.0)
    n = max((a.size for a in arrays), default=1)
    return allowed + 4 * n * EPS32 * max(m * m, 1.0)


def _half(t) -> bool:
    return t.aval.dtype == np.float16


def kernel_probe(sess, fetches: list, feeds: dict) -> list[tuple]:
    """``(operation, argument values, result)`` of every registry op the fetches need that
    reads or makes a float16 value, as the reference session computes them (one extra run)."""
    seen, todo, ops = set(), list(fetches), []
    while todo:
        op = todo.pop().op
        if id(op) in seen:
            continue
        seen.add(id(op))
        todo.extend(op.inputs)
        if op.op_def is not None and len(op.outputs) == 1 and (
                _half(op.outputs[0]) or any(_half(t) for t in op.inputs)) and \
                all(t.aval.shape is not None for t in op.inputs):  # at_rank needs no fed rank
            ops.append(op)
    tensors = list({id(t): t for op in ops for t in (*op.inputs, op.outputs[0])}.values())
    vals = dict(zip(map(id, tensors), sess.run(tensors, feeds), strict=True))
    return [(op, [np.asarray(vals[id(t)]) for t in op.inputs], np.asarray(vals[id(op.outputs[0])]))
            for op in ops]


def widened(values: dict) -> list:
    """float16 stays float16: a float value of a float16 program's reference run (an output, a
    gradient, a variable after a step) in a wider dtype is a ``dtype`` finding (an op's dtype
    rule that promotes it: every mode follows the rule, so no comparison between them sees it)."""
    from .compare import Finding

    return [Finding("reference", "dtype", key, f"{v.dtype} in a float16 program")
            for key, v in sorted(values.items()) if v.dtype.kind == "f" and v.dtype != np.float16]


def kernel_findings(probes: dict[int, list]) -> list:
    """The reference's float16 kernels against the same kernels in float64 on the same
    arguments (``probes``: run -> :func:`kernel_probe`); findings of kind ``kernel``
    (``b{run}/{op name}``), the worst per run."""
    from staticgraph.ops.core import eval_numpy

    out = []
    for k, probe in sorted(probes.items()):
        worst = None
        for op, ins, got in probe:
            args = [a.astype(np.float64) if a.dtype == np.float16 else a for a in ins]
            try:
                with np.errstate(all="ignore"):
                    t = np.asarray(eval_numpy(op.op_def, args, op.params))
            except Exception:  # noqa: BLE001 - float64 where the float16 run answered: no check
                continue
            f = _op_finding(op, f"b{k}/{op.name}", got, t, args)
            if f is not None and (worst is None or f.score > worst.score):
                worst = f
        if worst is not None:
            out.append(worst)
    return out


def _op_finding(op, key: str, got: np.ndarray, t: np.ndarray, args: list):
    from .compare import Finding

    name = f"{op.type} ({op.name}, built at {op.site})" if getattr(op, "site", None) else op.type
    if got.dtype.kind != "f" or t.dtype.kind != "f":
        if any(isinstance(a, np.ndarray) and a.dtype.kind == "f" and np.isnan(a).any()
               for a in args):  # where a NaN goes is top_k's algorithm's, by dtype (seed 95144:
            return None  # TF's k == 1 max skips or takes it by AVX lane; docs/guarantees.md)
        if got.shape == t.shape and not np.array_equal(got, t.astype(got.dtype)):
            return Finding("reference", "kernel", key, f"{name}: {int((got != t).sum())} "
                           "values differ from the float64 run")
        return None
    if got.shape != t.shape:
        return Finding("reference", "kernel", key, f"{name}: shape {got.shape} != float64 "
                       f"run's {t.shape}")
    g, r = got.astype(np.float64), t.astype(got.dtype).astype(np.float64)
    nan, inf = np.isnan(g) != np.isnan(r), np.isinf(g) != np.isinf(r)
    inf |= np.isinf(g) & np.isinf(r) & (np.sign(g) != np.sign(r))
    if nan.any() or inf.any():
        i = tuple(int(x) for x in np.argwhere(nan | inf)[0])
        return Finding("reference", "kernel", key, f"{name}: NaN/inf positions differ from "
                       f"the float64 run rounded to {got.dtype}, e.g. at {i}: {got[i]!r} vs "
                       f"{t[i]!r}")
    fin = np.isfinite(g)
    if not fin.any():
        return None
    tf = np.where(fin, t, 0.0).astype(np.float64)
    err = np.abs(np.where(fin, g, 0.0) - tf)
    ratio = err / _allowed(op.op_def, tf, args)
    i = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    if ratio[i] <= 1.0:
        return None
    i = tuple(int(x) for x in i)
    return Finding("reference", "kernel", key, f"{name} at {i}: {got[i]!r} vs float64 "
                   f"{float(t[i])!r} (|err| {err[i]:.3g} = {err[i] / ulp16(t[i]):.3g} float16 "
                   f"ulp, {ratio[i]:.3g}x the allowance)", float(ratio[i]))
