"""``Module.state_dict`` / ``load_state_dict`` with PyTorch's key order (each module's
parameters, then its persistent buffers, module by module), strict checking, its error texts
and its ``_IncompatibleKeys`` result."""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Iterator
from typing import Any

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns; prints ``<All keys matched successfully>`` if empty."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _own_entries(module: Any, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
    for mp, m in module.named_modules(prefix=prefix.rstrip(".")):
        head = mp + "." if mp else ""
        for name, p in m._parameters.items():
            if p is not None:
                yield head + name, p
        skip = m.__dict__.get("_non_persistent_buffers_set", ())
        for name, b in m._buffers.items():
            if b is not None and name not in skip:
                yield head + name, b


def state_dict(module: Any, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
    """Parameters and persistent buffers by dotted name, detached unless ``keep_vars``."""
    out: OrderedDict = OrderedDict()
    for name, t in _own_entries(module, prefix):
        out.setdefault(name, t if keep_vars else t.detach())
    return out


def load_state_dict(module: Any, state: Any, strict: bool = True,
                    assign: bool = False) -> _IncompatibleKeys:
    """Copy ``state``'s tensors into the module's (under ``no_grad``); a shape mismatch is an
    error even when not ``strict``; nothing is copied when anything is wrong."""
    if not isinstance(state, dict):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state)}.")
    own = dict(_own_entries(module))
    # a checkpoint without BatchNorm's num_batches_tracked (older PyTorch) loads as PyTorch's
    optional = {mp + ("." if mp else "") + n for mp, m in module.named_modules()
                for n in getattr(m, "_optional_state", ())}
    missing = [k for k in own if k not in state and k not in optional]
    unexpected = [k for k in state if k not in own]
    errors = []
    for k, v in state.items():
        if k not in own:
            continue
        if not isinstance(v, Tensor):
            errors.append(f'While copying the parameter named "{k}", expected torch.Tensor or '
                          f"Tensor-like object from checkpoint but received {type(v)}")
        elif tuple(v.shape) != tuple(own[k].shape):
            errors.append(f"size mismatch for {k}: copying a param with shape {v.shape} from "
                          f"checkpoint, the shape in current model is {own[k].shape}.")
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                ", ".join(f'"{k}"' for k in unexpected)))
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                ", ".join(f'"{k}"' for k in missing)))
    if errors:
        raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
            type(module).__name__, "\n\t".join(errors)))
    with no_grad():
        for k, v in state.items():
            if k in own:
                own[k].copy_(v)
    return _IncompatibleKeys(missing, unexpected)
