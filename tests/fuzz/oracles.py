"""Run one program on every oracle and collect its values.

Oracles: ``compiled`` (``tf.Session()``, the numba executor), ``native`` (the compiler's native
tier only: ``NumbaExecutor(native_only=True)``), ``llvm`` (the LLVM renderer's kernels wherever
it covers them: ``NumbaExecutor(llvm_only=True)``), ``reference`` (``Session(executor=
"reference")``, the numpy interpreter), ``eager`` (``dynamic``, the same ops on eager tensors),
``torch`` (PyTorch, when installed), ``compile`` (the eager form through ``dynamic.compile``,
against its eager twin: :mod:`.oracle_compile`) and ``fd`` (central finite differences of the
plain-numpy rendering, float64 programs of smooth ops only).

A result maps ``"b{k}/{name}"`` (run ``k``; ``y{j}`` output, ``g{i}`` gradient, ``h{i}`` second
order, ``w{i}`` a variable after the optimizer step) to an array; ``errors`` maps a run to its
exception text. ``build`` holds an error raised while building the graph (an invalid program
when the reference raises it too).
"""

from __future__ import annotations

import functools
import re
import traceback
from dataclasses import dataclass, field

import numpy as np

from . import composites as K
from . import contract as C
from . import half as HF
from . import paradigms as P
from . import wide_forms as W
from .ops_table import SMOOTH
from .program import Data, Program, reaching
from .render import body, static_script

STATIC = ("compiled", "native", "llvm", "reference")
_TEST_EXECUTORS = {"native": ("numba-native", "native_only"), "llvm": ("numba-llvm", "llvm_only")}


@dataclass
class Result:
    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    build: str | None = None
    skipped: str | None = None
    against: Result | None = None  # fd: the reference run on the same (edge-free) data;
    # compile: the eager twin of its protocol
    stats: dict | None = None  # compile: plans made and graph breaks (oracle_compile.py)
    calls: Program | None = None  # compile: the program with one run per call
    contract: list = field(default_factory=list)  # static: breaches of .contract's rules
    paradigm: dict = field(default_factory=dict)  # reference: run -> {oracle: value kinds} a
    # documented paradigm difference makes differ there (.paradigms)
    kernels: dict = field(default_factory=dict)  # reference, float16 programs: run -> its
    # float16 kernels' arguments and results (.half.kernel_probe)


def _err(e: BaseException) -> str:
    """``Type: message at file:line`` (innermost frame), one line, no terminal colours."""
    tb = traceback.extract_tb(e.__traceback__)
    where = f" at {tb[-1].filename.split('/')[-1]}:{tb[-1].lineno}" if tb else ""
    msg = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(e)).split())
    return f"{type(e).__name__}: {msg[:300]}{where}"


def executor_name(oracle: str) -> str | None:
    """The ``Session(executor=...)`` name of a static oracle (registers the test-only
    native and LLVM ones)."""
    if oracle == "reference":
        return "reference"
    if oracle == "compiled":
        return None
    from staticgraph.session import EXECUTORS, default_executor_name

    default_executor_name()
    if "numba" not in EXECUTORS:
        return None
    name, flag = _TEST_EXECUTORS[oracle]
    EXECUTORS.setdefault(name, functools.partial(EXECUTORS["numba"], **{flag: True}))
    return name


def _dense(v: object) -> object:
    """A fetched value as the other oracles give it: a gradient of a gathered parameter comes
    back as TF's ``IndexedSlicesValue`` (values per id, duplicates kept), here summed into the
    dense array (as ``tf.convert_to_tensor`` of the slices would)."""
    if type(v).__name__ != "IndexedSlicesValue":
        return v
    dt = v.values.dtype
    acc = np.float32 if dt == np.float16 else dt  # float16 slices summed in float32, as the
    out = np.zeros(tuple(int(d) for d in v.dense_shape), acc)  # registry's kernels sum them
    np.add.at(out, np.asarray(v.indices, np.int64), v.values)
    return out.astype(dt, copy=False)


