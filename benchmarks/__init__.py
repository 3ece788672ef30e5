"""sgbench: the benchmark suite of staticgraph (``sgbench`` / ``python -m benchmarks``).

Nothing here imports numpy or a framework: the per-mode subprocesses must fix their thread
counts before those imports.
"""
