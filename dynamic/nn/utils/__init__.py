"""``torch.nn.utils``: gradient clipping and parameter vectors (``dynamic.nn.clip_grad``) and the
``rnn`` submodule (packed sequences); other names raise the not-supported error."""

from ... import _unsupported
from ..clip_grad import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)
from . import rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "rnn", "vector_to_parameters"]
__getattr__ = _unsupported.missing_names("torch.nn.utils")
