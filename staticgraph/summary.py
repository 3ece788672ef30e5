"""``tf.summary``: summary ops whose run-time value is a serialized ``Summary`` proto, as in TF,
and the :class:`~staticgraph.summary_writer.FileWriter` that writes them to event files
TensorBoard reads.

``scalar`` and ``histogram`` (op types ``ScalarSummary``, ``HistogramSummary``) and ``merge``
(``MergeSummary``) are host ops (:mod:`staticgraph.host_ops`): the executors run them on the
host with the values of their inputs (compiled stages compute those) and they return TF's
bytes (:mod:`.summary_proto`). Names and tags follow TF: ``tf.summary.scalar("loss", x)`` inside
``name_scope("train")`` is the op ``train/loss`` with tag ``train/loss``; ``family`` prefixes
the tag. ``image``, ``audio`` and ``text`` are not supported (the attribute raises, naming
the API).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .graph.array_ops import identity
from .graph.core import Tensor, get_default_graph
from .graph.errors import InvalidArgumentError
from .graph.frontend import as_graph_tensor, convert
from .ops.core import AVal
from .summary_messages import Event, HistogramProto, Summary
from .summary_proto import histogram_value, scalar_value, summary_tags
from .summary_writer import FileWriter, summary_iterator
from .unsupported import module_getattr

SUMMARIES = "summaries"
_STRING = AVal((), np.dtype("S0"))
_INVALID_TAG = re.compile(r"[^-/\w\.]")


@dataclass(frozen=True)
class SummaryOp:
    """What a summary op runs: ``kind`` ("scalar", "histogram", "merge") for ``tag``; exported
    with the graph (``.meta`` files, :mod:`staticgraph.serialize`)."""

    __sg_export__ = True
    kind: str
    tag: str = ""
    name: str = ""

    def clone(self) -> SummaryOp:
        return self

    def run(self, inputs: Sequence[Any], prepare: Any = None, compiled: bool = False) -> list:
        if self.kind == "merge":
            return [_bytes(_merge([bytes(np.asarray(v, dtype=object)[()]) for v in inputs]))]
        v = np.asarray(inputs[0])
        if self.kind == "scalar":
            if v.shape != ():
                raise InvalidArgumentError(None, None, f"tags and values are not the same "
                                           f"shape: [] != {list(v.shape)} (tag '{self.tag}')")
            return [_bytes(scalar_value(self.tag, float(v)))]
        flat = v.astype(np.float64).ravel()
        if np.isnan(flat).any():
            raise InvalidArgumentError(None, None, f"Nan in summary histogram for: {self.name}")
        if np.isinf(flat).any():
            raise InvalidArgumentError(None, None, f"Infinity in Histogram for: {self.name}")
        return [_bytes(histogram_value(self.tag, flat))]


def _bytes(data: bytes) -> np.ndarray:
    """A 0-d object array holding ``data`` (a numpy bytes array would drop trailing zero
    bytes, which end most histogram protos)."""
    out = np.empty((), object)
    out[()] = data
    return out


def _merge(summaries: list[bytes]) -> bytes:
    """The summaries' values in one ``Summary`` (their bytes concatenated); TF's error for a
    tag that two of them use."""
    seen: set[str] = set()
    for s in summaries:
        for tag in summary_tags(s):
            if tag in seen:
                raise InvalidArgumentError(None, None,
                                           f"Duplicate tag {tag} found in summary inputs ")
            seen.add(tag)
    return b"".join(summaries)


def _clean_tag(name: str) -> str:
    return _INVALID_TAG.sub("_", name).lstrip("/")


def _input(value: Any) -> Tensor:
    t = as_graph_tensor(value)
    t = t if t is not None else convert(value, get_default_graph())
    return identity(t) if t.op.type == "VariableV2" else t  # a host op reads no live variable


def _summary_op(kind: str, tf_type: str, name: str, family: Any, value: Any,
                collections: Any) -> Tensor:
    """One ``scalar``/``histogram`` op named and tagged as TF's ``summary_scope`` does."""
    name = _clean_tag(name)
    family = _clean_tag(family) if family is not None else None
    t = _input(value)
    g = t.graph
    if t.dtype.np_dtype.kind not in "biuf":
        raise TypeError(f"Value passed to parameter 'values' has DataType {t.dtype.name} not "
                        f"in list of allowed values: float32, float64, int32, uint8, int16, "
                        f"int8, int64, bfloat16, uint16, float16, uint32, uint64")
    with g.name_scope(name if family is None else f"{family}/{name}") as scope:
        tag = scope.rstrip("/") if family is None else f"{family}/{scope.rstrip('/')}"
        spec = SummaryOp(kind, tag, scope.rstrip("/"))
        op = g.create_op(tf_type, [t], {"spec": spec}, [_STRING], scope)
    op.host = spec
    out = op.outputs[0]
    for key in collections if collections is not None else [SUMMARIES]:
        g.add_to_collection(key, out)
    return out


def scalar(name: str, tensor: Any, collections: Any = None, family: Any = None) -> Tensor:
    """A ``Summary`` with ``tensor``'s value (a scalar) as ``simple_value``."""
    return _summary_op("scalar", "ScalarSummary", name, family, tensor, collections)


def histogram(name: str, values: Any, collections: Any = None, family: Any = None) -> Tensor:
    """A ``Summary`` with TF's histogram of ``values`` (any shape; NaN/inf are errors)."""
    return _summary_op("histogram", "HistogramSummary", name, family, values, collections)


def merge(inputs: Any, collections: Any = None, name: str | None = None) -> Tensor:
    """One ``Summary`` holding the values of all ``inputs`` (summary tensors)."""
    ts = [_input(x) for x in inputs]
    g = ts[0].graph if ts else get_default_graph()
    with g.name_scope(name or "Merge") as scope:
        spec = SummaryOp("merge")
        op = g.create_op("MergeSummary", ts, {"spec": spec}, [_STRING], "MergeSummary")
    op.host = spec
    del scope
    out = op.outputs[0]
    for key in collections or []:
        g.add_to_collection(key, out)
    return out


def merge_all(key: str = SUMMARIES, scope: Any = None, name: str | None = None) -> Tensor | None:
    """``merge`` of the collection ``key``; ``None`` when it is empty (as TF)."""
    summaries = get_default_graph().get_collection(key, scope)
    if not summaries:
        return None
    return merge(summaries, name=name)


__all__ = ["scalar", "histogram", "merge", "merge_all", "FileWriter", "summary_iterator",
           "Summary", "Event", "HistogramProto", "SummaryOp"]

__getattr__ = module_getattr("summary")  # a missing tf.summary name: the "not supported" error
