"""``default_collate`` / ``default_convert``: a list of samples into one batch, PyTorch's rules.

Tensors are stacked, numpy arrays and numbers become tensors (Python floats as float64), strings
stay a list, dicts and sequences are collated field by field (a tuple sample gives a list).
"""

from __future__ import annotations

import collections.abc
import copy
from typing import Any

import numpy as np

from ..._creation import as_tensor, tensor
from ..._dtypes import float64
from ..._functional import stack
from ..._tensor import Tensor

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")


def _mapping(elem: Any, fields: dict) -> Any:
    """``fields`` in a container of ``elem``'s type when it can be built, else a dict."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(fields)
            return clone
        return type(elem)(fields)
    except TypeError:
        return fields


def _sequence(elem: Any, items: list) -> Any:
    """``items`` in a sequence of ``elem``'s type (a tuple gives a list, as in PyTorch)."""
    if isinstance(elem, tuple):
        return items
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            clone[:] = items
            return clone
        return type(elem)(items)
    except TypeError:
        return items


def _fields(batch: list, elem: Any) -> Any:
    """Collate a batch of mappings or sequences field by field."""
    if isinstance(elem, collections.abc.Mapping):
        return _mapping(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch, strict=False)))
    size = len(elem)
    if not all(len(e) == size for e in batch):
        raise RuntimeError("each element in list of batch should be of equal size")
    return _sequence(elem, [default_collate(s) for s in zip(*batch, strict=False)])


def default_collate(batch: list) -> Any:
    """Merge a list of samples into a batch."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, np.ndarray):
        if elem.dtype.char in "SaUO":
            raise TypeError(_ERR.format(elem.dtype))
        return default_collate([as_tensor(b) for b in batch])
    if isinstance(elem, np.generic):
        return as_tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, (collections.abc.Mapping, collections.abc.Sequence)):
        return _fields(batch, elem)
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Without batching (``batch_size=None``): numpy arrays become tensors, the rest stays."""
    if isinstance(data, np.ndarray):
        return data if data.dtype.char in "SaUO" else as_tensor(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _sequence(data, [default_convert(d) for d in data])
    return data
