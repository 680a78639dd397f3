"""Releases as tables: ``release_versions``, ``release_licences``, ``release_diff`` in SQL.

DuckDB has no Python table functions, so each is a TEMP table macro over small UDFs bound
through the binder (:data:`RELEASE_IO`, kept out of the generic registry because they read
files): ``release_index(path)`` is the fingerprint index file of the release at ``path`` (a
release directory or a versioned release's root, read through ``current``), and the others
return one list of structs that the macro unnests.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from .registry import Param, Registry, fn

_PATH = Param("path", "VARCHAR")
_VERSIONS_TYPE = ("STRUCT(version VARCHAR, path VARCHAR, rows BIGINT, written TIMESTAMP, "
                  "is_current BOOLEAN, takedowns INTEGER)[]")
_TERMS_TYPE = ("STRUCT(licence VARCHAR, datasets VARCHAR[], redistributable VARCHAR, "
               "terms_urls VARCHAR[], attributions VARCHAR[])[]")


def _index_of(path: str) -> str:
    from .fingerprints import index_path
    from .releases import resolve

    idx = index_path(path)
    if not idx.is_file():
        where = resolve(path)
        why = ("no such directory" if not where.exists() else
               "no _manifest.json (not a corpusql output)" if not (where / "_manifest.json")
               .is_file() else "it was written before fingerprint indexes (materialize it "
                               "again with force=True to add one)")
        raise ValueError(f"release {path}: no fingerprint index {idx.name}: {why}")
    return str(idx)


def release_index(path: pa.Array) -> pa.Array:
    """The fingerprint index file (``_fingerprints.pq``) of the release at ``path``.

    ``path`` is a release directory or a versioned release's root (its ``current`` version).
    Fails naming the release when it has no index.
    """
    return pa.array([_index_of(p) for p in path.to_pylist()], type=pa.string())


def release_versions_list(path: pa.Array) -> pa.Array:
    """The versions of the versioned release at ``path``, oldest first (see releases.py)."""
    from datetime import UTC, datetime

    from .releases import list_versions

    out = []
    for p in path.to_pylist():
        out.append([{"version": v.version, "path": str(v.path), "rows": v.rows,
                     "written": datetime.fromtimestamp(v.created, UTC).replace(tzinfo=None),
                     "is_current": v.current, "takedowns": v.takedowns}
                    for v in list_versions(p)])
    return pa.array(out)


def release_terms_list(path: pa.Array) -> pa.Array:
    """Per licence id of the release at ``path``: its input datasets, whether they may be
    redistributed (``false`` if any is not, ``unknown`` if any is unknown), terms URLs and
    attributions, from the manifest's dataset records."""
    from .releases import resolve

    out = []
    for p in path.to_pylist():
        man = json.loads((resolve(p) / "_manifest.json").read_text("utf-8"))
        by: dict[str, dict] = {}
        for name, rec in sorted((man.get("datasets") or {}).items()):
            lic = rec.get("licence") or {}
            e = by.setdefault(lic.get("licence", "unknown"), {
                "datasets": [], "redist": set(), "terms_urls": [], "attributions": []})
            e["datasets"].append(name)
            e["redist"].add(lic.get("redistributable", "unknown"))
            for key, field in (("terms_urls", "terms_url"), ("attributions", "attribution")):
                if lic.get(field) and lic[field] not in e[key]:
                    e[key].append(lic[field])
        out.append([{"licence": k, "datasets": e["datasets"],
                     "redistributable": "false" if "false" in e["redist"] else
                     "unknown" if "unknown" in e["redist"] else "true",
                     "terms_urls": e["terms_urls"], "attributions": e["attributions"]}
                    for k, e in sorted(by.items())])
    return pa.array(out)


RELEASE_IO = Registry([
    fn("release_index", release_index, [_PATH], "VARCHAR", deterministic=False),
    fn("release_versions_list", release_versions_list, [_PATH], _VERSIONS_TYPE,
       deterministic=False),
    fn("release_terms_list", release_terms_list, [_PATH], _TERMS_TYPE, deterministic=False),
])

