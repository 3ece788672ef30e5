"""``dynamic.nn``: a minimal PyTorch-compatible module system."""

import importlib

from .. import _unsupported
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
_missing = _unsupported.missing_names("torch.nn", {
    "Conv2d": "flatten the input and use nn.Linear",
    "Dropout": "leave it out (it is the identity at evaluation time)",
    "BatchNorm1d": "normalise by hand: (x - x.mean(0)) / x.std(0)",
})


def __getattr__(name: str) -> object:
    """``nn.parallel`` loads on first use: it brings the MPI glue (``dynamic.distributed``);
    other missing names raise the not-supported error."""
    if name == "parallel":
        return importlib.import_module(__name__ + ".parallel")
    return _missing(name)
