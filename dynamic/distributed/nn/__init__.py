"""``torch.distributed.nn``: collectives that autograd differentiates (see :mod:`.functional`)."""

from . import functional

__all__ = ["functional"]
