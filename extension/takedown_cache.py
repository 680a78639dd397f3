"""Erasure in the catalog's cache: cached Parquet copies that hold a matched document.

With ``purge=True`` a takedown also searches the cached copies (``corpusql.files.cache_path``)
of the catalog datasets the changed releases read, and the masked copies role connections read
(``<cache_dir>/<dataset>/masked/``), with the same match, and deletes each copy holding a
matching document. The dataset is marked ``stale`` with the request named;
``corpusql dataset sync NAME`` makes the missing copies again from the source (which the
catalog does not own: a document still in the source comes back to the cache, never to a
release, since every materialization applies recorded takedowns).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def purge_cached(con, datasets: set[str], m: dict[str, Any], request_id: str,
                 dry_run: bool) -> list[tuple[str, int, str]]:
    """``(cached file, documents found, action)`` per cached copy holding a match."""
    import numpy as np
    import pyarrow as pa

    from .catalog.core import Catalog, catalog_dir
    from .catalog.views import resolve
    from .dataset_inputs import catalog_datasets
    from .fingerprints import rows_of
    from .takedown_apply import hits

    known = catalog_datasets(con)
    names = sorted(n for n in datasets if n.lower() in known)
    if not names:
        return []
    base = catalog_dir(con)
    cache = Catalog(con).cache_dir  # role connections' masked copies live under it too
    out = []
    for name in names:
        cached = [resolve(r, base) for (r,) in con.execute(
            "SELECT cache_path FROM corpusql.files WHERE dataset = ? AND cache_path IS NOT NULL "
            "ORDER BY path", [name]).fetchall()]
        masked = sorted(str(p) for p in (cache / name / "masked").glob("*.parquet"))
        hit_files = []
        for where in cached + masked:
            path = Path(where)
            if not path.is_file():
                continue
            index = pa.Table.from_batches(list(rows_of(path, path.name, {})))
            found = int(np.sum(hits(path.parent, index, [m]))) if index.num_rows else 0
            if not found:
                continue
            if where in masked:  # made again, without the document, when a role connects
                if not dry_run:
                    path.unlink()
                out.append((str(path), found, f"{'would delete' if dry_run else 'deleted'} a "
                                              f"role's masked copy of dataset {name}"))
                continue
            hit_files.append(path)
            if dry_run:
                out.append((str(path), found, f"would delete cached copy of dataset {name}"))
                continue
            path.unlink()
            out.append((str(path), found, f"deleted cached copy of dataset {name}; run "
                                          f"`corpusql dataset sync {name}`"))
        if hit_files and not dry_run:
            con.execute("UPDATE corpusql.datasets SET status = 'stale', error = ? WHERE name = ?",
                        [f"takedown {request_id} deleted {len(hit_files)} cached copies holding "
                         f"a matched document; run `corpusql dataset sync {name}` to make them "
                         "again from the source", name])
    return out