def run_static(prog: Program, data: Data, oracle: str) -> Result:
    import staticgraph as tf
    from staticgraph import ops

    res = Result()
    graph = tf.Graph()
    ns = {"tf": tf, "ops": ops, "np": np, "W": W, "DT": np.dtype(prog.dtype),
          "VARS": data.static}
    try:
        with graph.as_default():
            exec(static_script(prog), ns)  # noqa: S102 - our own rendered program
            init = tf.global_variables_initializer()
    except Exception as e:  # noqa: BLE001 - the program may be invalid
        res.build = _err(e)
        return res
    try:
        sess = tf.Session(graph=graph, executor=executor_name(oracle))
        sess.run(init)
    except Exception as e:  # noqa: BLE001
        res.build = _err(e)
        return res
    last = None
    needed = [f"x{i}" for i in reaching(prog) if i < len(prog.inputs)]
    probing = oracle == "reference" and P.probed(prog)
    with sess:
        for k in range(len(prog.batches)):
            feeds = {ns["FEED_OF"][n]: a for n, a in data.batch(k).items() if n in ns["FEED_OF"]}
            kept = C.copies(feeds)
            try:
                if k == 0:
                    res.contract += C.failed_runs(sess, _targets(ns), ns, feeds, needed)
                before = {}
                if ns["TRAIN"] is not None:
                    if probing:  # the step's gradients are those of the values before it
                        before = _probe(prog, sess, ns, feeds)
                    sess.run(ns["TRAIN"], feeds)
                out = sess.run(ns["FETCH"], feeds)
                if probing:
                    res.paradigm[k] = P.merge(before, _probe(prog, sess, ns, feeds))
                if oracle == "reference" and prog.dtype == HF.HALF:
                    res.kernels[k] = HF.kernel_probe(sess, list(ns["FETCH"].values()), feeds)
            except Exception as e:  # noqa: BLE001 - recorded, compared with the reference
                res.errors[k] = _err(e)
                continue
            for name, v in out.items():
                res.values[f"b{k}/{name}"] = np.array(_dense(v), copy=True)
            res.contract += [f"b{k}: {x}" for x in C.written_feeds(kept, feeds)
                             + C.shared_results(out, ns["FETCH"], feeds)]
            last = (k, feeds, out)
        if last is not None:  # results are the caller's: writing into them changes nothing
            k, feeds, out = last
            try:
                res.contract += [f"b{k}: {x}" for x in C.scribble_rerun(sess, ns["FETCH"],
                                                                         feeds, out)]
            except Exception as e:  # noqa: BLE001
                res.contract.append(f"b{k}: repeating the run raised {_err(e)}")
    return res


def _probe(prog: Program, sess, ns: dict, feeds: dict) -> dict[str, str]:
    """:func:`.paradigms.probe_run` on this session's values of the probed nodes' arguments."""
    seen: dict[int, np.ndarray] = {}

    def args(node) -> list:
        for a in node.args:
            if not isinstance(a, dict) and a not in seen:
                seen[a] = sess.run(ns[f"v{a}"], feeds)
        return [a["c"] if isinstance(a, dict) else seen[a] for a in node.args]

    return P.probe_run(prog, args)


def _targets(ns: dict) -> list:
    """What a run of the program fetches: the training step (if any) and every fetch."""
    return ([ns["TRAIN"]] if ns["TRAIN"] is not None else []) + list(ns["FETCH"].values())


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def run_eager(prog: Program, data: Data) -> Result:
    """The same node lines on ``dynamic`` tensors; gradients by ``dynamic.autograd.grad``."""
    import dynamic
    from staticgraph import ops

    res = Result()
    t = prog.train
    if t and t["opt"] not in ("sgd", "momentum"):
        res.skipped = f"optimizer {t['opt']} has no eager twin with TF1's formula"
        return res
    src = body(prog, "dyn")
    if src is None:
        res.skipped = "an op has no eager form"
        return res
    import dynamic.nn.functional as DF  # noqa: N812

    ns0 = {"ops": ops, "np": np, "K": K, "W": W, "DF": DF, "DT": np.dtype(prog.dtype),
           "dynamic": dynamic}
    params = {i: dynamic.tensor(a.copy(), requires_grad=True) for i, a in data.static.items()
              if prog.inputs[i].kind == "var"}
    opt = None
    if t and not params:  # seed 26783: TF1's minimize raises "No variables to optimize" too
        res.skipped = "a training step with no variables (a generator slip)"
        return res
    if t:
        opt = dynamic.optim.SGD(list(params.values()), lr=t["lr"],
                                momentum=0.9 if t["opt"] == "momentum" else 0)
    for k in range(len(prog.batches)):
        try:
            feeds = data.batch(k)
            if k == 0 and params:
                res.contract += C.inplace_backward(
                    lambda fd=feeds: _eager_forward(prog, data, fd, params, ns0, src, dynamic),
                    prog, params, dynamic)
            if opt is not None:
                ns = _eager_forward(prog, data, feeds, params, ns0, src, dynamic)
                loss = ops.mean(ns[f"v{prog.outputs[0]}"])
                for o in prog.outputs[1:]:
                    loss = ops.add(loss, ops.mean(ns[f"v{o}"]))
                opt.zero_grad()
                loss.backward()
                if "cond" in prog.ops_used():  # tf.cond builds both branches: every
                    for p in params.values():     # variable gets a (maybe zero) gradient
                        if p.grad is None:
                            p.grad = dynamic.zeros_like(p)
                opt.step()
            ns = _eager_forward(prog, data, feeds, params, ns0, src, dynamic)
            for j, o in enumerate(prog.outputs):
                res.values[f"b{k}/y{j}"] = ns[f"v{o}"].detach().numpy().copy()
            for i, p in params.items():
                if t:
                    res.values[f"b{k}/w{i}"] = p.detach().numpy().copy()
            if prog.grad:
                _eager_grads(prog, feeds, ns, res, k, dynamic)
        except Exception as e:  # noqa: BLE001
            res.errors[k] = _err(e)
    return res


