"""The ops tests compile static graphs on every executor: the same per-session compile cache
directory as the compiler tests (never a developer's cache)."""

from tests.compiler.conftest import compiler_cache_dir  # noqa: F401 - autouse, session scope
