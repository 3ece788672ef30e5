"""``dynamic.nn``: a minimal PyTorch-compatible module system."""

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
           "functional", "init"]
__getattr__ = _unsupported.missing_names("torch.nn", {
    "Conv2d": "flatten the input and use nn.Linear",
    "Dropout": "leave it out (it is the identity at evaluation time)",
    "BatchNorm1d": "normalise by hand: (x - x.mean(0)) / x.std(0)",
})
