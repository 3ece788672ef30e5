"""Export/import a graph as JSON (GraphDef-like): nodes in creation order with their inputs,
control inputs, parameters and output avals; Const values stored exactly (base64 bytes); every
collection of Variables, tensors and ops (the ``.meta`` file of ``tf.train.Saver``).
``from_json(to_json(g))`` rebuilds an equivalent graph that runs in a ``Session``."""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
from typing import Any

import numpy as np

from .graph.core import SPECIAL_KINDS, Graph, Operation, Tensor
from .ops.core import REGISTRY, AVal
from .variables import Variable

FORMAT = "staticgraph.GraphDef/1"


def _enc(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return {"__nd__": v.dtype.str, "shape": list(v.shape),
                "b64": base64.b64encode(np.ascontiguousarray(v).tobytes()).decode()}
    if isinstance(v, np.dtype):
        return {"__dtype__": v.str}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple):
        return {"__tuple__": [_enc(x) for x in v]}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        return {"__dict__": {k: _enc(x) for k, x in v.items()}}
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
                "fields": {f.name: _enc(getattr(v, f.name)) for f in dataclasses.fields(v)}}
    raise TypeError(f"cannot serialize parameter value {v!r} of type {type(v).__name__}")


def _dec(v: Any) -> Any:
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "__nd__" in v:
        a = np.frombuffer(base64.b64decode(v["b64"]), dtype=np.dtype(v["__nd__"]))
        return a.reshape(v["shape"]).copy()
    if "__dtype__" in v:
        return np.dtype(v["__dtype__"])
    if "__tuple__" in v:
        return tuple(_dec(x) for x in v["__tuple__"])
    if "__dict__" in v:
        return {k: _dec(x) for k, x in v["__dict__"].items()}
    if "__slice__" in v:
        return slice(*(_dec(x) for x in v["__slice__"]))
    if "__ellipsis__" in v:
        return Ellipsis
    if "__float__" in v:
        return float(v["__float__"])
    if "__obj__" in v:
        return _exported_class(v["__obj__"])(**{k: _dec(x) for k, x in v["fields"].items()})
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
    raise TypeError(f"cannot serialize the host op {op.name!r} of type {op.type!r} (it holds "
                    f"function graphs)")


def to_dict(graph: Graph) -> dict:
    """The graph as plain JSON-able data."""
    nodes = []
    variables = []
    for op in graph.get_operations():
        params = dict(op.params)
        if op.type == "VariableV2":
            var = params.pop("variable")
            variables.append({"name": op.name, "trainable": var.trainable,
                              "initializer": var.initializer.name})
        node = {
            "name": op.name, "type": op.type, "inputs": [t.name for t in op.inputs],
            "control_inputs": [c.name for c in op.control_inputs], "params": _enc(params),
            "outputs": [{"shape": list(t.aval.shape), "dtype": t.aval.dtype.str}
                        for t in op.outputs],
        }
        host = _host_param(op)
        if host is not None:
            node["host"] = host
        nodes.append(node)
    cols = {k: [_member_ref(v) for v in graph.get_collection(k)]
            for k in sorted(graph._collections) if graph.get_collection(k)}
    return {"format": FORMAT, "nodes": nodes, "variables": variables,
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


def from_dict(data: dict, graph: Graph | None = None) -> Graph:
    """Rebuild the nodes of ``data`` into ``graph`` (a new Graph by default)."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} document (format={data.get('format')!r})")
    graph = graph if graph is not None else Graph()
    for n in data["nodes"]:
        t = n["type"]
        op_def = None
        if t not in SPECIAL_KINDS and "host" not in n:
            if t not in REGISTRY:
                raise ValueError(f"node {n['name']!r} has unknown op type {t!r}")
            op_def = REGISTRY[t]
        params = _dec(n["params"])
        if t == "Const":
            params["value"].setflags(write=False)
        avals = [AVal(tuple(o["shape"]), np.dtype(o["dtype"])) for o in n["outputs"]]
        inputs = [graph.get_tensor_by_name(x) for x in n["inputs"]]
        op = graph.create_op(t, inputs, params, avals, n["name"], op_def=op_def, unique=False)
        op.control_inputs = tuple(graph.get_operation_by_name(c) for c in n["control_inputs"])
        if "host" in n:
            op.host = params[n["host"]]
    by_name = {}
    for v in data["variables"]:
        op = graph.get_operation_by_name(v["name"])
        by_name[v["name"]] = Variable._from_graph(
            op, graph.get_operation_by_name(v["initializer"]), v["trainable"])
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
