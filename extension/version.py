"""corpusql's version and the on-disk format it writes: constants every layer may import.

This module imports nothing from corpusql, so any module can read these without an import cycle.
"""

from __future__ import annotations

#: The package version (the same as pyproject.toml's; recorded in manifests and reports).
__version__ = "0.1.0"

#: Database files are written so that the stock DuckDB 1.5 shell (duckdb-cli) can open them.
STORAGE_VERSION = "v1.5.0"