MACROS = {
    "release_versions": (
        """CREATE OR REPLACE TEMP MACRO release_versions(path) AS TABLE
        SELECT unnest(v, recursive := true)
        FROM (SELECT unnest(release_versions_list(path)) AS v)""",
        "The versions of a versioned release (root directory): version, path, rows, written "
        "(UTC), is_current, takedowns, oldest first."),
    "release_licences": (
        """CREATE OR REPLACE TEMP MACRO release_licences(path) AS TABLE
        WITH docs AS (
            SELECT licence, count(*) AS documents, sum(chars)::BIGINT AS characters,
                   sum(tokens)::BIGINT AS tokens
            FROM read_parquet(release_index(path)) GROUP BY licence
        ), terms AS (SELECT unnest(t, recursive := true)
                     FROM (SELECT unnest(release_terms_list(path)) AS t))
        SELECT d.licence, coalesce(t.redistributable, 'unknown') AS redistributable,
               coalesce(t.datasets, []) AS datasets, coalesce(t.terms_urls, []) AS terms_urls,
               coalesce(t.attributions, []) AS attributions, d.documents, d.characters, d.tokens
        FROM docs d LEFT JOIN terms t USING (licence) ORDER BY d.licence""",
        "Documents, characters and tokens of a release per licence (from its fingerprint "
        "index), with the input datasets, redistributable, terms URLs and attributions; "
        "tokens is NULL unless the release has a token_count column."),
    "release_diff": (
        """CREATE OR REPLACE TEMP MACRO release_diff(old_path, new_path) AS TABLE
        WITH a AS (SELECT id, doc_hash, source, tokens FROM read_parquet(release_index(old_path))),
        b AS (SELECT id, doc_hash, source, tokens FROM read_parquet(release_index(new_path))),
        removed AS (SELECT * FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.id = a.id
                    AND b.doc_hash IS NOT DISTINCT FROM a.doc_hash)),
        added AS (SELECT * FROM b WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.id = b.id
                  AND a.doc_hash IS NOT DISTINCT FROM b.doc_hash)),
        why AS (SELECT unnest(w, recursive := true)
                FROM (SELECT unnest(release_removals_list(old_path, new_path)) AS w))
        SELECT r.id, r.doc_hash, r.source, 'removed' AS change, r.tokens,
               coalesce(w1.stage, w2.stage) AS stage, coalesce(w1.reason, w2.reason) AS reason
        FROM removed r LEFT JOIN why w1 ON w1.id = r.id
        LEFT JOIN why w2 ON w1.id IS NULL AND w2.id IS NULL AND w2.doc_hash = r.doc_hash
        UNION ALL
        SELECT id, doc_hash, source, 'added', tokens, NULL, NULL FROM added
        ORDER BY change DESC, id, doc_hash""",
        "One row per document added to or removed from a release between two paths: id, "
        "doc_hash, source, change, tokens, and for removals the stage and reason: a takedown "
        "the newer release records, else the newer release's removal log (materialize "
        "removal_log=)."),
    "release_diff_summary": (
        """CREATE OR REPLACE TEMP MACRO release_diff_summary(old_path, new_path) AS TABLE
        SELECT source,
               count(*) FILTER (change = 'added') AS documents_added,
               sum(tokens) FILTER (change = 'added')::BIGINT AS tokens_added,
               count(*) FILTER (change = 'removed') AS documents_removed,
               sum(tokens) FILTER (change = 'removed')::BIGINT AS tokens_removed
        FROM release_diff(old_path, new_path) GROUP BY source ORDER BY source NULLS LAST""",
        "Per source: documents and tokens added and removed between two releases."),
}


def release_removals_list(old_path: pa.Array, new_path: pa.Array) -> pa.Array:
    """Why documents left between the releases at ``old_path`` and ``new_path``: (id,
    doc_hash, stage, reason) from the takedowns the newer one records and its removal log
    (corpusql.release_removals)."""
    from .release_removals import reasons

    out = [reasons(a, b) for a, b in zip(old_path.to_pylist(), new_path.to_pylist())]
    return pa.array(out, type=pa.list_(pa.struct([("id", pa.string()), ("doc_hash", pa.string()),
                                                   ("stage", pa.string()),
                                                   ("reason", pa.string())])))


RELEASE_IO.add(fn("release_removals_list", release_removals_list,
                  [Param("old_path", "VARCHAR"), Param("new_path", "VARCHAR")],
                  "STRUCT(id VARCHAR, doc_hash VARCHAR, stage VARCHAR, reason VARCHAR)[]",
                  deterministic=False))


def bind_releases(con: duckdb.DuckDBPyConnection, guard=None) -> None:
    """Bind the release UDFs and table macros on ``con``."""
    from .binder import bind
    from .registry import sql_literal

    bind(con, RELEASE_IO, guard=guard)
    for name, (sql, comment) in MACROS.items():
        con.execute(sql)
        con.execute(f"COMMENT ON MACRO TABLE {name} IS {sql_literal(comment)}")
