"""``torch.save`` / ``torch.load`` in this project's own format, without pickle.

A saved file is a zip archive holding ``dynamic.json`` (the object's structure: dicts,
OrderedDicts, lists, tuples, numbers, strings, ``None``, ``torch.Size``, dtypes; tensors and
numpy arrays by reference) and one ``arrays/<n>.npy`` per tensor or array (``numpy.save``
without pickle). So loading never runs code from the file, and ``weights_only`` changes
nothing. What a state_dict, an optimizer's ``state_dict()`` or a checkpoint dict holds round
trips: values and dtypes bit for bit, ``requires_grad``, ``nn.Parameter``, a tensor stored
twice loads as one tensor. Not supported: pickling arbitrary objects (a whole ``nn.Module``:
save its ``state_dict()``), and reading PyTorch's own ``.pt``/``.pth`` files (a different,
pickle-based format).
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from . import _dtypes
from ._device import check_device
from ._dtypes import Size
from ._tensor import Tensor, make
from ._unsupported import PROJECT
from .nn.modules import Module, Parameter

FORMAT = "dynamic.save"
_META = "dynamic.json"


class _Writer:
    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.memo: dict[int, int] = {}

    def encode(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        if isinstance(obj, Tensor):
            return {"tensor": self._array(obj, obj._data), "requires_grad": obj.requires_grad,
                    "parameter": isinstance(obj, Parameter)}
        if isinstance(obj, (np.ndarray, np.generic)):
            return {"ndarray" if isinstance(obj, np.ndarray) else "npscalar":
                    self._array(obj, np.asarray(obj))}
        if isinstance(obj, _dtypes.dtype):
            return {"dtype": str(obj)}
        if isinstance(obj, Size):
            return {"size": list(obj)}
        if isinstance(obj, dict):
            return {"ordered" if isinstance(obj, OrderedDict) else "dict":
                    [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            return {type(obj).__name__ if type(obj) in (list, tuple) else "list":
                    [self.encode(v) for v in obj]}
        if isinstance(obj, Module):
            raise NotImplementedError(
                f"torch.save of a whole nn.Module ({type(obj).__name__}) is not supported by "
                f"{PROJECT}; save model.state_dict() and load it with "
                "model.load_state_dict(torch.load(path))")
        raise NotImplementedError(
            f"torch.save of a {type(obj).__name__} object is not supported by {PROJECT}: it "
            "saves tensors, numpy arrays, numbers, strings, None, dtypes and dicts, lists and "
            "tuples of them (no pickle)")

    def _array(self, key: Any, arr: np.ndarray) -> int:
        if id(key) not in self.memo:
            self.memo[id(key)] = len(self.arrays)
            self.arrays.append(np.asarray(arr, order="C"))
        return self.memo[id(key)]


def save(obj: Any, f: Any, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False
         ) -> None:
    """Write ``obj`` to ``f`` (a path or a binary file object); see the module docstring."""
    w = _Writer()
    meta = json.dumps({"format": FORMAT, "version": 1, "root": w.encode(obj)})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(_META, meta)
        for i, a in enumerate(w.arrays):
            data = io.BytesIO()
            np.save(data, a, allow_pickle=False)
            z.writestr(f"arrays/{i}.npy", data.getvalue())
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as out:
            out.write(buf.getvalue())
    else:
        f.write(buf.getvalue())


class _Reader:
    def __init__(self, z: zipfile.ZipFile) -> None:
        self.z = z
        self.done: dict[int, Any] = {}

    def array(self, i: int) -> np.ndarray:
        with self.z.open(f"arrays/{i}.npy") as fh:
            return np.load(io.BytesIO(fh.read()), allow_pickle=False)

    def decode(self, v: Any) -> Any:
        if not isinstance(v, (dict, list)):
            return v
        (kind, body), = ((k, x) for k, x in v.items() if k not in ("requires_grad", "parameter"))
        if kind == "tensor":
            if body not in self.done:
                t = make(self.array(body), cls=Parameter if v["parameter"] else None)
                t.requires_grad_(v["requires_grad"])
                self.done[body] = t
            return self.done[body]
        if kind == "ndarray":
            return self.done.setdefault(body, self.array(body))
        if kind == "npscalar":
            return self.array(body)[()]
        if kind == "float":
            return float(body)
        if kind == "dtype":
            return getattr(_dtypes, body.split(".")[-1])
        if kind == "size":
            return Size(body)
        if kind in ("dict", "ordered"):
            pairs = [(self.decode(k), self.decode(x)) for k, x in body]
            return OrderedDict(pairs) if kind == "ordered" else dict(pairs)
        items = [self.decode(x) for x in body]
        return tuple(items) if kind == "tuple" else items


def load(f: Any, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **pickle_load_args: Any
         ) -> Any:
    """Read what :func:`save` wrote (from a path or a binary file object); ``map_location``
    may name the CPU only."""
    if isinstance(map_location, str) or map_location is not None and not callable(map_location):
        check_device(str(map_location))
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", repr(f))
    raw = open(f, "rb").read() if isinstance(f, (str, os.PathLike)) else f.read()  # noqa: SIM115
    try:
        z = zipfile.ZipFile(io.BytesIO(raw))
        meta = json.loads(z.read(_META))
        if meta.get("format") != FORMAT:
            raise ValueError(meta.get("format"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise RuntimeError(
            f"{name} is not a file written by torch.save of {PROJECT} (a zip of .npy arrays "
            "and JSON); reading PyTorch's own .pt/.pth files is not supported: in PyTorch, "
            "load it and save {k: v.numpy() for k, v in state_dict.items()} with numpy.savez"
        ) from None
    with z:
        return _Reader(z).decode(meta["root"])


__all__ = ["load", "save"]
