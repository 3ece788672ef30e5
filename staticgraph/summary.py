"""``tf.summary``: accepted so TensorBoard-instrumented TF1 scripts run, but **discarded**.

Summary ops are empty ``tf.string`` constants (TF's are serialized ``Summary`` protos), and
``FileWriter`` creates its log directory and writes no event files. A script's printed values
are unaffected; nothing shows up in TensorBoard.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .graph.array_ops import constant
from .graph.core import Tensor, get_default_graph
from .unsupported import module_getattr

SUMMARIES = "summaries"


def _summary(name: str, collections: Any) -> Tensor:
    t = constant(np.bytes_(b""), name=name)
    for key in collections if collections is not None else [SUMMARIES]:
        get_default_graph().add_to_collection(key, t)
    return t


def scalar(name: str, tensor: Any, collections: Any = None, family: Any = None) -> Tensor:
    return _summary(name, collections)


def histogram(name: str, values: Any, collections: Any = None, family: Any = None) -> Tensor:
    return _summary(name, collections)


def image(name: str, tensor: Any, max_outputs: int = 3, collections: Any = None,
          family: Any = None) -> Tensor:
    return _summary(name, collections)


def text(name: str, tensor: Any, collections: Any = None) -> Tensor:
    return _summary(name, collections)


def merge(inputs: Any, collections: Any = None, name: str | None = None) -> Tensor:
    return _summary(name or "Merge/MergeSummary", collections or [])


def merge_all(key: str = SUMMARIES, scope: Any = None, name: str | None = None) -> Tensor | None:
    """``None`` when no summary was created (as TF)."""
    if not get_default_graph().get_collection(key):
        return None
    return _summary(name or "Merge/MergeSummary", [])


class FileWriter:
    """Makes ``logdir``; every ``add_*`` is ignored (no event files are written)."""

    def __init__(self, logdir: str, graph: Any = None, **_: Any) -> None:
        os.makedirs(logdir, exist_ok=True)
        self.logdir = logdir

    def get_logdir(self) -> str:
        return self.logdir

    def add_summary(self, summary: Any, global_step: Any = None) -> None: ...
    def add_graph(self, graph: Any, global_step: Any = None) -> None: ...
    def add_run_metadata(self, run_metadata: Any, tag: str, global_step: Any = None) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


__all__ = ["scalar", "histogram", "image", "text", "merge", "merge_all", "FileWriter"]

__getattr__ = module_getattr("summary")  # a missing tf.summary name: the "not supported" error
