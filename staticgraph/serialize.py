"""Export/import a graph as JSON (GraphDef-like): nodes in creation order with their inputs,
control inputs, parameters and output avals; Const values stored exactly (base64 bytes); every
collection of Variables, tensors and ops (the ``.meta`` file of ``tf.train.Saver``).
``from_json(to_json(g))`` rebuilds an equivalent graph that runs in a ``Session``.

A host op travels when its host object is a dataclass of this package marking itself
``__sg_export__`` (summaries, positions, TensorArray ops, ``While``'s ``LoopSpec``, ``If``'s
``CondSpec``). A function graph such an object holds (a loop's condition and body, a cond's
branch) is written in full where it is first met, as a node list of its own with its arguments,
captures (tensors of its outer graph, by name) and opaque values, and by number after that (a
gradient loop copied into another body shares its graphs); a tensor it names is written as
(graph number, name). Nested loops nest. A function graph's live Variable
reads get their Variable back from the outer node they capture."""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
from typing import Any

import numpy as np

from .graph.core import SPECIAL_KINDS, Graph, Operation, Tensor
from .graph.func_graph import FuncGraph, is_opaque, mark_opaque
from .ops.core import REGISTRY, AVal
from .variables import Variable

FORMAT = "staticgraph.GraphDef/1"


class _Export:
    """The function graphs written so far, by number: each is written in full where it is first
    met (a loop's condition and body, a cond's branch; a gradient loop copied into another
    body shares them) and by number after that; a tensor of one is ``[number, name]``."""

    def __init__(self, top: Graph) -> None:
        self.top = top
        self.ids: dict[FuncGraph, int] = {}

    def graph(self, fg: FuncGraph) -> dict:
        k = self.ids.get(fg)
        if k is not None:
            return {"__graph__": k}
        if fg.outer is self.top:
            outer = -1
        elif fg.outer in self.ids:
            outer = self.ids[fg.outer]
        else:
            raise TypeError(f"cannot serialize function graph {fg.name!r}: it captures from a "
                            f"graph that is not exported with it")
        k = self.ids[fg] = len(self.ids)
        return {"__graph__": k, "outer": outer, "name": fg.name, "seed": fg.seed,
                "nodes": _nodes(fg, None, self), "args": [t.name for t in fg.args],
                "captures": [[src.name, inner.name] for src, inner in fg.captures],
                "opaque": _opaque(fg)}

    def tensor(self, t: Tensor) -> dict:
        g = t.graph
        if g is self.top:
            return {"__tensor__": [-1, t.name]}
        if g not in self.ids:
            raise TypeError(f"cannot serialize tensor {t.name}: its graph is not exported")
        return {"__tensor__": [self.ids[g], t.name]}  # type: ignore[index]


def _enc(v: Any, ex: _Export | None = None) -> Any:
    if isinstance(v, Tensor):
        if ex is None:
            raise TypeError(f"cannot serialize parameter value {v!r} outside a graph")
        return ex.tensor(v)
    if isinstance(v, FuncGraph):
        if ex is None:
            raise TypeError(f"cannot serialize function graph {v!r} outside a graph")
        return ex.graph(v)
    if isinstance(v, np.ndarray):
        return {"__nd__": v.dtype.str, "shape": list(v.shape),
                "b64": base64.b64encode(np.ascontiguousarray(v).tobytes()).decode()}
    if isinstance(v, np.dtype):
        return {"__dtype__": v.str}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple):
        return {"__tuple__": [_enc(x, ex) for x in v]}
    if isinstance(v, list):
        return [_enc(x, ex) for x in v]
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v):
            return {"__dict__": {k: _enc(x, ex) for k, x in v.items()}}
        return {"__pairs__": [[_enc(k, ex), _enc(x, ex)] for k, x in v.items()]}
    if isinstance(v, slice):
        return {"__slice__": [_enc(v.start), _enc(v.stop), _enc(v.step)]}
    if v is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(v, float) and not np.isfinite(v):
        return {"__float__": repr(v)}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if getattr(type(v), "__sg_export__", False) and dataclasses.is_dataclass(v):
        cls = type(v)
        return {"__obj__": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: _enc(getattr(v, f.name), ex) for f in dataclasses.fields(v)}}
    raise TypeError(f"cannot serialize parameter value {v!r} of type {type(v).__name__}")


