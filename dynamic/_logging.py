"""``dynamic.compile``'s logs, the counterpart of ``TORCH_LOGS=recompiles,graph_breaks``.

Two loggers of the standard ``logging`` module: ``dynamic.compile.recompiles`` (each new capture
after the first, with the guard that failed) and ``dynamic.compile.graph_breaks`` (each call
signature that runs eagerly, with the reason and the user's line). They log at INFO;
``set_logs(recompiles=True, graph_breaks=True)`` or the environment variable
``STATICGRAPH_LOGS=recompiles,graph_breaks`` (read at import) turns them on and prints them to
stderr. ``caplog`` (pytest) or any handler sees them once their level allows INFO.
"""

from __future__ import annotations

import logging
import os

RECOMPILES = logging.getLogger("dynamic.compile.recompiles")
GRAPH_BREAKS = logging.getLogger("dynamic.compile.graph_breaks")
_PARENT = logging.getLogger("dynamic.compile")
_HANDLER: list = []


def set_logs(recompiles: bool = False, graph_breaks: bool = False) -> None:
    """Turn the two logs on (INFO, printed to stderr) or off (WARNING)."""
    for logger, on in ((RECOMPILES, recompiles), (GRAPH_BREAKS, graph_breaks)):
        logger.setLevel(logging.INFO if on else logging.WARNING)
    if (recompiles or graph_breaks) and not _HANDLER:
        h = logging.StreamHandler()
        h.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
        _PARENT.addHandler(h)
        _HANDLER.append(h)


def _from_env() -> None:
    names = {s.strip() for s in os.environ.get("STATICGRAPH_LOGS", "").split(",") if s.strip()}
    if names:
        set_logs(recompiles="recompiles" in names, graph_breaks="graph_breaks" in names)


_from_env()
