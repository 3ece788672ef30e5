"""The LLVM renderer: fused CPU kernels (elementwise, reductions, row kernels) rendered straight
to LLVM IR and compiled through llvmlite (~20 ms a kernel instead of numba's 80-200 ms plus
~0.5 s of numba start-up), run by the native tier (:mod:`..native`) without importing numba.

``emit`` (values, conversions, the statement compiler), ``library`` (the ``sg_*`` scalar
library in IR), ``accumulate`` (reduction identities and folds), ``loops`` (kernel loop
nests), ``chunks`` (chunked and tiled rank-1 kernels), ``rows`` (row kernels), ``build``
(compile, disk-cache entries). What the renderer declines (:class:`.emit.Unsupported`) numba compiles.
"""

from .build import declined, load_or_compile, module_text  # noqa: F401
