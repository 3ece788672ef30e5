"""``dynamic.nn``: a minimal PyTorch-compatible module system."""

import importlib

from .. import _unsupported
from . import functional, init
from .adaptive_pooling import AdaptiveAvgPool1d, AdaptiveMaxPool2d
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
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
from .normalization import GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, LayerNorm
from .pooling import (
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
)
from .unpooling import MaxUnpool2d

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool1d",
           "AvgPool2d", "AvgPool3d", "MaxPool3d", "MaxUnpool2d", "BCELoss", "BCEWithLogitsLoss",
           "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
           "ConvTranspose2d", "ConvTranspose3d", "CrossEntropyLoss", "Dropout", "Flatten",
           "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm",
           "MaxPool1d", "MaxPool2d", "Identity", "L1Loss",
           "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleList", "NLLLoss",
           "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Softplus", "Tanh",
           "functional", "init", "parallel"]
_missing = _unsupported.missing_names("torch.nn", {
    "Dropout2d": "use nn.Dropout",
    "BatchNorm3d": "use nn.BatchNorm2d on a reshaped input",
})


def __getattr__(name: str) -> object:
    """``nn.parallel`` loads on first use: it brings the MPI glue (``dynamic.distributed``);
    other missing names raise the not-supported error."""
    if name == "parallel":
        return importlib.import_module(__name__ + ".parallel")
    return _missing(name)
