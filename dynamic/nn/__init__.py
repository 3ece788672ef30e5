"""``dynamic.nn``: a minimal PyTorch-compatible module system."""

import importlib

from .. import _unsupported
from . import functional, init, utils
from .activation import ELU, GELU, SELU, Hardtanh, LogSigmoid, Mish, PReLU, ReLU6, SiLU, Unflatten
from .adaptive_pooling import AdaptiveAvgPool1d, AdaptiveMaxPool2d
from .attention import MultiheadAttention
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .embedding_bag import EmbeddingBag
from .fold import Fold
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .modules import (
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    Module,
    Parameter,
    ReLU,
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
from .resample import (
    PixelShuffle,
    PixelUnshuffle,
    Unfold,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .similarity import CosineSimilarity, PairwiseDistance
from .sparse import Embedding
from .transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from .unpooling import MaxUnpool2d

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool1d", "AvgPool2d",
           "AvgPool3d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv1d",
           "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "CrossEntropyLoss", "Dropout", "ELU", "Embedding", "Flatten", "GELU", "GRU", "GRUCell",
           "GroupNorm", "Hardtanh", "HuberLoss", "Identity", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d", "KLDivLoss", "L1Loss", "LSTM", "LSTMCell", "LayerNorm", "LeakyReLU",
           "Linear", "LogSigmoid", "LogSoftmax", "MSELoss", "MaxPool1d", "MaxPool2d", "MaxPool3d",
           "MaxUnpool2d", "Mish", "Module", "ModuleDict", "ModuleList", "NLLLoss", "PReLU",
           "Parameter", "ParameterDict", "ParameterList", "RNN", "RNNBase", "RNNCell",
           "RNNCellBase", "ReLU", "ReLU6", "SELU", "Sequential", "SiLU", "Sigmoid", "SmoothL1Loss",
           "Softmax", "Softplus", "Tanh", "Unflatten", "functional", "init", "parallel"]
__all__ += ["MultiheadAttention", "Transformer", "TransformerDecoder", "TransformerDecoderLayer",
            "TransformerEncoder", "TransformerEncoderLayer", "utils"]
__all__ += ["CosineSimilarity", "EmbeddingBag", "Fold", "PairwiseDistance", "PixelShuffle",
            "PixelUnshuffle", "Unfold", "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
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
