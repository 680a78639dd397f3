"""Role connections read only the datasets granted to their role."""

from __future__ import annotations

import duckdb
import pytest
from catalog_helpers import write_jsonl, write_parquet

import corpusql
from corpusql.catalog.roles import RoleError


def test_role_connection_reads_only_granted_datasets(db, tmp_path, http_server, http_root):
    write_parquet(tmp_path / "a" / "x.parquet", 10)
    write_jsonl(tmp_path / "b" / "y.jsonl", [{"t": "secret doc"}])
    write_parquet(http_root / "role-z.parquet", 7)
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add("open_local", str(tmp_path / "a" / "*.parquet"))
        cat.add("closed", str(tmp_path / "b" / "*.jsonl"))
        cat.add("open_http", f"{http_server.url}/role-z.parquet")
        cat.add("closed_http", f"{http_server.url}/role-z.parquet")
        cat.add_role("reader")
        cat.grant("reader", "open_local")
        cat.grant("reader", "open_http")
    finally:
        con.close()

    con = corpusql.connect(db, role="reader")
    try:
        assert con.execute("SELECT count(*) FROM open_local").fetchall() == [(10,)]
        assert con.execute("SELECT count(*) FROM open_http").fetchall() == [(7,)]
        for name in ("closed", "closed_http"):  # not granted: no view at all
            with pytest.raises(duckdb.CatalogException, match=f"{name} does not exist"):
                con.execute(f"SELECT count(*) FROM {name}").fetchall()
        with pytest.raises(Exception, match="Permission|disabled"):
            con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
        with pytest.raises(Exception, match="lock|read-only|read only"):
            con.execute("SET enable_external_access = true")
        with pytest.raises(Exception, match="read-only|read only"):
            con.execute("DELETE FROM corpusql.grants")
        # Functions and macros keep working on a locked connection.
        assert con.execute("SELECT count(*) FROM duckdb_functions() "
                           "WHERE function_name LIKE '__corpusql_%'").fetchall()[0][0] > 0
    finally:
        con.close()

    with pytest.raises(RoleError, match="role 'nobody'"):
        corpusql.connect(db, role="nobody")


def test_mask_unmask_and_allow_path_check_their_names(lake, tmp_path):
    from corpusql.catalog import CatalogError

    con, cat = lake
    write_jsonl(tmp_path / "m" / "a.jsonl", [{"text": "call 555-0100", "n": 1}])
    cat.add("notes", str(tmp_path / "m" / "*.jsonl"))
    cat.add_role("analysts")
    with pytest.raises(CatalogError, match="role 'analyst' is not in the catalog; did you mean"):
        cat.mask("analyst", "notes", "text")
    with pytest.raises(CatalogError, match="no column 'txt'; did you mean 'text'"):
        cat.mask("analysts", "notes", "txt")
    with pytest.raises(CatalogError, match="dataset 'note' is not in the catalog"):
        cat.mask("analysts", "note", "text")
    cat.mask("analysts", "notes", "text")
    cat.mask("analysts", "notes", "text")  # idempotent
    assert con.execute('SELECT role, dataset, "column" FROM corpusql.masks').fetchall() == [
        ("analysts", "notes", "text")]
    cat.unmask("analysts", "notes", "text")
    assert con.execute("SELECT count(*) FROM corpusql.masks").fetchall() == [(0,)]
    cat.mask("analysts", "notes", "text")
    cat.allow_path("analysts", tmp_path / "models" / ".." / "models")
    assert con.execute("SELECT path FROM corpusql.role_paths").fetchall() == [
        (str(tmp_path / "models"),)]
    cat.remove("notes")
    assert con.execute("SELECT count(*) FROM corpusql.masks").fetchall() == [(0,)]


def test_old_catalog_gets_the_new_tables(db):
    con = duckdb.connect(str(db))
    try:
        corpusql.catalog(con)
        con.execute("DROP TABLE corpusql.masks")
        con.execute("DROP TABLE corpusql.role_paths")
        corpusql.catalog(con)
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'corpusql' "
                           "AND table_name IN ('masks', 'role_paths')").fetchall() == [(2,)]
    finally:
        con.close()


