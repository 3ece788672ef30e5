# ruff: noqa: F401 - the package namespace re-exports PyTorch's names
"""``dynamic``: define-by-run autograd with PyTorch's names and behaviour.

Write ``import dynamic as torch`` and use tensors, ``requires_grad``, ``backward()``,
``autograd.grad``, hooks, ``no_grad``, custom ``autograd.Function``, ``nn`` and ``optim``. Every
op runs through the shared registry in ``staticgraph.ops`` (same kernels and VJP rules as the
static graph mode). See ``docs/eager.md``.
"""

from __future__ import annotations

import importlib as _importlib

from . import _tensor_methods  # noqa: F401 - completes Tensor before any other module runs

# isort: split
from . import (
    _functional,
    _unsupported,
    accelerator,
    autograd,
    backends,
    cuda,
    func,
    nn,
    optim,
    profiler,
    utils,
    viz,
)
from ._creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from ._default_device import get_default_device, set_default_device
from ._device import device
from ._dtypes import (
    Size,
    bool,
    double,
    dtype,
    float,
    float16,
    float32,
    float64,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from ._format import set_printoptions
from ._functional import (
    BoolTensor,
    DoubleTensor,
    FloatTensor,
    IntTensor,
    LongTensor,
    allclose,
    bmm,
    cat,
    concat,
    concatenate,
    equal,
    get_default_dtype,
    is_floating_point,
    is_tensor,
    isfinite,
    isnan,
    logspace,
    outer,
    set_default_dtype,
    stack,
    where,
)
from ._parallel import get_num_threads, set_num_threads
from ._random import Generator, default_generator, manual_seed, seed
from ._tensor import Tensor
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

for _n in _functional._NAMES:
    globals()[_n] = getattr(_functional, _n)
from . import _torch_functions  # noqa: E402 - more torch.* functions (einsum, isclose...)

for _n in _torch_functions.EXPORTS:
    globals()[_n] = getattr(_torch_functions, _n)
del _n


__version__ = "0.1.0"
_missing = _unsupported.missing_names("torch", {
    "jit": "use dynamic.compile (torch.compile's API) to compile a function or module",
    "vmap": "use torch.func.vmap",
    "multiprocessing": "load data in the main process (DataLoader(num_workers=0))",
    "fft": "use numpy.fft on tensor.numpy()",
    "amp": "compute in float32",
    "autocast": "compute in float32",
})


def __getattr__(name: str) -> object:
    """``torch.distributed`` (the MPI glue), ``torch.linalg`` (with ``torch.inverse``, ``det``,
    ``logdet``) and ``torch.compile`` (the static stack) load on first use; other missing names
    raise the not-supported error."""
    if name in ("distributed", "linalg"):
        return _importlib.import_module(__name__ + "." + name)
    if name in ("inverse", "det", "logdet"):  # torch.inverse(a) is torch.linalg.inv(a)...
        return getattr(_importlib.import_module(__name__ + ".linalg"), name)
    if name == "compile":  # loads the static graph and its compiler on first use
        return _importlib.import_module(__name__ + "._compile").compile
    if name in ("save", "load"):  # this project's pickle-free format (serialization.py)
        return getattr(_importlib.import_module(__name__ + ".serialization"), name)
    return _missing(name)
