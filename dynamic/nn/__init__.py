"""``dynamic.nn``: a minimal PyTorch-compatible module system."""

from . import functional, init
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .modules import (
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    Module,
    ModuleList,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Flatten", "Identity", "L1Loss",
           "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleList", "NLLLoss",
           "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Softplus", "Tanh",
           "functional", "init", "parallel"]


def __getattr__(name: str) -> object:
    """``nn.parallel`` loads on first use: it brings the MPI glue (``dynamic.distributed``)."""
    if name == "parallel":
        import importlib
        return importlib.import_module(__name__ + ".parallel")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
