"""``tf.summary.FileWriter``: event files that TensorBoard (and TF's
``tf.compat.v1.train.summary_iterator``) read, and ``tf.train.summary_iterator`` to read them
back.

An event file is a TFRecord file: each record is the little-endian uint64 length, its masked
CRC-32C, the data (one serialized ``Event``, :mod:`.summary_proto`) and the data's masked
CRC-32C. The first event holds ``file_version: "brain.Event:2"``; a graph given to the writer is
a ``graph_def`` event and a ``meta_graph_def`` event (as TF writes them); ``add_summary`` writes
a ``summary`` event with the step. Events are
appended as they are added (``flush`` is a file flush; nothing is queued in threads).
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

from .graph.core import Graph
from .summary_messages import Event, Summary
from .summary_proto import event
from .summary_proto import graph_def as encode_graph_def
from .summary_proto import meta_graph_def as encode_meta_graph_def


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum of TFRecord files."""
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data: bytes) -> bytes:
    """One TFRecord: length, its masked CRC, the data, the data's masked CRC."""
    n = struct.pack("<Q", len(data))
    return n + struct.pack("<I", masked_crc(n)) + data + struct.pack("<I", masked_crc(data))


def read_records(path: str) -> Iterator[bytes]:
    """The records of a TFRecord file, each checked against its CRCs."""
    with open(path, "rb") as f:
        buf = f.read()
    i = 0
    while i < len(buf):
        if i + 12 > len(buf):
            raise ValueError(f"{path}: truncated record header at byte {i}")
        head = buf[i:i + 8]
        (n,) = struct.unpack("<Q", head)
        (crc,) = struct.unpack("<I", buf[i + 8:i + 12])
        data = buf[i + 12:i + 12 + n]
        if crc != masked_crc(head) or len(data) != n or i + 16 + n > len(buf):
            raise ValueError(f"{path}: corrupted record at byte {i}")
        (dcrc,) = struct.unpack("<I", buf[i + 12 + n:i + 16 + n])
        if dcrc != masked_crc(data):
            raise ValueError(f"{path}: data CRC mismatch in record at byte {i}")
        yield data
        i += 16 + n


def summary_iterator(path: str) -> Iterator[Event]:
    """``tf.train.summary_iterator``: the events of an event file, in order."""
    for data in read_records(path):
        yield Event.FromString(data)


class FileWriter:
    """Writes ``logdir/events.out.tfevents.<time>.<host><suffix>``: the version event on
    creation, the graph when one is given, then what ``add_summary``/``add_graph`` add."""

    def __init__(self, logdir: str, graph: Any = None, max_queue: int = 10,
                 flush_secs: int = 120, graph_def: Any = None, filename_suffix: Any = None,
                 session: Any = None) -> None:
        self._logdir = str(logdir)
        os.makedirs(self._logdir, exist_ok=True)
        self._suffix = filename_suffix or ""
        self._file: Any = None
        self._open()
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def _open(self) -> None:
        now = time.time()
        name = f"events.out.tfevents.{int(now):010d}.{socket.gethostname()}{self._suffix}"
        self._path = os.path.join(self._logdir, name)
        self._file = open(self._path, "ab")  # noqa: SIM115 - kept open until close()
        self._write(event(now, file_version="brain.Event:2"))

    def _write(self, data: bytes) -> None:
        if self._file is None:
            return  # TF: writes after close() are dropped until reopen()
        self._file.write(record(data))

    def get_logdir(self) -> str:
        return self._logdir

    def add_event(self, ev: Any) -> None:
        self._write(ev.SerializeToString() if hasattr(ev, "SerializeToString") else bytes(ev))

    def add_summary(self, summary: Any, global_step: Any = None) -> None:
        """``summary``: the bytes ``sess.run`` gives for a summary op, or a ``tf.Summary``."""
        if hasattr(summary, "SerializeToString"):
            summary = summary.SerializeToString()
        if not isinstance(summary, (bytes, bytearray)):
            raise TypeError(f"add_summary needs a serialized Summary (the result of running a "
                            f"summary op) or a tf.Summary, got {type(summary).__name__}")
        step = int(global_step) if global_step is not None else 0
        self._write(event(time.time(), step, summary=bytes(summary)))

    def add_graph(self, graph: Any, global_step: Any = None, graph_def: Any = None) -> None:
        if graph is not None and not isinstance(graph, Graph):
            raise TypeError(f"graph must be a tf.Graph, got {type(graph).__name__}")
        data = graph_def if isinstance(graph_def, bytes) else encode_graph_def(graph)
        self._write(event(time.time(), int(global_step or 0), graph_def=data))
        if graph is not None:  # TF: the meta graph too, when given the graph itself
            self.add_meta_graph(encode_meta_graph_def(data), global_step)

    def add_meta_graph(self, meta_graph_def: Any, global_step: Any = None) -> None:
        """A ``meta_graph_def`` event (serialized ``MetaGraphDef`` bytes)."""
        if hasattr(meta_graph_def, "SerializeToString"):
            meta_graph_def = meta_graph_def.SerializeToString()
        if not isinstance(meta_graph_def, (bytes, bytearray)):
            raise TypeError(f"meta_graph_def must be type MetaGraphDef, saw type: "
                            f"{type(meta_graph_def)}")
        self._write(event(time.time(), int(global_step or 0),
                          meta_graph_def=bytes(meta_graph_def)))

    def add_session_log(self, session_log: Any, global_step: Any = None) -> None:
        """Accepted; no ``SessionLog`` event is written."""

    def add_run_metadata(self, run_metadata: Any, tag: str, global_step: Any = None) -> None:
        """Accepted; no run metadata is recorded (there is no step tracing)."""

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def reopen(self) -> None:
        """After ``close()``: a new event file in the same directory."""
        if self._file is None:
            self._open()

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["FileWriter", "summary_iterator", "crc32c", "masked_crc", "record", "read_records",
           "Summary"]
