"""The CUDA backend: the same schedule as the CPU's, rendered as ``numba.cuda`` kernels and run by
:class:`~.executor.CudaExecutor` (registered as ``"cuda"`` where a device or the simulator is).

Imports nothing itself: ``numba.cuda`` is imported only once a CUDA plan is built or run."""
