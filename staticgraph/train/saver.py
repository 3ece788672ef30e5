"""``tf.train.Saver``: save the session's variable values to a checkpoint and restore them.

A checkpoint ``<path>`` is stored as ``<path>.npz`` (one array per variable, keyed by its op name)
next to a TF-style ``checkpoint`` file naming the latest one, so ``tf.train.latest_checkpoint``
works. The format is staticgraph's own: TensorFlow checkpoints cannot be read, nor the reverse.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..graph.core import get_default_graph
from ..graph.errors import NotFoundError
from ..variables import GLOBAL_VARIABLES, Variable, variable_of


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


class Saver:
    """Saves and restores the values of ``var_list`` (default: all global variables)."""

    def __init__(self, var_list: Any = None, max_to_keep: int = 5, **_: Any) -> None:
        self._vars = _var_dict(var_list)
        self._max_to_keep = max_to_keep
        self._kept: list[str] = []

    def save(self, sess: Any, save_path: str, global_step: Any = None,
             latest_filename: str | None = None, write_meta_graph: bool = True,
             **_: Any) -> str:
        """Write the variables' current values; returns the checkpoint path
        (``save_path-<step>`` when ``global_step`` is given)."""
        if global_step is not None:
            step = global_step if isinstance(global_step, (int, np.integer)) else \
                sess.run(global_step)
            save_path = f"{save_path}-{int(step)}"
        names = list(self._vars)
        values = sess.run([self._vars[n] for n in names])
        d = os.path.dirname(os.path.abspath(save_path))
        if not os.path.isdir(d):
            raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.")
        np.savez(save_path + ".npz", **{n: np.asarray(v) for n, v in zip(names, values,
                                                                          strict=True)})
        self._kept = [p for p in self._kept if p != save_path] + [save_path]
        while self._max_to_keep and len(self._kept) > self._max_to_keep:
            old = self._kept.pop(0)
            if os.path.exists(old + ".npz"):
                os.remove(old + ".npz")
        with open(os.path.join(d, latest_filename or "checkpoint"), "w") as f:
            f.write(f'model_checkpoint_path: "{os.path.basename(save_path)}"\n')
            for p in self._kept:
                f.write(f'all_model_checkpoint_paths: "{os.path.basename(p)}"\n')
        return save_path

    def restore(self, sess: Any, save_path: str) -> None:
        """Set the variables in ``sess`` to the values saved at ``save_path``."""
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        if not os.path.exists(save_path + ".npz"):
            raise NotFoundError(None, None, f"Unsuccessful TensorSliceReader constructor: Failed "
                                f"to find any matching files for {save_path}")
        updates = {}
        with np.load(save_path + ".npz") as data:
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


def latest_checkpoint(checkpoint_dir: str, latest_filename: str | None = None) -> str | None:
    """The path in ``checkpoint_dir``'s ``checkpoint`` file, or ``None``."""
    f = os.path.join(checkpoint_dir, latest_filename or "checkpoint")
    if not os.path.exists(f):
        return None
    with open(f) as fh:
        for line in fh:
            if line.startswith("model_checkpoint_path:"):
                name = line.split(":", 1)[1].strip().strip('"')
                path = name if os.path.isabs(name) else os.path.join(checkpoint_dir, name)
                return path if os.path.exists(path + ".npz") else None
    return None
