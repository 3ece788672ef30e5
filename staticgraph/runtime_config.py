"""TF1 script boilerplate that has no effect here but must not break a program: ``tf.device``,
``tf.ConfigProto``/``tf.GPUOptions`` (accepted by ``Session(config=...)``), ``tf.logging`` and
``tf.test.is_gpu_available``. Devices: everything runs where the executor runs (CPU)."""

from __future__ import annotations

import contextlib
import logging as _logging
import types
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def device(device_name_or_function: Any) -> Iterator[None]:
    """Accepted and ignored: staticgraph places nothing (the executor decides)."""
    yield


class _Options:
    """A keyword-argument record (``tf.ConfigProto(allow_soft_placement=True, ...)``)."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def __getattr__(self, name: str) -> Any:  # unset fields read as None, like proto defaults
        if name.startswith("__"):
            raise AttributeError(name)
        return None

    def __repr__(self) -> str:
        return "\n".join(f"{k}: {v!r}" for k, v in self.__dict__.items())


class GPUOptions(_Options):
    pass


class ConfigProto(_Options):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("gpu_options", GPUOptions())  # config.gpu_options.allow_growth = True
        super().__init__(**kwargs)


class RunOptions(_Options):
    FULL_TRACE = 3
    NO_TRACE = 0


class RunMetadata(_Options):
    pass


_LOG = _logging.getLogger("staticgraph")
logging = types.SimpleNamespace(
    DEBUG=_logging.DEBUG, INFO=_logging.INFO, WARN=_logging.WARNING, WARNING=_logging.WARNING,
    ERROR=_logging.ERROR, FATAL=_logging.CRITICAL,
    set_verbosity=_LOG.setLevel, get_verbosity=_LOG.getEffectiveLevel,
    debug=_LOG.debug, info=_LOG.info, warn=_LOG.warning, warning=_LOG.warning,
    error=_LOG.error, fatal=_LOG.critical)
test = types.SimpleNamespace(is_gpu_available=lambda *a, **k: False,
                             gpu_device_name=lambda: "", is_built_with_cuda=lambda: False)

__all__ = ["device", "ConfigProto", "GPUOptions", "RunOptions", "RunMetadata", "logging",
           "test"]
