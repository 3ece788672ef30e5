"""Programs as Python source: the node lines of each frontend, the static (TF1) build script the
oracles ``exec``, and the runnable snippet printed for a failing case."""

from __future__ import annotations

import numpy as np

from .ops_table import node_src
from .program import Data, Program, static_shape

OPTIMIZERS = {
    "sgd": "tf.train.GradientDescentOptimizer({lr})",
    "momentum": "tf.train.MomentumOptimizer({lr}, 0.9)",
    "adam": "tf.train.AdamOptimizer({lr})",
    "adagrad": "tf.train.AdagradOptimizer({lr})",
    "rmsprop": "tf.train.RMSPropOptimizer({lr})",
}


def body(prog: Program, fe: str) -> str | None:
    """The node lines ``v{k} = ...`` on frontend ``fe``; None if an op has no form there."""
    lines = []
    n_in = len(prog.inputs)
    for k, node in enumerate(prog.nodes):
        src = node_src(node, fe)
        if src is None:
            return None
        lines.append(f"v{n_in + k} = {src}")
    return "\n".join(lines)


def static_script(prog: Program) -> str:
    """The TF1 build: inputs, nodes, ``FETCH`` (name -> tensor), ``FEED_OF`` (data name ->
    placeholder), ``TRAIN`` (the optimizer's op or None). Reads ``DT`` and ``VARS``."""
    L = ["FEED_OF = {}"]
    for i, inp in enumerate(prog.inputs):
        shape = static_shape(inp.shape)
        if inp.kind == "ph":
            L.append(f"v{i} = FEED_OF['x{i}'] = tf.placeholder(DT, {shape}, name='x{i}')")
        elif inp.kind == "int":
            L.append(f"v{i} = FEED_OF['x{i}'] = tf.placeholder(tf.int64, {shape}, name='x{i}')")
        elif inp.kind == "var":
            L.append(f"v{i} = tf.Variable(VARS[{i}], name='w{i}')")
        else:
            L.append(f"v{i} = tf.constant(VARS[{i}], name='c{i}')")
    L.append(body(prog, "tf"))
    ys = ", ".join(f"v{o}" for o in prog.outputs)
    L.append(f"YS = [{ys}]")
    L.append("FETCH = {f'y{j}': y for j, y in enumerate(YS)}")
    g = prog.grad
    if g:
        wrt = ", ".join(f"v{w}" for w in g["wrt"])
        if g.get("ys"):
            for j, o in enumerate(prog.outputs):
                L.append(f"gy{j} = FEED_OF['gy{j}'] = tf.placeholder(DT, "
                         f"{static_shape(prog.shapes[o])}, name='gy{j}')")
            gys = "[" + ", ".join(f"gy{j}" for j in range(len(prog.outputs))) + "]"
            L.append(f"G = tf.gradients(YS, [{wrt}], grad_ys={gys})")
        else:
            L.append(f"G = tf.gradients(YS, [{wrt}])")
        L.append("FETCH.update({f'g{i}': g for i, g in enumerate(G) if g is not None})")
        if g.get("second"):
            for j, w in enumerate(g["wrt"]):
                L.append(f"gv{j} = FEED_OF['gv{j}'] = tf.placeholder(DT, "
                         f"{static_shape(prog.shapes[w])}, name='gv{j}')")
            gvs = "[" + ", ".join(f"gv{j}" for j in range(len(g["wrt"]))) + "]"
            L.append(f"GV = [(a, b) for a, b in zip(G, {gvs}) if a is not None]")
            L.append(f"H = tf.gradients([a for a, _ in GV], [{wrt}], grad_ys=[b for _, b in GV])"
                     " if GV else []")
            L.append("FETCH.update({f'h{i}': h for i, h in enumerate(H) if h is not None})")
    t = prog.train
    if t:
        loss = "ops.mean(YS[0])"
        for j in range(1, len(prog.outputs)):
            loss = f"ops.add({loss}, ops.mean(YS[{j}]))"
        L.append(f"LOSS = {loss}")
        L.append(f"TRAIN = {OPTIMIZERS[t['opt']].format(lr=t['lr'])}.minimize(LOSS)")
        L.append("BAD_IDX = tf.placeholder(tf.int64, [None], name='bad_idx')  # contract.py")
        L.append("CHECK = tf.gather(tf.reshape(LOSS, [1]), BAD_IDX)")
        for i, inp in enumerate(prog.inputs):
            if inp.kind == "var":
                L.append(f"FETCH['w{i}'] = v{i}")
    else:
        L.append("TRAIN = None")
    return "\n".join(L)


def _array_src(a: np.ndarray) -> str:
    dt = "np.int64" if a.dtype.kind == "i" else "DT"
    return f"np.array({np.asarray(a).tolist()!r}, {dt}).reshape({a.shape})"


def _fed_src(a: np.ndarray, layout: str) -> str:
    src = _array_src(a)
    return src if layout == "C" or a.ndim == 0 else f"_layout({src}, {layout!r})"


def snippet(prog: Program, executors: tuple = ("reference", None)) -> str:
    """A runnable script: the case's graph, its feeds (literal arrays), and a run on each
    executor (None: the compiled default) printing every fetched value."""
    data = Data(prog)
    layouts = {f"x{i}": inp.layout for i, inp in enumerate(prog.inputs)}
    L = ["# fuzz case: run from the repo root with PYTHONPATH=. (or --replay its .json)",
         "import numpy as np", "import staticgraph as tf", "from staticgraph import ops",
         "from tests.fuzz.program import _layout", "from tests.fuzz import wide_forms as W",
         f"DT = np.{prog.dtype}",
         "inf, nan = np.inf, np.nan  # as the arrays below print them"]
    if any(n.op in ("conv2d", "max_pool", "avg_pool", "cond") for n in prog.nodes):
        L.append("# (tf.nn.conv2d / tf.cond come from staticgraph itself)")
    n_fed = sum(a.size for k in range(len(prog.batches)) for a in data.batch(k).values())
    if n_fed + sum(a.size for a in data.static.values()) > 200:  # data from the seed
        L[4] = "from tests.fuzz.program import Data, Program"
        L.append(f"PROG = Program.from_json({prog.to_json()!r})")
        L.append("DATA = Data(PROG)\nVARS = DATA.static")
        L.append(static_script(prog))
        L.append(f"BATCHES = [DATA.batch(k) for k in range({len(prog.batches)})]")
    else:
        L.append("VARS = {" + ", ".join(f"{i}: {_array_src(a)}" for i, a in data.static.items())
                 + "}")
        L.append(static_script(prog))
        L.append("BATCHES = [")
        for k in range(len(prog.batches)):
            items = ", ".join(f"{n!r}: {_fed_src(a, layouts.get(n, 'C'))}"
                              for n, a in data.batch(k).items())
            L.append(f"    {{{items}}},")
        L.append("]")
    L.append(f"for ex in {executors!r}:  # None: the compiled executor (tf.Session())")
    L.append("    with tf.Session(executor=ex) as sess:")
    L.append("        sess.run(tf.global_variables_initializer())")
    L.append("        for feeds in BATCHES:")
    L.append("            fd = {FEED_OF[k]: v for k, v in feeds.items() if k in FEED_OF}")
    L.append("            if TRAIN is not None:")
    L.append("                sess.run(TRAIN, fd)")
    L.append("            print(ex or 'compiled', sess.run(FETCH, fd))")
    return "\n".join(L) + "\n"
