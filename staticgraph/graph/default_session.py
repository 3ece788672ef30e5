"""The default-session stack (TF1's ``with sess.as_default():``), kept beside the graph so that
``Tensor.eval`` and ``Operation.run`` find their session without importing ``Session``.

A session here is anything with a ``graph`` and a ``run(fetches, feed_dict)``; the stack is
per thread, like the default-graph stack in :mod:`.core`.
"""

from __future__ import annotations

import threading
from typing import Any


class _SessionStack(threading.local):
    def __init__(self) -> None:
        self.stack: list[Any] = []


_DEFAULT = _SessionStack()


def get_default_session() -> Any:
    """The innermost default session of this thread, else ``None``."""
    return _DEFAULT.stack[-1] if _DEFAULT.stack else None


def push(session: Any) -> None:
    _DEFAULT.stack.append(session)


def remove(session: Any, missing_ok: bool = False) -> None:
    """Take ``session`` off this thread's stack, wherever it is in it."""
    if not (missing_ok and session not in _DEFAULT.stack):
        _DEFAULT.stack.remove(session)


def session_for(session: Any, graph: Any) -> Any:
    """``session``, else the default one; it must run ``graph`` (``eval``/``run``'s check)."""
    sess = session or get_default_session()
    if sess is None:
        raise ValueError("Cannot evaluate tensor using `eval()`: No default session is "
                         "registered. Use `with sess.as_default()` or pass an explicit session "
                         "to `eval(session=sess)`")
    if sess.graph is not graph:
        raise ValueError("Cannot use the given session to evaluate tensor: the tensor's graph "
                         "is different from the session's graph.")
    return sess
