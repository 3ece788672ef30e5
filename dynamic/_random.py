"""The global random generator behind ``manual_seed``, ``rand``/``randn`` and ``nn`` init.

Values are drawn by a numpy ``Generator``: seeding makes runs reproducible, though the numbers
differ from PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_GEN = [np.random.default_rng()]


class Generator:
    """``torch.Generator``: an independent stream (``manual_seed`` returns it)."""

    def __init__(self, device: Any = "cpu") -> None:
        self._rng = np.random.default_rng()
        self._seed = None

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self._rng = np.random.default_rng(int(seed))
        return self

    def initial_seed(self) -> int | None:
        return self._seed


default_generator = Generator()
default_generator._rng = _GEN[0]


def manual_seed(seed: int) -> Generator:
    """Seed the global generator (reproducible ``rand``/``randn``/initialisation)."""
    default_generator.manual_seed(seed)
    _GEN[0] = default_generator._rng
    return default_generator


def seed() -> int:
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s


def generator_of(gen: Generator | None) -> np.random.Generator:
    return gen._rng if gen is not None else _GEN[0]
