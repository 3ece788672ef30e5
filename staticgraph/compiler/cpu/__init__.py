"""The CPU backend: a schedule rendered as numba ``@njit`` kernels and drivers, compiled through
the disk cache, run by :class:`~.executor.NumbaExecutor` (registered as ``"numba"``).

Kept light: generated kernel modules import :mod:`.scalar` and :mod:`.accum` from here, so this
package imports nothing itself."""
