"""``Optimizer.state_dict()`` / ``load_state_dict()`` in PyTorch's layout: parameters by index
(in ``param_groups`` order), per-parameter state as tensors (Adam's ``step`` a float32 scalar
tensor, as PyTorch's), hyperparameters per group. The optimizers keep their state as numpy
arrays internally (their step loops run on arrays); this file converts at the boundary."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .._tensor import Tensor, make


def _index(opt: Any) -> dict[int, int]:
    ids: dict[int, int] = {}
    for g in opt.param_groups:
        for p in g["params"]:
            ids.setdefault(id(p), len(ids))
    return ids


def _out(key: str, v: Any) -> Any:
    if key == "step" and not isinstance(v, Tensor):
        return make(np.array(float(v), np.float32))
    return make(v) if isinstance(v, np.ndarray) else v  # shares the buffer, as PyTorch's


def state_dict(opt: Any) -> dict:
    ids = _index(opt)
    return {"state": {ids[id(p)]: {k: _out(k, v) for k, v in s.items()}
                      for p, s in opt.state.items() if id(p) in ids},
            "param_groups": [{**{k: v for k, v in g.items() if k != "params"},
                              "params": [ids[id(p)] for p in g["params"]]}
                             for g in opt.param_groups]}


def _in(key: str, v: Any, p: Any) -> Any:
    if key == "step":
        return int(v.item()) if isinstance(v, Tensor) else v
    if isinstance(v, Tensor):
        v = v._data
    if isinstance(v, np.ndarray):
        return np.array(v, dtype=p._data.dtype if v.dtype.kind == "f" else v.dtype, copy=True)
    return copy.deepcopy(v)


def load_state_dict(opt: Any, state: dict) -> None:
    """Replace the hyperparameters and per-parameter state with ``state``'s (copied);
    the groups must match in number and size, else nothing changes."""
    groups, saved = opt.param_groups, state["param_groups"]
    if len(groups) != len(saved):
        raise ValueError("loaded state dict has a different number of parameter groups")
    if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved, strict=True)):
        raise ValueError("loaded state dict contains a parameter group that doesn't match the "
                         "size of optimizer's group")
    by_index = {i: p for s, g in zip(saved, groups, strict=True)
                for i, p in zip(s["params"], g["params"], strict=True)}
    new_state = {}
    for i, s in state["state"].items():
        p = by_index.get(int(i))
        if p is not None:
            new_state[p] = {k: _in(k, v, p) for k, v in s.items()}
    opt.param_groups[:] = [{**copy.deepcopy({k: v for k, v in s.items() if k != "params"}),
                            "params": g["params"]} for s, g in zip(saved, groups, strict=True)]
    opt.state.clear()
    opt.state.update(new_state)
