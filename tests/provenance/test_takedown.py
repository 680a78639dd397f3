"""Takedown and erasure: every match kind, dry runs, a match that finds nothing, a release
that fails verify, rebuilds that never bring a document back, and purge with a passing
verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prov_helpers import ALL, ids, index_rows

import corpusql
from corpusql.materializer import read_manifest, verify
from corpusql.releases import current, materialize, versions
from corpusql.takedown_match import MatchError


def _text(con, doc_id: str) -> str:
    return con.execute(f"SELECT text FROM ({ALL}) WHERE id = ?", [doc_id]).fetchall()[0][0]


def _near_copy(text: str) -> str:
    words = text.split()
    words[-1] = "changedword"  # one of 35 words differs: estimated Jaccard well above 0.8
    return " ".join(words)


def _match(kind: str, con) -> tuple[dict, set[str]]:
    """A match of each kind and the ids it must remove from ALL."""
    from corpusql.udfs.hashing import text_fingerprint

    t = _text(con, "web-5")
    return {
        "url": ({"url": "HTTPS://www.EXAMPLE.com:443/web/5?utm_source=x#top"}, {"web-5"}),
        "domain": ({"domain": "www.books.example.org"}, {f"books-{i}" for i in range(20)}),
        "id": ({"id": "books-3"}, {"books-3"}),
        "text": ({"text": "  " + t.upper() + "!!"}, {"web-5"}),
        "doc_hash": ({"doc_hash": text_fingerprint(pa.array([t]))[0].as_py()}, {"web-5"}),
        "near_text": ({"near_text": _near_copy(t), "threshold": 0.8}, {"web-5"}),
    }[kind]


@pytest.mark.parametrize("kind", ["url", "domain", "id", "text", "doc_hash", "near_text"])
def test_each_match_kind_removes_exactly_its_documents(lake, tmp_path, kind):
    con, _ = lake
    a, b = tmp_path / "a", tmp_path / "b"
    materialize(con, ALL, a, versioned=True, max_rows_per_file=16)
    materialize(con, ALL, b)
    before = ids(b)
    match, gone = _match(kind, con)
    erased = _text(con, "web-5")  # read before the takedown hides it in the catalog's view
    rep = corpusql.takedown(con, match, "opt-out", "REQ-1", [a, b])
    assert [(r.action, r.found) for r in rep.rows] == [("removed", len(gone))] * 2
    assert rep.rows[0].new_version == "v0002" and current(a) == "v0002"
    for out in (a / "current", b):
        assert ids(out) == sorted(set(before) - gone)
        assert verify(out).ok
        assert sorted(r["id"] for r in index_rows(out)) == ids(out)
        rec = read_manifest(out)["takedowns"][-1]
        assert (rec["request_id"], rec["reason"], rec["removed"]) == ("REQ-1", "opt-out",
                                                                      len(gone))
    assert ids(a / "v0001") == before  # the older version is kept (no purge)
    if kind in ("text", "near_text"):  # the erased text is never copied into records
        assert erased[40:80] not in (b / "_manifest.json").read_text()
        assert "value" not in rec["match"]
    row = con.execute("SELECT request_id, kind FROM corpusql.takedowns").fetchall()
    assert row == [("REQ-1", kind)]


def test_a_dry_run_and_a_match_that_finds_nothing_change_nothing(lake, tmp_path):
    con, _ = lake
    out = tmp_path / "out"
    materialize(con, ALL, out, versioned=True)
    snapshot = sorted((p.name, p.stat().st_mtime_ns) for p in (out / "v0001").iterdir())
    rep = corpusql.takedown(con, {"id": "web-1"}, "opt-out", "R", [out], dry_run=True)
    assert [(r.action, r.found) for r in rep.rows] == [("would remove", 1)]
    rep = corpusql.takedown(con, {"url": "https://nowhere.example.net/x"}, "opt-out", "R", [out])
    assert [(r.action, r.found) for r in rep.rows] == [("no match", 0)] and not rep.recorded
    assert versions(out) == ["v0001"]
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (out / "v0001").iterdir()) == snapshot
    tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'takedowns'"
                         ).fetchall()
    assert tables == [(0,)]


@pytest.mark.parametrize("match, said", [
    ({"url": "x", "id": "y"}, "exactly one of"), ({"colour": "red"}, "exactly one of"),
    ({"url": "not a url"}, "has no host"), ({"doc_hash": "abc"}, "not 32 hex digits"),
    ({"near_text": "some words", "threshold": 1.5}, "must be in"),
    ({"id": "a", "threshold": 0.5}, "near_text only"), ({"domain": "co.uk"}, "public suffix"),
])
def test_a_malformed_match_is_refused_before_anything_changes(lake, tmp_path, match, said):
    con, _ = lake
    with pytest.raises(MatchError, match=said):
        corpusql.takedown(con, match, "r", "R", [tmp_path])


def test_a_release_that_fails_verify_is_reported_not_skipped_silently(lake, tmp_path):
    con, _ = lake
    good, bad = tmp_path / "good", tmp_path / "bad"
    materialize(con, ALL, good)
    materialize(con, ALL, bad)
    next(bad.glob("*.parquet")).write_bytes(b"tampered")
    rep = corpusql.takedown(con, {"id": "web-2"}, "opt-out", "R", [bad, good])
    assert rep.rows[0].action.startswith(f"skipped: fails verify ({bad}/")
    assert ids(bad.parent / "good") != [] and verify(bad).problems  # left as it was
    assert rep.rows[1].action == "removed" and "web-2" not in ids(good)


def test_a_rebuild_never_brings_a_taken_down_document_back(lake, tmp_path):
    con, cat = lake
    out, other = tmp_path / "out", tmp_path / "other"
    materialize(con, ALL, out, versioned=True)
    corpusql.takedown(con, {"url": "https://www.example.com/web/9"}, "opt-out", "REQ-9", [out])
    again = materialize(con, ALL, out, versioned=True)
    assert again.status == "up to date"
    write = tmp_path / "web.parquet"  # the source changes: a real rebuild
    from prov_helpers import write_docs

    write_docs(con, write, 45, source="web")
    cat.sync("web")
    r = materialize(con, ALL, out, versioned=True)
    assert r.status == "written" and "web-9" not in ids(out / "current")
    assert "web-44" in ids(out / "current")
    assert r.manifest["takedowns"] == [{"request_id": "REQ-9", "reason": "opt-out",
                                        "match": r.manifest["takedowns"][0]["match"],
                                        "removed": 0, "hidden_in_inputs": {"web": 1},
                                        "applied": "when written"}]
    # a new output that was never taken down applies the recorded match too
    r = materialize(con, f"SELECT * FROM ({ALL}) WHERE source = 'web'", other)
    assert "web-9" not in ids(other) and verify(other).ok
    assert sorted(r["id"] for r in index_rows(other)) == ids(other)


def test_erasure_purges_every_older_version_and_verify_passes(lake, tmp_path):
    con, _ = lake
    out = tmp_path / "out"
    materialize(con, ALL, out, versioned=True, max_rows_per_file=16)
    materialize(con, f"SELECT * FROM ({ALL}) WHERE id <> 'books-1'", out, versioned=True,
                max_rows_per_file=16)
    gone = _text(con, "web-7")
    rep = corpusql.takedown(con, {"text": gone}, "GDPR art. 17", "ERASE-1", [out], purge=True)
    actions = [(r.version, r.action) for r in rep.rows]
    assert actions == [("v0002", "removed"), ("v0001", "purged"), ("v0002", "purged")]
    assert versions(out) == ["v0001", "v0002", "v0003"] and current(out) == "v0003"
    h = rep.match["key"]
    for v in versions(out):
        report = verify(out / v)
        assert report.ok, report.problems
        rows = [r for f in sorted((out / v).rglob("*.parquet"))
                for r in pq.read_table(f).to_pylist()]
        assert all(r["id"] != "web-7" for r in rows)
        assert all(r["doc_hash"] != h or r["id"] != "web-7" for r in index_rows(out / v))
        assert "web-7" not in [r["id"] for r in index_rows(out / v)]
    tomb = read_manifest(out / "v0001")["tombstones"]
    assert tomb and {t["request_id"] for t in tomb} == {"ERASE-1"}
    assert all(not (out / "v0001" / t["path"]).exists() for t in tomb)
    assert gone[20:60] not in json.dumps([read_manifest(out / v) for v in versions(out)])


def test_release_diff_shows_the_takedown_with_its_reason(lake, tmp_path, mcon):
    con, _ = lake
    out = tmp_path / "out"
    materialize(con, ALL, out, versioned=True)
    materialize(con, ALL + " UNION ALL SELECT 'new-1', 'a new text', NULL, 'web'", out,
                versioned=True)
    corpusql.takedown(con, {"id": "books-4"}, "copyright claim", "DMCA-7", [out])
    rows = mcon.execute(f"SELECT id, source, change, stage, reason FROM release_diff("
                        f"'{out}/v0001', '{out}') ORDER BY change, id").fetchall()
    assert rows == [("new-1", "web", "added", None, None),
                    ("books-4", "books", "removed", "takedown", "copyright claim (request "
                                                                 "DMCA-7)")]
    summary = mcon.execute(f"SELECT source, documents_added, documents_removed FROM "
                           f"release_diff_summary('{out}/v0001', '{out}')").fetchall()
    assert summary == [("books", 0, 1), ("web", 1, 0)]


def test_cli_takedown_reports_a_table(lake, tmp_path):
    con, _ = lake
    out = tmp_path / "out"
    materialize(con, ALL, out, versioned=True)
    con.close()
    cmd = [sys.executable, "-m", "corpusql.cli", "takedown", "--db", str(tmp_path / "lake.duckdb"),
           "--domain", "example.com", "--reason", "site opt-out", "--request-id", "OPT-3",
           str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"{out}\tv0001\t40\tremoved\tv0002\t" in run.stdout
    assert "OPT-3: recorded in corpusql.takedowns" in run.stdout
    assert ids(out / "current") == sorted(f"books-{i}" for i in range(20))


def test_a_token_export_of_a_changed_release_is_exported_again(lake, tmp_path):
    from corpusql.export_tokens import export_tokens

    con, _ = lake
    out, shards, pinned = tmp_path / "train", tmp_path / "shards", tmp_path / "pinned"
    materialize(con, ALL, out, versioned=True)
    export_tokens(con, f"SELECT text FROM read_parquet('{out}/current/*.parquet')", shards)
    export_tokens(con, f"SELECT text FROM read_parquet('{out}/v0001/*.parquet')", pinned)
    rep = corpusql.takedown(con, {"id": "web-11"}, "opt-out", "OPT-9", [shards, out, pinned],
                            dry_run=True)
    assert [r.action for r in rep.rows][:2] == ["would remove", "would export again"]
    assert rep.rows[2].action.startswith("skipped: its query reads")
    assert read_manifest(shards)["total_documents"] == 60
    rep = corpusql.takedown(con, {"id": "web-11"}, "opt-out", "OPT-9", [shards, out, pinned])
    by = {r.release: r for r in rep.rows}
    assert by[str(shards)].action == "exported again" and by[str(shards)].found == 1
    assert read_manifest(shards)["total_documents"] == 59 and verify(shards).ok
    assert by[str(pinned)].action.startswith(f"skipped: its query reads {out}/v0001 directly")


def test_erasure_deletes_cached_copies_holding_the_document(lake, tmp_path):
    con, cat = lake
    assert cat.prewarm("web") == 1
    cached = con.execute("SELECT cache_path FROM corpusql.files WHERE dataset = 'web'"
                         ).fetchall()[0][0]
    out = tmp_path / "out"
    materialize(con, ALL, out, versioned=True)
    dry = corpusql.takedown(con, {"id": "web-5"}, "GDPR art. 17", "DSR-1", [out], purge=True,
                            dry_run=True)
    assert [r.action for r in dry.rows][-1] == "would delete cached copy of dataset web"
    rep = corpusql.takedown(con, {"id": "web-5"}, "GDPR art. 17", "DSR-1", [out], purge=True)
    assert rep.rows[-1].action.startswith("deleted cached copy of dataset web")
    assert rep.rows[-1].found == 1
    from corpusql.catalog.views import resolve

    where = resolve(cached, str(tmp_path))
    assert rep.rows[-1].release == where and not os.path.exists(where)
    st = cat.status("web")
    assert st.status == "stale" and "DSR-1" in st.error
    cat.sync("web")  # makes the copy again from the source, which still holds the document
    r = materialize(con, ALL, out, versioned=True, force=True)
    t = r.manifest["takedowns"][0]  # the catalog's view hides it now, and says so
    assert "web-5" not in ids(out / "current") and t["removed"] == 0
    assert t["hidden_in_inputs"] == {"web": 1}