class _Import:
    """What an import keeps while it builds: the function graphs built so far, by number, and
    their live Variable reads, each with the outer ``VariableV2`` node it captures (given its
    Variable once all are built)."""

    def __init__(self, top: Graph) -> None:
        self.top = top
        self.graphs: dict[int, FuncGraph] = {}
        self.var_reads: dict[Operation, Operation] = {}

    def graph_of(self, k: int) -> Graph:
        return self.top if k == -1 else self.graphs[k]

    def link_variables(self) -> None:
        for inner, src in self.var_reads.items():
            while "variable" not in src.params:
                src = self.var_reads[src]
            inner.params["variable"] = src.params["variable"]


def _dec(v: Any, imp: _Import | None = None) -> Any:
    if isinstance(v, list):
        return [_dec(x, imp) for x in v]
    if not isinstance(v, dict):
        return v
    if ("__tensor__" in v or "__graph__" in v) and imp is None:
        raise ValueError(f"a graph reference outside a graph import: {v!r}")
    if "__tensor__" in v:
        k, name = v["__tensor__"]
        return imp.graph_of(k).get_tensor_by_name(name)  # type: ignore[union-attr]
    if "__graph__" in v:
        return _build_func_graph(v, imp)  # type: ignore[arg-type]
    if "__pairs__" in v:
        return {_dec(k, imp): _dec(x, imp) for k, x in v["__pairs__"]}
    if "__nd__" in v:
        a = np.frombuffer(base64.b64decode(v["b64"]), dtype=np.dtype(v["__nd__"]))
        return a.reshape(v["shape"]).copy()
    if "__dtype__" in v:
        return np.dtype(v["__dtype__"])
    if "__tuple__" in v:
        return tuple(_dec(x, imp) for x in v["__tuple__"])
    if "__dict__" in v:
        return {k: _dec(x, imp) for k, x in v["__dict__"].items()}
    if "__slice__" in v:
        return slice(*(_dec(x) for x in v["__slice__"]))
    if "__ellipsis__" in v:
        return Ellipsis
    if "__float__" in v:
        return float(v["__float__"])
    if "__obj__" in v:
        cls = _exported_class(v["__obj__"])
        return cls(**{k: _dec(x, imp) for k, x in v["fields"].items()})
    raise ValueError(f"unknown encoded value {v!r}")


def _exported_class(ref: str) -> type:
    """The class ``module:qualname`` of an exported parameter: only this package's classes that
    declare ``__sg_export__`` (a document names no other code to import)."""
    module, _, qualname = ref.partition(":")
    if module.split(".")[0] != "staticgraph":
        raise ValueError(f"parameter class {ref!r} is not one of staticgraph's")
    cls = getattr(importlib.import_module(module), qualname, None)
    if not getattr(cls, "__sg_export__", False):
        raise ValueError(f"parameter class {ref!r} is not exportable")
    return cls


def _host_param(op: Operation) -> str | None:
    """The name of the parameter that is ``op.host`` (``None``: not a host op); a host op
    whose host object is not one of its parameters cannot be exported."""
    host = getattr(op, "host", None)
    if host is None:
        return None
    for k, v in op.params.items():
        if v is host:
            return k
    raise TypeError(f"cannot serialize the host op {op.name!r} of type {op.type!r}: its host "
                    f"object is not one of its parameters")


def _nodes(graph: Graph, variables: list | None, ex: _Export) -> list[dict]:
    """The graph's nodes as data; a top-level Variable is listed in ``variables`` (a function
    graph's live Variable reads get theirs back from their captures)."""
    nodes = []
    for op in graph.get_operations():
        params = dict(op.params)
        if op.type == "VariableV2":
            var = params.pop("variable")
            if variables is not None:
                variables.append({"name": op.name, "trainable": var.trainable,
                                  "initializer": var.initializer.name})
        node = {
            "name": op.name, "type": op.type, "inputs": [t.name for t in op.inputs],
            "control_inputs": [c.name for c in op.control_inputs],
            "params": _enc(params, ex),
            "outputs": [{"shape": None if t.aval.shape is None else list(t.aval.shape),
                         "dtype": t.aval.dtype.str} for t in op.outputs],
        }
        host = _host_param(op)
        if host is not None:
            node["host"] = host
        nodes.append(node)
    return nodes


def _opaque(graph: Graph) -> list[str]:
    return [t.name for op in graph.get_operations() for t in op.outputs if is_opaque(t)]


