"""``dynamic.utils``: ``checkpoint`` and ``data`` (datasets and the ``DataLoader``)."""

from .. import _unsupported
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
__getattr__ = _unsupported.missing_names("torch.utils")
