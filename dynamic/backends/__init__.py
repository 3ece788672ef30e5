"""``torch.backends`` on a CPU-only build: ``mps`` and ``cudnn`` report unavailable, and the
cuDNN flags tutorials set (``deterministic``, ``benchmark``) are accepted."""

from .. import _unsupported
from . import cudnn, mps

__all__ = ["cudnn", "mps"]
__getattr__ = _unsupported.missing_names("torch.backends")
