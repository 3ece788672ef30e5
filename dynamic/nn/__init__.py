"""``dynamic.nn``: a minimal PyTorch-compatible module system."""

import importlib

from .. import _unsupported
from . import functional, init
from .conv import AvgPool2d, Conv2d, MaxPool2d
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
from .norm import BatchNorm1d, BatchNorm2d, Dropout

__all__ = ["AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d",
           "Conv2d", "CrossEntropyLoss", "Dropout", "Flatten", "MaxPool2d", "Identity", "L1Loss",
           "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleList", "NLLLoss",
           "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Softplus", "Tanh",
           "functional", "init", "parallel"]
_missing = _unsupported.missing_names("torch.nn", {
    "Conv1d": "use nn.Conv2d with a height of 1",
    "Dropout2d": "use nn.Dropout",
    "BatchNorm3d": "use nn.BatchNorm2d on a reshaped input",
})


def __getattr__(name: str) -> object:
    """``nn.parallel`` loads on first use: it brings the MPI glue (``dynamic.distributed``);
    other missing names raise the not-supported error."""
    if name == "parallel":
        return importlib.import_module(__name__ + ".parallel")
    return _missing(name)