def test_role_connection_over_s3_with_a_stored_secret(db, tmp_path, s3, moto_server):
    import uuid

    prefix = uuid.uuid4().hex[:8]
    for i in range(2):
        local = tmp_path / "up" / f"p{i}.parquet"
        write_parquet(local, 500, start=i * 500, row_group_size=100)
        s3.upload_file(str(local), "lake", f"{prefix}/p{i}.parquet")
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add_secret("lake", kind="s3", key=moto_server[1], secret=moto_server[2])
        opts = {"region": "us-east-1", "endpoint_url": moto_server[0]}
        cat.add("s3live", f"s3://lake/{prefix}/*.parquet", secret="lake", options=opts)
        cat.add("s3warm", f"s3://lake/{prefix}/p0.parquet", secret="lake", options=opts)
        cat.prewarm("s3warm")
        cat.add_role("lab")
        cat.grant("lab", "s3live")
        cat.grant("lab", "s3warm")
        cat.mask("lab", "s3live", "id")  # not text: redacted as its VARCHAR form
    finally:
        con.close()
    con = corpusql.connect(db, role="lab")
    try:
        assert con.execute("SELECT count(*), min(_file) FROM s3live").fetchall() == [
            (1000, f"s3://lake/{prefix}/p0.parquet")]
        assert con.execute("SELECT typeof(id) FROM s3live LIMIT 1").fetchall() == [("VARCHAR",)]
        assert con.execute("SELECT count(*), sum(id) FROM s3warm").fetchall() == [
            (500, sum(range(500)))]
        assert con.execute("SELECT name FROM corpusql.secrets").fetchall() == [("lake",)]
    finally:
        con.close()


def test_role_connection_while_the_catalog_is_open_in_the_process(lake, db, tmp_path):
    con, cat = lake  # a read-write connection to the same file stays open meanwhile
    write_parquet(tmp_path / "o" / "x.parquet", 4)
    cat.add("ours", str(tmp_path / "o" / "x.parquet"))
    cat.add_role("team")
    cat.grant("team", "ours")
    role = corpusql.connect(db, role="team")
    try:
        assert role.execute("SELECT count(*) FROM ours").fetchall() == [(4,)]
    finally:
        role.close()
    cat.revoke("team", "ours")  # the writer still works, and the role connection's settings
    assert con.execute("SELECT current_setting('enable_external_access')").fetchall() == [
        (True,)]  # (instance-wide in DuckDB) did not reach it


def test_cli_run_and_shell_as_a_role(db, tmp_path, capsys):
    from corpusql.cli import main

    write_parquet(tmp_path / "a" / "x.parquet", 10)
    write_parquet(tmp_path / "b" / "y.parquet", 3)
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add("shared_docs", str(tmp_path / "a" / "*.parquet"))
        cat.add("private_docs", str(tmp_path / "b" / "*.parquet"))
        cat.add_role("reader")
        cat.grant("reader", "shared_docs")
    finally:
        con.close()
    ok = tmp_path / "ok.sql"
    ok.write_text("SELECT count(*) AS n FROM shared_docs;\n")
    assert main(["run", str(ok), "--db", str(db), "--role", "reader", "--mode", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "10"]
    denied = tmp_path / "denied.sql"
    denied.write_text("SELECT count(*) FROM private_docs;\n")
    assert main(["run", str(denied), "--db", str(db), "--role", "reader"]) == 1
    assert "private_docs does not exist" in capsys.readouterr().err
    assert main(["run", str(ok), "--db", str(db)]) == 0  # the owner sees everything
    capsys.readouterr()
    assert main(["run", str(ok), "--db", str(db), "--role", "nobody"]) == 1
    assert "role 'nobody' is not in the catalog" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--role needs the catalog's database file"):
        main(["shell", "--role", "reader"])
