"""TF1's run-time error classes (``tf.errors.InvalidArgumentError`` ...)."""

from __future__ import annotations

from typing import Any


class OpError(Exception):
    """A failure while running a graph; ``op`` is the node at fault (when known)."""

    def __init__(self, node_def: Any = None, op: Any = None, message: str = "") -> None:
        super().__init__(message)
        self.node_def = node_def
        self.op = op
        self.message = message


class InvalidArgumentError(OpError, ValueError):
    """Bad data at run time: missing feed, size mismatch, out-of-range label..."""


class FailedPreconditionError(OpError, RuntimeError):
    """State not ready, e.g. reading an uninitialized variable."""


class InternalError(OpError, RuntimeError):
    pass


class UnimplementedError(OpError, NotImplementedError):
    pass


class OutOfRangeError(OpError, IndexError):
    pass


class ResourceExhaustedError(OpError, MemoryError):
    pass


class NotFoundError(OpError, LookupError):
    """Something named does not exist, e.g. a checkpoint or a variable in it."""


def node_context(op: Any) -> str:
    """The ``[[node x (defined at file:line) ]]`` suffix TF adds to run-time messages."""
    return f"\n\t [[node {op.name} (defined at {op.site}) ]]"


def uninitialized_message(var: Any, consumer: Any) -> str:
    """The message of a read of variable ``var`` (by op ``consumer``) before it has a value."""
    return f"Attempting to use uninitialized value {var.op.name}" + node_context(consumer)
