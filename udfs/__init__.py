"""Engine-agnostic kernels on Arrow arrays.

Every kernel is a plain function: column inputs positional (``pyarrow.Array``), constants
keyword-only with defaults, one ``pyarrow.Array`` out. Nothing here imports duckdb, so the same
kernels can serve another engine. Each docstring states the definition and its source.
"""
