"""``torch.nn.utils``: the ``rnn`` submodule (packed sequences); other names raise the
not-supported error."""

from ... import _unsupported
from . import rnn

__all__ = ["rnn"]
__getattr__ = _unsupported.missing_names("torch.nn.utils")
