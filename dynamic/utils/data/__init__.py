"""``torch.utils.data``: datasets, samplers and the ``DataLoader`` (PyTorch's API and orders)."""

from __future__ import annotations

from ... import _unsupported
from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
)

__all__ = ["BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
           "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
           "TensorDataset", "default_collate", "default_convert", "get_worker_info",
           "random_split"]
__getattr__ = _unsupported.missing_names("torch.utils.data", {
    "WeightedRandomSampler": "use RandomSampler (uniform draws)",
    "DistributedSampler": "train in one process"})