def _eager_forward(prog, data, feeds, params, ns0, src, dynamic) -> dict:
    ns = dict(ns0)
    for i, inp in enumerate(prog.inputs):
        if inp.kind == "var":
            ns[f"v{i}"] = params[i]
        elif inp.kind == "const":
            ns[f"v{i}"] = dynamic.tensor(data.static[i].copy())
        else:
            ns[f"v{i}"] = dynamic.tensor(np.array(feeds[f"x{i}"]),
                                         requires_grad=inp.kind == "ph")
    exec(src, ns)  # noqa: S102
    return ns


def _eager_grads(prog, feeds, ns, res, k, dynamic) -> None:
    g = prog.grad
    ys = [ns[f"v{o}"] for o in prog.outputs]
    wrt = [ns[f"v{w}"] for w in g["wrt"]]
    if g.get("ys"):
        gys = [dynamic.tensor(feeds[f"gy{j}"]) for j in range(len(ys))]
    else:
        gys = [dynamic.ones_like(y) for y in ys]
    keep = [(y, gy) for y, gy in zip(ys, gys, strict=True) if y.requires_grad]
    G = list(dynamic.autograd.grad([y for y, _ in keep], wrt, [gy for _, gy in keep],
                                   create_graph=bool(g.get("second")), allow_unused=True)) \
        if keep else [None] * len(wrt)
    for i, gi in enumerate(G):
        if gi is not None:
            res.values[f"b{k}/g{i}"] = gi.detach().numpy().copy()
    if g.get("second"):
        pairs = [(gi, dynamic.tensor(feeds[f"gv{i}"])) for i, gi in enumerate(G)
                 if gi is not None and gi.requires_grad]
        if pairs:
            H = dynamic.autograd.grad([a for a, _ in pairs], wrt, [b for _, b in pairs],
                                      allow_unused=True)
            for i, h in enumerate(H):
                if h is not None:
                    res.values[f"b{k}/h{i}"] = h.detach().numpy().copy()


def fd_applies(prog: Program) -> bool:
    return (prog.dtype == "float64" and prog.grad is not None and not prog.train
            and prog.ops_used() <= SMOOTH)


FD_MAX_ELEMENTS = 400


def fd_run(prog: Program) -> int:
    """The run finite differences use: the smallest batch."""
    return int(np.argmin(prog.batches))


def run_fd(prog: Program, data: Data, eps: float = 1e-6) -> Result:
    """First-order gradients of the smallest run by central differences of the plain-numpy
    rendering (skipped above :data:`FD_MAX_ELEMENTS` differentiated elements)."""
    from staticgraph import ops

    res = Result()
    src = body(prog, "np")
    k = fd_run(prog)
    feeds = {n: np.array(a, copy=True) for n, a in data.batch(k).items()}
    arrays = {}
    for i in range(len(prog.inputs)):
        arrays[i] = np.array(data.static[i] if i in data.static else feeds[f"x{i}"], copy=True)

    def loss() -> float:
        ns = {"ops": ops, "np": np, "K": K, "W": W, "DT": np.dtype(prog.dtype)}
        ns.update({f"v{i}": a for i, a in arrays.items()})
        exec(src, ns)  # noqa: S102
        total = 0.0
        for j, o in enumerate(prog.outputs):
            w = feeds[f"gy{j}"] if prog.grad.get("ys") else 1.0
            total += float(np.sum(np.asarray(ns[f"v{o}"]) * w))
        return total

    if sum(arrays[w].size for w in prog.grad["wrt"]) > FD_MAX_ELEMENTS:
        res.skipped = "too many elements for finite differences"
        return res
    try:
        for i, w in enumerate(prog.grad["wrt"]):
            x = arrays[w]
            grad = np.zeros(x.shape)
            for idx in np.ndindex(x.shape):
                old = x[idx]
                x[idx] = old + eps
                fp = loss()
                x[idx] = old - eps
                fm = loss()
                x[idx] = old
                grad[idx] = (fp - fm) / (2 * eps)
            res.values[f"b{k}/g{i}"] = grad
    except Exception as e:  # noqa: BLE001
        res.errors[k] = _err(e)
    return res


