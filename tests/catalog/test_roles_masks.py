"""Masked columns on role connections: what a role can do cannot bring the raw values back.

Dataset ``people`` (JSONL, staged into the cache) holds one person per row with structured PII
columns; ``events`` (live local Parquet, read where it lies) holds e-mail addresses. Role ``team``
is granted both with masks of every kind. A role connection may redefine any TEMP macro, so the
tests shadow every function name the masked views use, then read every path the role can name.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from catalog_helpers import write_jsonl

import corpusql
from corpusql.catalog import CatalogError
from corpusql.catalog.routefs import route_path

PEOPLE = [
    {"id": 1, "text": "write to ann@example.com today", "name": "Ann Smith",
     "phone": "5551234567", "ssn": 123456789, "dob": "1980-04-02",
     "address": "12 Baker Street, London", "ip6": "2a00:1450:4001:81b::200e",
     "passport": "X12345678"},
    {"id": 2, "text": "no personal data here", "name": "Bob Stone", "phone": "5559876543",
     "ssn": 987654320, "dob": "1975-11-30", "address": "7 Elm Road, Leeds",
     "ip6": "2a03:2880:f003:c07:face:b00c::2", "passport": "Y87654321"},
]
EVENTS = pa.table({"id": [1, 2], "email": ["mail bob@example.org now", "none"],
                   "note": ["kept", "kept"]})
REMOTE = pa.table({"id": [1], "email": ["carl@example.com"]})
#: Every value the role must never see.
RAW = ["ann@example.com", "bob@example.org", "carl@example.com", "Ann Smith", "Bob Stone", "5551234567",
       "5559876543", "123456789", "987654320", "1980-04-02", "1975-11-30", "Baker Street",
       "Elm Road", "2a00:1450:4001:81b::200e", "2a03:2880:f003:c07:face:b00c::2", "X12345678",
       "Y87654321"]
MASKS = {("people", "text"): "redact", ("people", "name"): "hash", ("people", "phone"): "null",
         ("people", "ssn"): "hash", ("people", "dob"): "null", ("people", "address"): "null",
         ("people", "ip6"): "hash", ("people", "passport"): "hash",
         ("events", "email"): "redact", ("remote", "email"): "hash"}
KEY = bytes(range(32))


def _leaks(value) -> list[str]:
    text = str(value)
    return [r for r in RAW if r in text]


@pytest.fixture
def lake_db(db, tmp_path, http_server, http_root):
    from corpusql.catalog import secrets

    secrets.put("corpusql_mask_key", "mask", {"key": KEY.hex()})
    write_jsonl(tmp_path / "people" / "a.jsonl", PEOPLE)
    (tmp_path / "events").mkdir()
    pq.write_table(EVENTS, tmp_path / "events" / "e.parquet")
    remote = f"masks-{tmp_path.name}.parquet"  # live over HTTP, read where it lies
    pq.write_table(REMOTE, http_root / remote)
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con, cache_dir=tmp_path / "cache")
        cat.add("people", str(tmp_path / "people" / "*.jsonl"))
        cat.add("events", str(tmp_path / "events" / "*.parquet"))
        cat.add("remote", f"{http_server.url}/{remote}")
        cat.add_role("team")
        for dataset in ("people", "events", "remote"):
            cat.grant("team", dataset)
        for (dataset, column), kind in MASKS.items():
            cat.mask("team", dataset, column, kind=kind)
    finally:
        con.close()
    return db


def _rows(con, name):
    return con.execute(f"SELECT * FROM {name} ORDER BY id").fetchall()


def test_masked_views_call_only_qualified_names_and_survive_shadowing(lake_db):
    """Measured: a role connection can CREATE OR REPLACE TEMP MACRO any unqualified name,
    corpusql's own (temp.main.pii_redact) and built-ins (sha256, read_parquet) alike; the test
    failed before the change (pii_redact shadowed by an identity macro returned the e-mail)."""
    from corpusql.functions import REGISTRY

    con = corpusql.connect(lake_db, role="team")
    try:
        before = {n: _rows(con, n) for n in ("people", "events", "remote")}
        for rows in before.values():
            assert not _leaks(rows)
        sqls = [r[0] for r in con.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name IN ('people', 'events', 'remote')"
        ).fetchall()]
        called = set()
        for sql in sqls:
            body = re.sub(r"'(?:[^']|'')*'", "''", sql)  # no names inside string literals
            body = body.replace('"system".main.', "system.main.")
            for name in re.findall(r"([A-Za-z_][\w.]*)\s*\(", body):
                assert name.startswith("system.main."), f"unqualified call {name} in {sql}"
                called.add(name.rsplit(".", 1)[1])
        names = called | {f.name for f in REGISTRY} | {"__corpusql_" + f.name for f in REGISTRY}
        names |= {"sha256", "md5", "hash", "read_parquet", "parquet_scan", "regexp_replace",
                  "starts_with", "concat", "coalesce", "lower"}
        table_functions = {r[0] for r in con.execute(
            "SELECT function_name FROM duckdb_functions() "
            "WHERE function_type IN ('table', 'table_macro')").fetchall()}
        shadowed = 0
        for name in sorted(names):
            if name in table_functions:
                body = "TABLE SELECT * FROM (VALUES ('ann@example.com')) t(text)"
            else:
                body = "a"
            try:
                con.execute(f"CREATE OR REPLACE TEMP MACRO {name}(a, b := NULL) AS {body}")
                shadowed += 1
            except duckdb.Error:
                pass
        assert shadowed >= len(REGISTRY)
        after = {n: _rows(con, n) for n in ("people", "events", "remote")}
        assert after == before
    finally:
        con.close()


def _nameable_paths(con) -> set[str]:
    """Every path a role connection can name: its settings, view bodies and catalog rows, in
    their own form and in the corpusql:// route forms."""
    found = set(con.execute("SELECT current_setting('allowed_paths')").fetchall()[0][0])
    for (sql,) in con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall():
        found |= {m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')+)'", sql)
                  if "/" in m}
    for dataset, path, cache in con.execute(
            "SELECT dataset, path, cache_path FROM corpusql.files").fetchall():
        for p in (path, cache):
            if p:
                found |= {p, f"corpusql://{dataset}/file/{p.lstrip('/')}",
                          f"corpusql://{dataset}/file{p}", route_path(dataset, p)}
    return found


