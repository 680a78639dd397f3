"""Where a release lives: a directory, or a versioned root (``v0001/``, ... and ``current``).

The path primitives every reader of releases needs (verify, status, fingerprints, takedowns,
the report), without the publishing side (:mod:`corpusql.releases`), so readers never import
the writers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

CURRENT = "current"
_VERSION = re.compile(r"^v(\d{4,})$")


def is_versioned(root: str | os.PathLike) -> bool:
    return os.path.lexists(Path(root) / CURRENT)


def resolve(path: str | os.PathLike) -> Path:
    """The directory of the release at ``path``: ``path/current``'s target for a versioned
    root, else ``path`` itself."""
    p = Path(path)
    if is_versioned(p):
        return (p / os.readlink(p / CURRENT)) if (p / CURRENT).is_symlink() else p / CURRENT
    return p


def versions(root: str | os.PathLike) -> list[str]:
    """Version directory names under ``root``, oldest first."""
    r = Path(root)
    if not r.is_dir():
        return []
    return sorted((p.name for p in r.iterdir() if _VERSION.match(p.name) and p.is_dir()),
                  key=lambda n: int(n[1:]))


def current(root: str | os.PathLike) -> str | None:
    """The version ``root/current`` points to, or None."""
    link = Path(root) / CURRENT
    return os.readlink(link) if link.is_symlink() else None
