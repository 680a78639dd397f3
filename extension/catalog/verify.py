"""Checking a dataset's recorded files against its source and cache.

A part of :class:`corpusql.catalog.core.Catalog` (a mixin: its methods use the catalog's
connection and helpers through ``self``).
"""

from __future__ import annotations

import os

from ..files import sha256_file as _sha256
from .common import VerifyReport, _differs


class VerifyMixin:
    """Checking a dataset's recorded files against its source and cache."""

    def verify(self, name: str) -> VerifyReport:
        """Recompute cached copies' sha256 and compare the source listing with the catalog.

        Local source files are always hashed (blake2b of their bytes) and compared with the
        recorded hash; remote files by size and ETag, git files by blob id. Sets the status to
        ``failed`` when a cached copy is missing or altered, and to ``stale`` when the source
        has new, changed or vanished files (``sync`` brings both back to ready: it re-stages
        changed files and makes missing cached copies again).
        """
        row = self._row(name)
        src = self._source(row)
        rep = VerifyReport(name)
        known = self._known(name)
        for path in sorted(known):
            cache = known[path]["cache_path"]
            if not cache:
                continue
            rep.checked += 1
            if not os.path.exists(cache):
                rep.missing.append(path)
            elif _sha256(cache) != known[path]["sha256"]:
                rep.mismatched.append(path)
        listing = self._hashed(src, self._backend(name, src).list(src.pattern()), {})
        rep.source_new = sorted(p for p in listing if p not in known)
        rep.source_vanished = sorted(p for p in known if p not in listing)
        rep.source_changed = sorted(p for p in listing if p in known and
                                    _differs(listing[p], known[p]))
        if rep.mismatched or rep.missing:
            parts = []
            for what, paths in (("missing", rep.missing), ("altered", rep.mismatched)):
                if paths:
                    caches = ", ".join(f"{p} (cache {known[p]['cache_path']})" for p in paths)
                    parts.append(f"cached copies {what}: {caches}")
            self._set_status(name, "failed", "; ".join(parts) + " (run sync to re-fetch missing "
                             "copies; remove altered ones and run sync, or re-run prewarm)")
        elif rep.source_new or rep.source_changed or rep.source_vanished:
            self._set_status(name, "stale", f"source changed: {len(rep.source_new)} new, "
                             f"{len(rep.source_changed)} changed, {len(rep.source_vanished)} "
                             "vanished (run sync)")
        return rep
