"""``public=True``: refuse to write what reads a dataset or a release that is not redistributable.

The licence fields themselves live in :mod:`corpusql.licences`; this module reads what a query
reads (provenance) and the catalog, so the catalog can use the licences without importing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .licences import of_row


def _release_of(path: str) -> dict[str, Any] | None:
    """The manifest of the corpusql output holding file ``path`` (walking up), or None."""
    p = Path(path).absolute()
    for d in [p, *p.parents]:
        m = d / "_manifest.json"
        if m.is_file():
            try:
                return json.loads(m.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
    return None


def refuse_public(con, query: str, what: str) -> None:
    """Raise when ``query`` reads a dataset or a release that is not redistributable.

    Called by writers given ``public=True`` before anything is written; ``what`` names the
    writer in the message.
    """
    from . import provenance
    from .errors import MaterializeError

    found = provenance.input_files(con, query, provenance.views(con))
    why = [f"dataset {n} is not redistributable (licence {of_row(_row(con, n))['licence']})"
           for n in sorted(found.datasets) if of_row(_row(con, n))["redistributable"] == "false"]
    seen: set[str] = set()
    for f in found.files:
        m = _release_of(f["path"])
        if m is None or os.path.dirname(f["path"]) in seen:
            continue
        seen.add(os.path.dirname(f["path"]))
        lic = m.get("licences") or {}
        if lic.get("redistributable") == "false":
            why.append(f"{f['path']} belongs to a release marked not redistributable "
                       f"({'; '.join(lic.get('why') or [])})")
    if why:
        raise MaterializeError(f"{what}: public=True refused: {'; '.join(why)}; write it "
                               "somewhere private (public=False) or drop those inputs")


def _row(con, name: str) -> dict[str, Any]:
    from .dataset_inputs import catalog_datasets

    return catalog_datasets(con).get(name.lower(), {})
