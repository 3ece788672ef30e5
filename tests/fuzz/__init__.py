"""The differential fuzzer (issue #9): random programs over the op registry, run on every
executor and mode, compared, minimized. ``python -m tests.fuzz --help``; docs/guarantees.md,
"Running the fuzzer"."""