def http_path(con) -> str:
    (path,), = con.execute("SELECT path FROM corpusql.files WHERE dataset = 'remote'").fetchall()
    return path.split("://", 1)[1]


def test_every_path_a_role_can_name_returns_no_unmasked_value(lake_db):
    """The test failed before the change: read_parquet of the cached copy's corpusql:// route,
    printed in duckdb_views().sql and allowed_paths, returned the e-mail address."""
    con = corpusql.connect(lake_db, role="team")
    try:
        paths = _nameable_paths(con)
        assert any(p.startswith("corpusql://people/") for p in paths)
        assert any(p.startswith("corpusql://events/") for p in paths)
        assert "corpusql://remote/http/" + http_path(con) in paths
        readable = 0
        for path in sorted(paths):
            for reader in ("read_parquet", "read_text", "read_blob", "read_json_auto",
                           "read_csv_auto"):
                try:
                    rows = con.execute(f"SELECT * FROM {reader}('{path}')").fetchall()
                except duckdb.Error:
                    continue
                readable += 1
                assert not _leaks(rows), f"{reader}('{path}') returned raw values"
        assert readable > 0  # the masked copies themselves are readable
    finally:
        con.close()


def test_mask_kinds(lake_db):
    con = corpusql.connect(lake_db, role="team")
    try:
        people = con.execute("SELECT id, text, name, phone, ssn, dob, address, ip6, passport "
                             "FROM people ORDER BY id").fetchall()
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE people)")
                     .fetchall())
        events = con.execute("SELECT email, note FROM events ORDER BY id").fetchall()
        files = con.execute("SELECT DISTINCT _file FROM events").fetchall()
        remote = con.execute("SELECT email, _file, _row FROM remote").fetchall()
    finally:
        con.close()

    def keyed(value) -> str:
        return hmac.new(KEY, str(value).encode(), hashlib.sha256).hexdigest()

    ann = people[0]
    assert ann[1] == "write to <EMAIL> today"                        # redact: free text
    assert ann[2] == keyed("Ann Smith") and ann[4] == keyed(123456789)  # hash: keyed, joinable
    assert ann[7] == keyed("2a00:1450:4001:81b::200e") and ann[8] == keyed("X12345678")
    assert ann[3] is None and ann[5] is None and ann[6] is None      # null
    assert people[1][2] == keyed("Bob Stone") != ann[2]
    assert types["ssn"] == "VARCHAR" and types["phone"] == "VARCHAR"
    assert events == [("mail <EMAIL> now", "kept"), ("none", "kept")]
    assert files[0][0].endswith("/events/e.parquet")  # provenance kept on masked copies
    assert remote[0][0] == keyed("carl@example.com")
    assert remote[0][1].startswith("http://127.0.0.1:") and remote[0][2] == 1
    assert not _leaks(people) and not _leaks(events)


