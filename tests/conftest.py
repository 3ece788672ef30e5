"""Fixtures every test folder shares: the CPU compiler's *tier* pinned by the test.

Left alone, a new compiled instance starts on the LLVM/native tier while numba is not loaded
(or still loading) in the process, and on numba's dispatchers once it is: which one a test
gets depends on what ran before it in the xdist worker and on how busy the machine is (the
loader thread imports numba in the background). A test that observes the tier (numba's single
driver, ``prange`` variants, the accuracy of numba's blocked sums) pins it:

* ``llvm_tier``: the LLVM/native kernels only, never handed over to numba
  (``STATICGRAPH_NATIVE=always``). For tests of what a capture or a program computes, not of
  the tier: a numba compile of a plan's single driver costs 5-30 CPU-s, ~20x the LLVM kernels.
* ``numba_tier``: numba's dispatchers from the first run, no native tier
  (``STATICGRAPH_NATIVE=0``): the single driver, ``prange`` variants, numba's sums.
* ``handover_tier``: as in a process that has not loaded numba: instances start on the native
  tier and queue their hand-over to numba, those made after the hand-overs finished start on
  numba's; ``block_until_ready()`` waits for the switches (tests of what the hand-over
  rebuilds, e.g. ``dynamic.compile``'s fast path).

Both work whether or not the compiler is imported yet (``native.MODE`` is read at import).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

_NATIVE = "staticgraph.compiler.cpu.native"
TIER_MODES = {"llvm": "always", "numba": "0", "handover": "auto"}
"""Tier name -> ``STATICGRAPH_NATIVE`` value (``cpu/native.py``'s ``MODE``)."""


def pinned_tier(tier: str) -> Iterator[None]:
    """Generator body of a fixture: ``native.MODE`` set for the test, restored after (also
    when the test itself imported the compiler: the module then gets the outer setting)."""
    mode = TIER_MODES[tier]
    if tier == "handover":
        from staticgraph.compiler.cpu import native

        # as in a process that had not loaded numba yet: instances start native until the
        # first queued hand-overs finished, numba's after (the loader imports nothing new)
        fresh = [True]
        real_later = native.later

        def later(ref: object) -> None:
            fresh[0] = False
            real_later(ref)

        saved = native.MODE, native.enabled, native.later
        native.MODE, native.later = mode, later
        native.enabled = lambda: sys.platform.startswith("linux") and (
            fresh[0] or native._pending > 0)
        try:
            yield
        finally:
            native.MODE, native.enabled, native.later = saved
        return
    mod = sys.modules.get(_NATIVE)
    if mod is not None:
        old = mod.MODE
        mod.MODE = mode
        try:
            yield
        finally:
            mod.MODE = old
        return
    old_env = os.environ.get("STATICGRAPH_NATIVE")
    os.environ["STATICGRAPH_NATIVE"] = mode
    try:
        yield
    finally:
        if old_env is None:
            os.environ.pop("STATICGRAPH_NATIVE", None)
        else:
            os.environ["STATICGRAPH_NATIVE"] = old_env
        mod = sys.modules.get(_NATIVE)
        if mod is not None:  # imported during the test: what it would have read outside it
            mod.MODE = old_env or "auto"


@pytest.fixture
def llvm_tier() -> Iterator[None]:
    """Compiled instances run LLVM/native kernels only, never upgraded to numba's."""
    yield from pinned_tier("llvm")


@pytest.fixture
def numba_tier() -> Iterator[None]:
    """Compiled instances run numba's dispatchers (single driver, ``prange``) from the start."""
    yield from pinned_tier("numba")


@pytest.fixture
def handover_tier() -> Iterator[None]:
    """New instances start native and hand over to numba on the loader thread."""
    yield from pinned_tier("handover")


def executor_on_its_tier(request: pytest.FixtureRequest) -> str:
    """An ``executor`` fixture's parameter, with ``"numba"`` pinned to numba's tier (the
    ``numba-native``/``numba-llvm`` test executors name theirs; tests/static/conftest.py)."""
    if request.param == "numba":
        request.getfixturevalue("numba_tier")
    return request.param
