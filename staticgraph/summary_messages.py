"""The summary protos as Python objects: ``tf.Summary`` (with ``tf.Summary.Value``),
``tf.HistogramProto`` and ``tf.Event``, with the protobuf methods TF1 programs use on them
(``SerializeToString``, ``FromString``, ``ParseFromString``, ``HasField``), so a program can
build a summary by hand (``tf.Summary(value=[tf.Summary.Value(tag="acc", simple_value=a)])``),
parse the bytes a summary op returns, and read events back (``tf.train.summary_iterator``).
Only the fields of :mod:`.summary_proto` are understood; others are skipped when parsing.
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar

from .summary_proto import (
    field_bytes,
    field_double,
    field_float,
    field_varint,
    parse,
)


class _Message:
    """Fields with defaults; unknown keyword arguments are a ``ValueError`` as in protobuf."""

    _defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **kw: Any) -> None:
        for k, v in self._defaults.items():
            setattr(self, k, list(v) if isinstance(v, list) else v)
        for k, v in kw.items():
            if k not in self._defaults:
                raise ValueError(f'Protocol message {type(self).__name__} has no "{k}" field.')
            setattr(self, k, list(v) if isinstance(v, (list, tuple)) else v)

    def HasField(self, name: str) -> bool:  # noqa: N802 - protobuf's name
        return getattr(self, name) not in (None, self._defaults.get(name))

    @classmethod
    def FromString(cls, data: bytes) -> Any:  # noqa: N802 - protobuf's name
        m = cls()
        m.ParseFromString(data)
        return m

    def ParseFromString(self, data: bytes) -> None:  # noqa: N802 - protobuf's name
        self.__init__()  # type: ignore[misc]
        for field, value in parse(bytes(data)):
            self._set(field, value)

    def _set(self, field: int, value: Any) -> None:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.SerializeToString() == \
            other.SerializeToString()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        parts = [f"{k}={getattr(self, k)!r}" for k in self._defaults if self.HasField(k)]
        return f"{type(self).__name__}({', '.join(parts)})"


def _d(raw: bytes) -> float:
    return struct.unpack("<d", raw)[0]


class HistogramProto(_Message):
    _defaults: ClassVar[dict[str, Any]] = {"min": 0.0, "max": 0.0, "num": 0.0, "sum": 0.0,
                                           "sum_squares": 0.0, "bucket_limit": [], "bucket": []}

    def SerializeToString(self) -> bytes:  # noqa: N802 - protobuf's name
        out = b"".join(field_double(i, getattr(self, k)) for i, k in enumerate(
            ("min", "max", "num", "sum", "sum_squares"), 1) if getattr(self, k))
        for i, k in ((6, "bucket_limit"), (7, "bucket")):
            xs = getattr(self, k)
            if xs:
                out += field_bytes(i, struct.pack(f"<{len(xs)}d", *xs))
        return out

    def _set(self, field: int, value: Any) -> None:
        names = (None, "min", "max", "num", "sum", "sum_squares")
        if 1 <= field <= 5:
            setattr(self, names[field], _d(value))
        elif field in (6, 7):
            xs = list(struct.unpack(f"<{len(value) // 8}d", value))
            getattr(self, "bucket_limit" if field == 6 else "bucket").extend(xs)


class Value(_Message):
    """``Summary.Value``: a ``tag`` with a ``simple_value`` or a ``histo`` (protobuf's oneof
    ``value``: the field last set, even to 0.0, is the one ``HasField`` and ``WhichOneof``
    name)."""

    _defaults: ClassVar[dict[str, Any]] = {"tag": "", "simple_value": 0.0, "histo": None,
                                           "node_name": ""}
    _ONEOF = ("simple_value", "histo")

    def __init__(self, **kw: Any) -> None:
        object.__setattr__(self, "_which", None)
        super().__init__(**kw)
        object.__setattr__(self, "_which", next((k for k in reversed(self._ONEOF)
                                                 if k in kw and kw[k] is not None), None))

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in self._ONEOF and value is not None:
            object.__setattr__(self, "_which", name)
            if name == "simple_value":
                object.__setattr__(self, "histo", None)

    def HasField(self, name: str) -> bool:  # noqa: N802 - protobuf's name
        return self._which == name if name in self._ONEOF else super().HasField(name)

    def SerializeToString(self) -> bytes:  # noqa: N802 - protobuf's name
        out = field_bytes(1, self.tag.encode()) if self.tag else b""
        if self._which == "histo":
            return out + field_bytes(5, self.histo.SerializeToString())
        return out + field_float(2, float(self.simple_value)) if self._which else out

    def _set(self, field: int, value: Any) -> None:
        if field == 1:
            self.tag = value.decode()
        elif field == 2:
            self.simple_value = struct.unpack("<f", value)[0]
        elif field == 5:
            self.histo = HistogramProto.FromString(value)
        elif field == 7:
            self.node_name = value.decode()

    def WhichOneof(self, name: str) -> str | None:  # noqa: N802 - protobuf's name
        if name != "value":
            raise ValueError(f'Protocol message has no oneof "{name}" field.')
        return self._which


class Summary(_Message):
    """``tf.Summary``: a list of values."""

    Value = Value
    _defaults: ClassVar[dict[str, Any]] = {"value": []}

    def SerializeToString(self) -> bytes:  # noqa: N802 - protobuf's name
        return b"".join(field_bytes(1, v.SerializeToString()) for v in self.value)

    def _set(self, field: int, value: Any) -> None:
        if field == 1:
            self.value.append(Value.FromString(value))


class Event(_Message):
    """``tf.Event``: a wall time, a step and one of file_version, graph_def, summary,
    meta_graph_def."""

    _defaults: ClassVar[dict[str, Any]] = {"wall_time": 0.0, "step": 0, "file_version": "",
                                           "graph_def": b"", "summary": None,
                                           "meta_graph_def": b""}

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._has_summary = "summary" in kw
        if self.summary is None:
            self.summary = Summary()  # protobuf: an unset message field reads as empty

    def HasField(self, name: str) -> bool:  # noqa: N802 - protobuf's name
        if name == "summary":
            return self._has_summary
        return super().HasField(name)

    def WhichOneof(self, name: str) -> str | None:  # noqa: N802 - protobuf's name
        for k in ("file_version", "graph_def", "summary", "meta_graph_def"):
            if self.HasField(k):
                return k
        return None

    def SerializeToString(self) -> bytes:  # noqa: N802 - protobuf's name
        out = field_double(1, self.wall_time) if self.wall_time else b""
        out += field_varint(2, self.step) if self.step else b""
        if self.file_version:
            out += field_bytes(3, self.file_version.encode())
        if self.graph_def:
            out += field_bytes(4, self.graph_def)
        if self._has_summary:
            out += field_bytes(5, self.summary.SerializeToString())
        if self.meta_graph_def:
            out += field_bytes(9, self.meta_graph_def)
        return out

    def _set(self, field: int, value: Any) -> None:
        if field == 1:
            self.wall_time = _d(value)
        elif field == 2:
            self.step = value - (1 << 64) if value >= 1 << 63 else value
        elif field == 3:
            self.file_version = value.decode()
        elif field == 4:
            self.graph_def = bytes(value)
        elif field == 5:
            self.summary, self._has_summary = Summary.FromString(value), True
        elif field == 9:
            self.meta_graph_def = bytes(value)


__all__ = ["Event", "Summary", "Value", "HistogramProto"]