def test_redact_is_best_effort_on_structured_columns(db, tmp_path):
    """Free-text redaction finds what pii_redact detects; a name or a 10-digit phone without
    separators passes (docs/access-control.md): such columns need mask 'hash' or 'null'."""
    write_jsonl(tmp_path / "p" / "a.jsonl", PEOPLE[:1])
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add("people", str(tmp_path / "p" / "*.jsonl"))
        cat.add_role("loose")
        cat.grant("loose", "people")
        cat.mask("loose", "people", "name")  # default kind: redact
        cat.mask("loose", "people", "phone", kind="redact")
    finally:
        con.close()
    role = corpusql.connect(db, role="loose")
    try:
        assert role.execute("SELECT name, phone FROM people").fetchall() == [
            ("Ann Smith", "5551234567")]
    finally:
        role.close()


def test_mask_kind_is_checked_and_recorded(lake, tmp_path):
    con, cat = lake
    write_jsonl(tmp_path / "src" / "a.jsonl", PEOPLE)
    cat.add("people", str(tmp_path / "src" / "*.jsonl"))
    cat.add_role("r")
    with pytest.raises(CatalogError, match="mask kind 'hsh'.*did you mean 'hash'"):
        cat.mask("r", "people", "ssn", kind="hsh")
    cat.mask("r", "people", "ssn", kind="hash")
    cat.mask("r", "people", "ssn", kind="null")  # a second mask of the column replaces it
    cat.mask("r", "people", "text")
    assert con.execute('SELECT "column", kind FROM corpusql.masks ORDER BY 1').fetchall() == [
        ("ssn", "null"), ("text", "redact")]


def test_hash_key_is_made_once_in_the_secrets_store(lake, tmp_path):
    import json
    import os

    from corpusql.catalog import secrets

    con, cat = lake
    write_jsonl(tmp_path / "src" / "a.jsonl", PEOPLE)
    cat.add("people", str(tmp_path / "src" / "*.jsonl"))
    cat.add_role("r")
    cat.mask("r", "people", "ssn", kind="hash")
    key = secrets.get("corpusql_mask_key")["key"]
    assert len(bytes.fromhex(key)) == 32
    cat.mask("r", "people", "name", kind="hash")
    assert secrets.get("corpusql_mask_key")["key"] == key  # made once, not rotated
    assert oct(os.stat(secrets.store_path()).st_mode & 0o777) == "0o600"
    assert key in json.dumps(json.loads(secrets.store_path().read_text()))
    con.execute("CHECKPOINT")
    path = con.execute("SELECT path FROM duckdb_databases() "
                       "WHERE database_name = current_database()").fetchall()[0][0]
    with open(path, "rb") as f:
        assert key.encode() not in f.read()


