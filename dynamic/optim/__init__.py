"""``dynamic.optim``: ``SGD``, ``Adam`` (``_core.py``), ``AdamW``, ``RMSprop``, ``Adagrad``,
``Adadelta`` (``adaptive.py``), ``Adamax``, ``NAdam``, ``RAdam``
(``adam_variants.py``) with PyTorch's exact update formulas; ``lr_scheduler`` loads on
first use."""

from __future__ import annotations

import importlib
from typing import Any

from .. import _unsupported
from ._core import SGD, Adam, Optimizer
from .adam_variants import Adamax, NAdam, RAdam
from .adaptive import Adadelta, Adagrad, AdamW, RMSprop

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer", "RAdam",
           "RMSprop", "SGD"]

_missing = _unsupported.missing_names("torch.optim", {
    "swa_utils": "average the parameters by hand"})


def __getattr__(name: str) -> Any:
    """``optim.lr_scheduler`` loads on first use (``lr_scheduler.py``); else not supported."""
    if name == "lr_scheduler":
        return importlib.import_module(__name__ + ".lr_scheduler")
    return _missing(name)
