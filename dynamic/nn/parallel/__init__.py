"""``dynamic.nn.parallel``: ``DistributedDataParallel`` (see docs/distributed.md)."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