def test_old_catalogs_get_the_kind_column_and_old_masks_read_as_redact(db, tmp_path):
    write_jsonl(tmp_path / "src" / "a.jsonl", PEOPLE)
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add("people", str(tmp_path / "src" / "*.jsonl"))
        cat.add_role("r")
        cat.grant("r", "people")
        con.execute("DROP TABLE corpusql.masks")  # the table as older corpusql made it
        con.execute('CREATE TABLE corpusql.masks (role VARCHAR NOT NULL, dataset VARCHAR '
                    'NOT NULL, "column" VARCHAR NOT NULL)')
        con.execute("INSERT INTO corpusql.masks VALUES ('r', 'people', 'text')")
    finally:
        con.close()
    role = corpusql.connect(db, role="r")  # reads the old catalog read-only, unmigrated
    try:
        assert role.execute("SELECT text FROM people ORDER BY id").fetchall()[0] == (
            "write to <EMAIL> today",)
    finally:
        role.close()
    con = duckdb.connect(str(db))
    try:
        corpusql.catalog(con)
        assert con.execute('SELECT "column", kind FROM corpusql.masks').fetchall() == [
            ("text", "redact")]
    finally:
        con.close()


def test_cli_declares_mask_kinds(db, tmp_path, capsys):
    from corpusql.cli import main

    write_jsonl(tmp_path / "src" / "a.jsonl", PEOPLE)
    base = ["--db", str(db)]
    assert main(["dataset", "add", "people", str(tmp_path / "src" / "*.jsonl"), *base]) == 0
    assert main(["role", "add", "r", *base]) == 0
    assert main(["role", "mask", "r", "people", "ssn", "--kind", "hash", *base]) == 0
    assert main(["role", "mask", "r", "people", "dob", "--kind", "null", *base]) == 0
    assert main(["role", "mask", "r", "people", "text", *base]) == 0
    capsys.readouterr()
    assert main(["role", "list", *base]) == 0
    assert capsys.readouterr().out == (
        "r\tgrants: -\tmasked: people.dob:null,people.ssn:hash,people.text\n")
    with pytest.raises(SystemExit):
        main(["role", "mask", "r", "people", "ssn", "--kind", "sha", *base])
    assert "invalid choice: 'sha'" in capsys.readouterr().err


def test_masked_copies_are_reused_and_a_missing_source_is_named(lake_db, tmp_path):
    from corpusql.catalog.roles import RoleError

    folder = tmp_path / "cache" / "people" / "masked"
    assert not folder.exists()  # made by the first role connection, not by mask()
    corpusql.connect(lake_db, role="team").close()
    masked = {f: f.stat().st_mtime_ns for f in folder.glob("*.parquet")}
    assert len(masked) == 1
    corpusql.connect(lake_db, role="team").close()
    again = {f: f.stat().st_mtime_ns for f in folder.glob("*.parquet")}
    assert again == masked  # reused, not rewritten
    for f in again:
        f.unlink()
    (cache,) = [p for p in (tmp_path / "cache" / "people").glob("*.parquet")]
    cache.unlink()
    with pytest.raises(RoleError, match=r"dataset 'people': cannot make the masked copy of "
                                        r".*a\.jsonl.*FileNotFoundError"):
        corpusql.connect(lake_db, role="team")


def test_a_hash_mask_without_its_key_names_the_store_and_the_knob(lake_db, tmp_path,
                                                                  monkeypatch):
    from corpusql.catalog.masks import MaskError

    monkeypatch.setenv("CORPUSQL_SECRETS", str(tmp_path / "elsewhere" / "secrets.json"))
    with pytest.raises(MaskError, match=r"dataset 'people': a 'hash' mask needs the key "
                                        r"'corpusql_mask_key' .*elsewhere.*CORPUSQL_SECRETS"):
        corpusql.connect(lake_db, role="team")
