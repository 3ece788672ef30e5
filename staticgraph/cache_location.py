"""Where staticgraph keeps machine code on disk, and when a directory may hold it.

Stdlib only, directly under the package: the static compiler's disk cache
(:mod:`staticgraph.compiler.diskcache`) and the eager mode's spinning pool
(:mod:`dynamic._pool_code`, which must not import the compiler) both keep code this process
will *run*, so both take the base directory and the trust rule from here (one rule, not two
copies that can drift apart).
"""

from __future__ import annotations

import os
import stat


def base_dir() -> str:
    """``$STATICGRAPH_CACHE_DIR`` if set and non-empty, else ``~/.cache/staticgraph``."""
    return os.environ.get("STATICGRAPH_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "staticgraph")


def distrust(path: str, outer: bool = False) -> str | None:
    """Why the existing directory ``path`` must not hold this user's machine code, or None.

    It must be a directory owned by this user that no other user can write to: anyone who could
    write there could replace the code this process maps and runs. ``outer=True`` is for a
    directory that only *contains* the code's own directory (which is checked strictly): it may
    also be root's, or world-writable with the sticky bit (``/tmp``), where others cannot
    rename or remove what this user made. Raises ``OSError`` when ``path`` cannot be inspected
    (``FileNotFoundError`` when it is missing)."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a directory"
    if st.st_uid != os.getuid() and not (outer and st.st_uid == 0):
        return f"{path} is owned by another user (uid {st.st_uid})"
    if st.st_mode & 0o022 and not (outer and st.st_mode & stat.S_ISVTX):
        return (f"{path} is writable by other users (mode {stat.filemode(st.st_mode)}); "
                "they could replace the machine code this process runs")
    return None
