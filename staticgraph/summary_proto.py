"""TensorFlow's ``Summary``, ``HistogramProto``, ``Event`` and ``GraphDef`` protos, encoded and
decoded by hand (protobuf wire format; no protobuf dependency), so that event files TensorBoard
reads can be written.

The encodings are byte-for-byte TF's for the fields written here: a scalar ``Value`` is ``tag``
(1) then ``simple_value`` (2, float32); a histogram ``Value`` is ``tag`` then ``histo`` (5) with
TF's default buckets (limits ``±1e-12 * 1.1**k`` up to 1e20, then ``±DBL_MAX``; runs of empty
buckets collapsed into one entry, as TF's ``Histogram::EncodeToProto``). Merging summaries is
concatenating their bytes (protobuf appends repeated fields), as TF's ``MergeSummary`` result.
"""

from __future__ import annotations

import bisect
import struct
import sys
from typing import Any

import numpy as np

# ------------------------------------------------------------------------------ encoding


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64: ten bytes, as protobuf
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_varint(field: int, n: int) -> bytes:
    return varint(field << 3) + varint(int(n))


def field_bytes(field: int, data: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(data)) + data


def field_double(field: int, x: float) -> bytes:
    return varint(field << 3 | 1) + struct.pack("<d", x)


def field_float(field: int, x: float) -> bytes:
    return varint(field << 3 | 5) + struct.pack("<f", x)


def _packed_doubles(field: int, xs: list[float]) -> bytes:
    return field_bytes(field, struct.pack(f"<{len(xs)}d", *xs))


# ------------------------------------------------------------------------------ histograms
def _default_limits() -> list[float]:
    pos, v = [], 1.0e-12
    while v < 1.0e20:
        pos.append(v)
        v *= 1.1
    pos.append(sys.float_info.max)
    return [-x for x in reversed(pos)] + [0.0] + pos


LIMITS = _default_limits()


def histogram_proto(values: np.ndarray) -> bytes:
    """TF's ``HistogramProto`` of ``values`` (as float64)."""
    flat = np.asarray(values, np.float64).ravel()
    counts = np.zeros(len(LIMITS))
    for x in flat:
        counts[bisect.bisect_right(LIMITS, x)] += 1.0
    lo = float(flat.min()) if flat.size else LIMITS[-1]
    hi = float(flat.max()) if flat.size else -LIMITS[-1]
    stats = (lo, hi, float(flat.size), float(flat.sum()), float(np.dot(flat, flat)))
    out = b"".join(field_double(k, x) for k, x in enumerate(stats, 1) if x)  # proto3: no zeros
    limits, buckets, i = [], [], 0
    while i < len(counts):
        end, count = LIMITS[i], counts[i]
        i += 1
        if count <= 0.0:  # a run of empty buckets: one entry ending at the run's last limit
            while i < len(counts) and counts[i] <= 0.0:
                end, count = LIMITS[i], counts[i]
                i += 1
        limits.append(end)
        buckets.append(count)
    return out + _packed_doubles(6, limits) + _packed_doubles(7, buckets)


# ------------------------------------------------------------------------------ summaries
def scalar_value(tag: str, value: float) -> bytes:
    """A ``Summary`` holding one scalar ``Value``."""
    return field_bytes(1, field_bytes(1, tag.encode()) + field_float(2, float(value)))


def histogram_value(tag: str, values: np.ndarray) -> bytes:
    """A ``Summary`` holding one histogram ``Value``."""
    return field_bytes(1, field_bytes(1, tag.encode()) + field_bytes(5, histogram_proto(values)))


def event(wall_time: float, step: int = 0, file_version: str | None = None,
          graph_def: bytes | None = None, summary: bytes | None = None,
          meta_graph_def: bytes | None = None) -> bytes:
    """An ``Event`` (``wall_time`` 1, ``step`` 2, then one of ``file_version`` 3,
    ``graph_def`` 4, ``summary`` 5, ``meta_graph_def`` 9)."""
    out = field_double(1, wall_time)
    if step:
        out += field_varint(2, step)
    if file_version is not None:
        out += field_bytes(3, file_version.encode())
    if graph_def is not None:
        out += field_bytes(4, graph_def)
    if summary is not None:
        out += field_bytes(5, summary)
    if meta_graph_def is not None:
        out += field_bytes(9, meta_graph_def)
    return out


def meta_graph_def(graph_def_bytes: bytes) -> bytes:
    """A ``MetaGraphDef`` holding only its ``graph_def`` (field 2): what TensorBoard reads of
    the meta graph event ``FileWriter(logdir, graph)`` writes after the graph event."""
    return field_bytes(2, graph_def_bytes)


# ------------------------------------------------------------------------------ decoding
def parse(buf: bytes) -> list[tuple[int, Any]]:
    """A message's fields in order: ``(field number, value)``, the value an int (varint), bytes
    (length-delimited) or the raw 8/4 bytes of a fixed64/fixed32."""
    out, i = [], 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _read_varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} (field {field})")
        out.append((field, value))
    return out


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    n, shift = 0, 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated protobuf message")
        b = buf[i]
        n |= (b & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not b & 0x80:
            return n, i


def summary_tags(summary: bytes) -> list[str]:
    """The tags of a serialized ``Summary``'s values, in order."""
    return [dict(parse(v)).get(1, b"").decode() for f, v in parse(summary) if f == 1]


# ------------------------------------------------------------------------------ graphs
# TF's DataType enum values
DATA_TYPES = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6,
              "string": 7, "int64": 9, "bool": 10, "float16": 19}


def _shape_proto(shape: Any) -> bytes:
    if shape is None:
        return field_varint(3, 1)  # unknown_rank
    return b"".join(field_bytes(2, field_varint(1, -1 if d is None else int(d)) if d != 0
                                else b"") for d in shape)


def _attr(key: str, value: bytes) -> bytes:
    return field_bytes(5, field_bytes(1, key.encode()) + field_bytes(2, value))


def graph_def(graph: Any) -> bytes:
    """A ``GraphDef`` of ``graph``'s top-level nodes: name, TF op type, inputs (``^name`` for
    control inputs), the output dtype as attr ``T`` and the static shapes as
    ``_output_shapes`` (what TensorBoard's graph view shows)."""
    out = b""
    for op in graph.get_operations():
        node = field_bytes(1, op.name.encode()) + field_bytes(2, str(getattr(
            op, "tf_type", op.type)).encode())
        for t in op.inputs:
            node += field_bytes(3, (t.op.name if t.value_index == 0 else t.name).encode())
        for c in op.control_inputs:
            node += field_bytes(3, ("^" + c.name).encode())
        if op.outputs:
            name = getattr(op.outputs[0].dtype, "base_dtype", op.outputs[0].dtype).name
            if name in DATA_TYPES:
                node += _attr("T", field_varint(6, DATA_TYPES[name]))
            shapes = b"".join(field_bytes(7, _shape_proto(t.aval.shape)) for t in op.outputs)
            node += _attr("_output_shapes", field_bytes(1, shapes))
        out += field_bytes(1, node)
    return out + field_bytes(4, field_varint(1, 27))  # versions { producer: 27 } (TF 1.x)


__all__ = ["varint", "field_varint", "field_bytes", "field_double", "field_float",
           "histogram_proto", "scalar_value", "histogram_value", "event", "parse",
           "summary_tags", "LIMITS", "graph_def", "DATA_TYPES"]