def to_dict(graph: Graph) -> dict:
    """The graph as plain JSON-able data."""
    variables: list = []
    nodes = _nodes(graph, variables, _Export(graph))
    cols = {k: [_member_ref(v) for v in graph.get_collection(k)]
            for k in sorted(graph._collections) if graph.get_collection(k)}
    return {"format": FORMAT, "nodes": nodes, "variables": variables, "opaque": _opaque(graph),
            "collections": {k: v for k, v in cols.items() if None not in v}}


def _member_ref(v: Any) -> list | None:
    """A collection member by kind and name (``None``: not a graph object, not exported)."""
    if isinstance(v, Variable):
        return ["variable", v.op.name]
    if isinstance(v, Tensor):
        return ["tensor", v.name]
    if isinstance(v, Operation):
        return ["op", v.name]
    return None


def to_json(graph: Graph, indent: int | None = None) -> str:
    return json.dumps(to_dict(graph), indent=indent)


def _build_nodes(graph: Graph, nodes: list[dict], imp: _Import) -> None:
    for n in nodes:
        t = n["type"]
        op_def = None
        if t not in SPECIAL_KINDS and "host" not in n:
            if t not in REGISTRY:
                raise ValueError(f"node {n['name']!r} has unknown op type {t!r}")
            op_def = REGISTRY[t]
        params = _dec(n["params"], imp)
        if t == "Const":
            params["value"].setflags(write=False)
        avals = [AVal(None if o["shape"] is None else tuple(o["shape"]), np.dtype(o["dtype"]))
                 for o in n["outputs"]]
        inputs = [graph.get_tensor_by_name(x) for x in n["inputs"]]
        op = Graph.create_op(graph, t, inputs, params, avals, n["name"], op_def=op_def,
                             unique=False)
        op.control_inputs = tuple(graph.get_operation_by_name(c) for c in n["control_inputs"])
        if "host" in n:
            op.host = params[n["host"]]


def _mark_opaque(graph: Graph, names: list[str]) -> None:
    for name in names:
        mark_opaque(graph.get_tensor_by_name(name))


def _build_func_graph(doc: dict, imp: _Import) -> FuncGraph:
    """The function graph numbered ``doc["__graph__"]``: built where it is first met."""
    k = doc["__graph__"]
    if k in imp.graphs:
        return imp.graphs[k]
    if "nodes" not in doc:
        raise ValueError(f"function graph {k} is used before it is written")
    outer = imp.graph_of(doc["outer"])
    fg = imp.graphs[k] = FuncGraph(outer, doc["name"])
    fg.seed = doc["seed"]
    _build_nodes(fg, doc["nodes"], imp)
    fg.args = [fg.get_tensor_by_name(x) for x in doc["args"]]
    for src_name, inner_name in doc["captures"]:
        src, inner = outer.get_tensor_by_name(src_name), fg.get_tensor_by_name(inner_name)
        fg.captures.append((src, inner))
        fg._by_outer[src] = inner
        if inner.op.type == "VariableV2":
            imp.var_reads[inner.op] = src.op
    _mark_opaque(fg, doc["opaque"])
    return fg


def from_dict(data: dict, graph: Graph | None = None) -> Graph:
    """Rebuild the nodes of ``data`` into ``graph`` (a new Graph by default)."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} document (format={data.get('format')!r})")
    graph = graph if graph is not None else Graph()
    imp = _Import(graph)
    _build_nodes(graph, data["nodes"], imp)
    _mark_opaque(graph, data.get("opaque", []))
    by_name = {}
    for v in data["variables"]:
        op = graph.get_operation_by_name(v["name"])
        by_name[v["name"]] = Variable._from_graph(
            op, graph.get_operation_by_name(v["initializer"]), v["trainable"])
    imp.link_variables()
    for key, refs in data.get("collections", {}).items():
        for ref in refs:
            kind, name = ref if isinstance(ref, list) else ("variable", ref)
            graph.add_to_collection(key, by_name[name] if kind == "variable" else
                                    graph.get_tensor_by_name(name) if kind == "tensor" else
                                    graph.get_operation_by_name(name))
    return graph


def from_json(text: str, graph: Graph | None = None) -> Graph:
    return from_dict(json.loads(text), graph)


def export_graph(graph: Graph, path: str) -> None:
    with open(path, "w") as f:
        f.write(to_json(graph))


def import_graph(path: str, graph: Graph | None = None) -> Graph:
    with open(path) as f:
        return from_json(f.read(), graph)
