"""``tf.train.Saver``: save the session's variable values to a checkpoint and restore them.

A checkpoint ``<prefix>`` is the files TF writes, under TF's names: ``<prefix>.index`` (the
variables' names, shapes and dtypes), ``<prefix>.data-00000-of-00001`` (their values) and, unless
``write_meta_graph=False``, ``<prefix>.meta`` (the graph and its collections, for
``tf.train.import_meta_graph``), next to a ``checkpoint`` file in TF's text format naming the
latest ones (:mod:`.checkpoint_state`). The bytes inside are staticgraph's own (an ``.npz`` archive
and JSON): TensorFlow's checkpoints cannot be read, nor the reverse.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ..graph.core import get_default_graph
from ..graph.errors import NotFoundError
from ..variables import GLOBAL_VARIABLES, Variable, variable_of
from .checkpoint_state import (
    checkpoint_exists,
    get_checkpoint_state,
    latest_checkpoint,
    update_checkpoint_state,
)

DATA_SUFFIX = ".data-00000-of-00001"
META_FORMAT = "staticgraph.MetaGraph/1"


def _var_dict(var_list: Any) -> dict[str, Variable]:
    if var_list is None:
        var_list = get_default_graph().get_collection(GLOBAL_VARIABLES)
    if isinstance(var_list, dict):
        items = list(var_list.items())
    else:
        items = [(None, v) for v in var_list]
    out: dict[str, Variable] = {}
    for key, v in items:
        var = variable_of(v)
        if var is None:
            raise TypeError(f"Saver var_list entries must be Variables, got {v!r}")
        name = key if key is not None else var.op.name
        if name in out:
            raise ValueError(f"At least two variables have the same name: {name}")
        out[name] = var
    if not out:
        raise ValueError("No variables to save")
    return out


def _remove_checkpoint(prefix: str) -> None:
    for suffix in (".index", DATA_SUFFIX, ".meta"):
        if os.path.exists(prefix + suffix):
            os.remove(prefix + suffix)


class Saver:
    """Saves and restores the values of ``var_list`` (default: all global variables).

    ``max_to_keep`` (default 5; 0 or ``None`` keeps all) deletes older checkpoints of this Saver;
    ``keep_checkpoint_every_n_hours`` and the other TF options are accepted and have no effect."""

    def __init__(self, var_list: Any = None, reshape: bool = False, sharded: bool = False,
                 max_to_keep: int | None = 5, keep_checkpoint_every_n_hours: float = 10000.0,
                 name: str | None = None, restore_sequentially: bool = False,
                 saver_def: Any = None, builder: Any = None, defer_build: bool = False,
                 allow_empty: bool = False, write_version: Any = None,
                 pad_step_number: bool = False, save_relative_paths: bool = False,
                 filename: str | None = None) -> None:
        try:
            self._vars = _var_dict(var_list)
        except ValueError:
            if not allow_empty:
                raise
            self._vars = {}
        self._max_to_keep = max_to_keep
        self._relative = save_relative_paths
        self._pad = pad_step_number
        self._kept: list[str] = []

    @property
    def last_checkpoints(self) -> list[str]:
        return list(self._kept)

    def save(self, sess: Any, save_path: str, global_step: Any = None,
             latest_filename: str | None = None, meta_graph_suffix: str = "meta",
             write_meta_graph: bool = True, write_state: bool = True, strip_default_attrs: bool =
             False, save_debug_info: bool = False) -> str:
        """Write the variables' current values; returns the checkpoint prefix
        (``save_path-<step>`` when ``global_step`` is given)."""
        if global_step is not None:
            step = global_step if isinstance(global_step, (int, np.integer)) else \
                sess.run(global_step)
            save_path = f"{save_path}-{int(step):08d}" if self._pad else \
                f"{save_path}-{int(step)}"
        d = os.path.dirname(os.path.abspath(save_path))
        if not os.path.isdir(d):
            raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.")
        names = list(self._vars)
        values = [np.asarray(v) for v in sess.run([self._vars[n] for n in names])]
        with open(save_path + DATA_SUFFIX, "wb") as f:
            np.savez(f, **dict(zip(names, values, strict=True)))
        with open(save_path + ".index", "w") as f:
            json.dump({n: [list(v.shape), v.dtype.str] for n, v in zip(names, values,
                                                                       strict=True)}, f)
        if write_meta_graph:
            self.export_meta_graph(f"{save_path}.{meta_graph_suffix}", graph=sess.graph)
        self._kept = [p for p in self._kept if p != save_path] + [save_path]
        while self._max_to_keep and len(self._kept) > self._max_to_keep:
            _remove_checkpoint(self._kept.pop(0))
        if write_state:
            update_checkpoint_state(d, save_path, self._kept, latest_filename, self._relative)
        return save_path

    def export_meta_graph(self, filename: str | None = None, graph: Any = None,
                          **_: Any) -> dict:
        """Write the graph, its collections and this Saver's variables to ``filename``."""
        from ..serialize import to_dict

        g = graph if graph is not None else get_default_graph()
        try:
            meta = {"format": META_FORMAT, "graph": to_dict(g),
                    "saver": {n: v.op.name for n, v in self._vars.items()}}
        except TypeError as e:  # a host op whose object does not travel (a collective)
            meta = {"format": META_FORMAT, "unexportable": str(e)}
        if filename is not None:
            with open(filename, "w") as f:
                json.dump(meta, f)
        return meta

    def restore(self, sess: Any, save_path: str) -> None:
        """Set the variables in ``sess`` to the values saved at ``save_path``."""
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        if not checkpoint_exists(save_path):
            raise ValueError(f"The passed save_path is not a valid checkpoint: {save_path}")
        updates = {}
        with np.load(save_path + DATA_SUFFIX) as data:
            for name, var in self._vars.items():
                if name not in data:
                    raise NotFoundError(None, None, f"Key {name} not found in checkpoint")
                arr = data[name]
                want = tuple(var.shape.as_list())
                if arr.shape != want:
                    raise ValueError(f"Restoring {name}: the checkpoint has shape {arr.shape}, "
                                     f"the variable {list(want)}")
                updates[var] = arr.astype(var.dtype.np_dtype)
        sess._state.commit(updates)


