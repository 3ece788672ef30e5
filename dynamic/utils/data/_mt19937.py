"""PyTorch's CPU random stream (mt19937) for the permutations of ``torch.utils.data``.

``DataLoader(shuffle=True)`` and ``random_split`` draw their permutations exactly as PyTorch
does: from an mt19937 engine seeded by ``manual_seed``, Fisher-Yates with ``random() % (n - i)``,
fresh seeds as ``random64() % 2**63``. So a program that passes a seeded ``torch.Generator``
gets PyTorch's batches and splits. The rest of ``dynamic`` draws from numpy's generator, so the
global stream matches PyTorch's only until another random op (``randn``, ``nn.Linear``'s
initialisation) draws from it there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._random import Generator, default_generator

DEFAULT_SEED = 67280421310721  # PyTorch's seed of a generator nobody seeded


def engine(seed: int) -> np.random.MT19937:
    """An mt19937 seeded like PyTorch's (``init_genrand`` with the low 32 bits)."""
    legacy = np.random.RandomState(seed & 0xFFFFFFFF)  # numpy's legacy seeding is init_genrand
    _, key, pos = legacy.get_state()[:3]
    bits = np.random.MT19937()
    bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}
    return bits


def stream(gen: Generator | None) -> np.random.MT19937:
    """The mt19937 stream of ``gen`` (the global generator when ``None``); restarted whenever
    ``gen.manual_seed`` was called since (it replaces ``gen._rng``)."""
    gen = default_generator if gen is None else gen
    held: Any = getattr(gen, "_mt", None)
    if held is None or held[0] is not gen._rng:
        seed = gen._seed if gen._seed is not None else DEFAULT_SEED
        held = gen._mt = (gen._rng, engine(seed))
    return held[1]


def random64(gen: Generator | None) -> int:
    """``torch.empty((), dtype=torch.int64).random_(generator=gen).item()``."""
    hi, lo = stream(gen).random_raw(2)
    return ((int(hi) << 32) | int(lo)) % (1 << 63)


def randperm(n: int, gen: Generator | None) -> list[int]:
    """``torch.randperm(n, generator=gen).tolist()``."""
    perm = list(range(n))
    if n > 1:
        draws = stream(gen).random_raw(n - 1).tolist()
        for i in range(n - 1):
            j = draws[i] % (n - i) + i
            perm[i], perm[j] = perm[j], perm[i]
    return perm


def randint(high: int, size: int, gen: Generator | None) -> list[int]:
    """``torch.randint(high=high, size=(size,), generator=gen).tolist()`` (``high < 2**32``)."""
    return [d % high for d in stream(gen).random_raw(size).tolist()] if size else []


def seeded(seed: int) -> Generator:
    """``torch.Generator().manual_seed(seed)``."""
    return Generator().manual_seed(seed)
