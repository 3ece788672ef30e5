"""staticgraph: define-and-run graphs (TF1-style) with a numba compiler."""