def import_meta_graph(meta_graph_or_file: Any, clear_devices: bool = False,
                      import_scope: str | None = None, **_: Any) -> Saver | None:
    """Rebuild the graph saved in a ``.meta`` file into the default graph, with its
    collections; returns a Saver for its variables (``None`` when it had none)."""
    from ..serialize import from_dict

    if import_scope:
        raise NotImplementedError("import_meta_graph with an import_scope")
    meta = meta_graph_or_file
    if not isinstance(meta, dict):
        if not os.path.exists(meta):
            raise OSError(f"File {meta} does not exist.")
        with open(meta) as f:
            meta = json.load(f)
    if meta.get("format") != META_FORMAT:
        raise ValueError(f"{meta_graph_or_file} is not a meta graph written by staticgraph")
    if "unexportable" in meta:
        raise ValueError("This meta graph could not be exported by staticgraph (a node of the "
                         f"graph is not exportable): {meta['unexportable']}")
    g = get_default_graph()
    from_dict(meta["graph"], g)
    if not meta["saver"]:
        return None
    by_op = {op.name: op.params["variable"] for op in g.get_operations()
             if op.type == "VariableV2"}
    return Saver({n: by_op[o] for n, o in meta["saver"].items()})


def export_meta_graph(filename: str | None = None, graph: Any = None, **kwargs: Any) -> dict:
    """``tf.train.export_meta_graph``: the graph and collections (a Saver of all variables)."""
    return Saver(allow_empty=True).export_meta_graph(filename, graph=graph)


__all__ = ["Saver", "import_meta_graph", "export_meta_graph", "latest_checkpoint",
           "get_checkpoint_state", "checkpoint_exists"]