def run_torch(prog: Program, data: Data) -> Result:
    """PyTorch's own kernels and autograd (skipped when torch is absent or an op has no form)."""
    res = Result()
    src = body(prog, "torch")
    if src is None or prog.train:
        res.skipped = "no torch form" if src is None else "optimizer step"
        return res
    if prog.dtype == HF.HALF and prog.ops_used() & HF.TORCH_NO_HALF:
        res.skipped = (f"{HF.SIT_OUT} {sorted(prog.ops_used() & HF.TORCH_NO_HALF)} "
                       "(torch CPU has no float16 kernel)")
        return res
    try:
        import torch
        import torch.nn.functional as F  # noqa: N812

        from . import torch_ops as T
    except ImportError:
        res.skipped = "torch is not installed"
        return res
    dt = getattr(torch, prog.dtype)
    for k in range(len(prog.batches)):
        feeds = data.batch(k)
        ns = {"torch": torch, "F": F, "T": T, "np": np, "W": W, "DT": dt}
        try:
            for i, inp in enumerate(prog.inputs):
                a = np.array(data.static[i] if i in data.static else feeds[f"x{i}"], order="C")
                ns[f"v{i}"] = torch.tensor(a, requires_grad=inp.kind in ("ph", "var"))
            exec(src, ns)  # noqa: S102
            ys = [ns[f"v{o}"] for o in prog.outputs]
            for j, y in enumerate(ys):
                res.values[f"b{k}/y{j}"] = y.detach().numpy(force=True).copy()
            g = prog.grad
            if not g:
                continue
            wrt = [ns[f"v{w}"] for w in g["wrt"]]
            gys = ([torch.tensor(feeds[f"gy{j}"]) for j in range(len(ys))] if g.get("ys")
                   else [torch.ones_like(y) for y in ys])
            keep = [(y, gy) for y, gy in zip(ys, gys, strict=True) if y.requires_grad]
            second = bool(g.get("second"))
            G = list(torch.autograd.grad([y for y, _ in keep], wrt, [gy for _, gy in keep],
                                         create_graph=second, allow_unused=True)) \
                if keep else [None] * len(wrt)
            for i, gi in enumerate(G):
                if gi is not None:
                    res.values[f"b{k}/g{i}"] = gi.detach().numpy(force=True).copy()
            pairs = [(gi, torch.tensor(feeds[f"gv{i}"])) for i, gi in enumerate(G)
                     if second and gi is not None and gi.requires_grad]
            if pairs:
                H = torch.autograd.grad([a for a, _ in pairs], wrt, [b for _, b in pairs],
                                        allow_unused=True)
                for i, h in enumerate(H):
                    if h is not None:
                        res.values[f"b{k}/h{i}"] = h.detach().numpy(force=True).copy()
        except Exception as e:  # noqa: BLE001
            res.errors[k] = _err(e)
    return res


def run_all(prog: Program, oracles: tuple[str, ...]) -> dict[str, Result]:
    """Every requested oracle's result (``fd`` only where it applies)."""
    data = Data(prog)
    out: dict[str, Result] = {}
    for name in oracles:
        if name in STATIC:
            out[name] = run_static(prog, data, name)
        elif name == "eager":
            out[name] = run_eager(prog, data)
        elif name == "torch":
            out[name] = run_torch(prog, data)
        elif name == "compile":
            from .oracle_compile import run_compile

            out[name] = run_compile(prog, data)
        elif name == "fd" and fd_applies(prog):
            clean = Data(prog, edge=0.0)
            out[name] = run_fd(prog, clean)
            out[name].against = (run_static(prog, clean, "reference") if data.edge
                                 else out.get("reference") or run_static(prog, clean,
                                                                         "reference"))
    return out
