"""The LLVM renderer: fused CPU kernels (elementwise, reductions, row kernels) rendered straight
to LLVM IR and compiled through llvmlite (~20 ms a kernel instead of numba's 80-200 ms plus
~0.5 s of numba start-up), run by the native tier (:mod:`..native`) without importing numba.

``emit`` (values, conversions, the statement compiler), ``library`` (the ``sg_*`` scalar
library in IR), ``accumulate`` (reduction identities and folds), ``loops`` (kernel loop
nests), ``chunks`` (chunked and tiled rank-1 kernels), ``rows`` (row kernels), ``packed``
(one-pointer entries and the sequence runner), ``build`` (compile, disk-cache entries; loaded on
first use), ``key`` (the entries' key, all a warm process loads). What
the renderer declines (:class:`.emit.Unsupported`) numba compiles.
"""


from __future__ import annotations

_BUILD = ("declined", "load_or_compile", "module_text")


def __getattr__(name: str) -> object:
    """The renderer loads on first use (a warm process needs only ``key``)."""
    if name in _BUILD:
        from . import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
