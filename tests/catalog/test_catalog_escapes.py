"""Every way out of a role connection we could think of, and the ones that stay open.

One role connection (``team_a``) for the module: it is granted ``open`` (live local Parquet) and
``docs`` (JSONL staged into the cache, column ``text`` masked) and not ``closed``. Escapes that
cannot be blocked inside one process are tests too, named ``test_known_limit_*``: they assert
today's behaviour so a change in it is noticed (see docs/access-control.md).
"""

from __future__ import annotations

import os
import shutil
from importlib import resources

import duckdb
import pytest
from catalog_helpers import write_jsonl, write_parquet

import corpusql

BUNDLED_TOKENIZER = str(resources.files("corpusql.udfs").joinpath("data", "tokenizer.json"))
BUNDLED_MODEL = str(resources.files("corpusql.udfs").joinpath("data", "quality.onnx"))


def _ids_model(path) -> None:
    """A token-id model (input_ids, attention_mask -> number of attended tokens)."""
    from onnx import TensorProto, helper, save

    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, [None, None])
              for n in ("input_ids", "attention_mask")]
    nodes = [helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
             helper.make_node("ReduceSum", ["m", "axes"], ["n"], keepdims=0)]
    graph = helper.make_graph(
        nodes, "ids", inputs, [helper.make_tensor_value_info("n", TensorProto.FLOAT, [None])],
        initializer=[helper.make_tensor("axes", TensorProto.INT64, [1], [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, str(path))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("escapes")
    write_parquet(root / "data" / "open" / "x.parquet", 5)
    write_jsonl(root / "data" / "docs" / "a.jsonl",
                [{"text": "mail me at ann@example.com", "n": 1}, {"text": "plain", "n": 2}])
    write_parquet(root / "data" / "closed" / "secret.parquet", 3)
    (root / "models").mkdir()
    (root / "outside").mkdir()
    shutil.copy(BUNDLED_TOKENIZER, root / "models" / "tokenizer.json")
    shutil.copy(BUNDLED_TOKENIZER, root / "outside" / "tokenizer.json")
    shutil.copy(BUNDLED_MODEL, root / "outside" / "model.onnx")
    _ids_model(root / "models" / "ids.onnx")
    os.symlink(root / "outside" / "tokenizer.json", root / "models" / "link.json")
    os.symlink(root / "data" / "closed" / "secret.parquet", root / "data" / "open" / "l.parquet")
    db = root / "lake.duckdb"
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con, cache_dir=root / "cache")
        cat.add("open", str(root / "data" / "open" / "x.parquet"))
        cat.add("docs", str(root / "data" / "docs" / "*.jsonl"))
        cat.add("closed", str(root / "data" / "closed" / "*.parquet"))
        cat.add_role("team_a")
        cat.grant("team_a", "open")
        cat.grant("team_a", "docs")
        cat.mask("team_a", "docs", "text")
        cat.allow_path("team_a", root / "models")
        cache = con.execute("SELECT cache_path FROM corpusql.files WHERE dataset = 'docs'"
                            ).fetchall()[0][0]
    finally:
        con.close()
    role = corpusql.connect(db, role="team_a")
    yield {"root": root, "db": db, "con": role, "cache": cache}
    role.close()


def _sql(env, template: str) -> str:
    return template.format(root=env["root"], db=env["db"], cache=env["cache"])


DENIED = "outside the paths allowed for role 'team_a'"
ESCAPES = [
    ("read_csv", "SELECT * FROM read_csv('/etc/passwd')", "Permission"),
    ("read_text", "SELECT * FROM read_text('/etc/passwd')", "Permission"),
    ("read_blob", "SELECT * FROM read_blob('/etc/passwd')", "Permission"),
    ("read_json_proc", "SELECT * FROM read_json('/proc/self/environ')", "Permission"),
    ("sniff_csv", "SELECT * FROM sniff_csv('/etc/passwd')", "Permission"),
    ("glob", "SELECT * FROM glob('/etc/*')", "Permission"),
    ("read_closed_file", "SELECT * FROM read_parquet('{root}/data/closed/secret.parquet')",
     "Permission"),
    ("read_shared_db_file", "SELECT * FROM read_blob('{db}')", "Permission"),
    ("read_cache_directly", "SELECT * FROM read_parquet('{cache}')", "Permission"),
    ("dotdot", "SELECT * FROM read_parquet('{root}/data/open/../closed/secret.parquet')",
     "Permission"),
    ("symlink", "SELECT * FROM read_parquet('{root}/data/open/l.parquet')", "Permission"),
    ("route_other_file",
     "SELECT * FROM read_parquet('corpusql://open/file{root}/data/closed/secret.parquet')",
     "Permission|not a file"),
    ("route_dotdot",
     "SELECT * FROM read_parquet('corpusql://open/file{root}/data/open/../closed/secret.parquet')",
     "Permission|not a file"),
    ("route_closed_dataset",
     "SELECT * FROM read_parquet('corpusql://closed/file{root}/data/closed/secret.parquet')",
     "Permission"),
    ("file_url", "SELECT * FROM read_csv('file:///etc/passwd')", "Permission"),
    ("http_url", "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')", "Permission|disabled"),
    ("copy_to_tmp", "COPY (SELECT 1) TO '{root}/x.csv'", "Permission"),
    ("copy_over_cache", "COPY (SELECT 1 AS x) TO '{cache}' (USE_TMP_FILE false)", "Permission"),
    ("copy_over_route",
     ("COPY (SELECT 1 AS x) TO 'corpusql://open/file{root}/data/open/x.parquet' "
      "(USE_TMP_FILE false)"), "Permission|read-only"),
    ("export", "EXPORT DATABASE '{root}/export'", "Permission"),
    ("attach_other", "ATTACH '{root}/other.duckdb'", "Permission"),
    ("attach_shared_db", "ATTACH '{db}' AS lake (READ_ONLY)", "Permission"),
    ("detach", "DETACH team_a", "default database|Cannot detach"),
    ("install", "INSTALL httpfs", "Permission|disabled"),
    ("load", "LOAD httpfs", "Permission|disabled"),
    ("load_path", "LOAD '{root}/x.duckdb_extension'", "Permission|disabled"),
    ("create_secret", "CREATE SECRET s (TYPE s3)", "Permission"),
    ("set_external", "SET enable_external_access = true", "locked"),
    ("set_lock", "SET lock_configuration = false", "locked"),
    ("reset_allowed", "RESET allowed_paths", "locked"),
    ("set_allowed", "SET allowed_paths = ['/']", "locked"),
    ("set_dirs", "SET allowed_directories = ['/']", "locked"),
    ("pragma_external", "PRAGMA enable_external_access = true", "locked"),
    ("set_temp_dir", "SET temp_directory = '/tmp'", "locked"),
    ("create_catalog_table", "CREATE TABLE corpusql.datasets2 (x INTEGER)", "read-only"),
    ("insert_grant", "INSERT INTO corpusql.grants VALUES ('team_a', 'closed', 'read')",
     "read-only"),
    ("delete_mask", "DELETE FROM corpusql.masks", "read-only"),
    ("drop_view_main", "CREATE VIEW main.closed AS SELECT 1", "read-only"),
    ("closed_view", "SELECT * FROM closed", "does not exist"),
    ("closed_qualified", "SELECT * FROM team_a.main.closed", "does not exist"),
    ("closed_query_table", "SELECT * FROM query_table('closed')", "does not exist"),
    ("onnx_model_outside", "SELECT onnx_score('x', model := '{root}/outside/model.onnx')",
     DENIED),
    ("onnx_model_passwd", "SELECT onnx_score('x', model := '/etc/passwd')",
     DENIED),
    ("onnx_tokenizer_outside",
     ("SELECT onnx_score('x', model := '{root}/models/ids.onnx', "
      "tokenizer := '{root}/outside/tokenizer.json')"), DENIED),
    ("tokenizer_outside", "SELECT token_count('x', tokenizer := '{root}/outside/tokenizer.json')",
     DENIED),
    ("tokenize_outside", "SELECT tokenize('x', tokenizer := '{root}/outside/tokenizer.json')",
     DENIED),
    ("tokenizer_dotdot",
     "SELECT token_count('x', tokenizer := '{root}/models/../outside/tokenizer.json')",
     DENIED),
    ("tokenizer_symlink", "SELECT token_count('x', tokenizer := '{root}/models/link.json')",
     DENIED),
    # the private UDF takes the memory budget as a hidden last argument
    ("private_udf",
     "SELECT __corpusql_token_count('x', '{root}/outside/tokenizer.json', 1000000000)", DENIED),
]


@pytest.mark.parametrize("sql,error", [e[1:] for e in ESCAPES], ids=[e[0] for e in ESCAPES])
def test_escape_fails(env, sql, error):
    with pytest.raises(duckdb.Error, match=error):
        env["con"].execute(_sql(env, sql)).fetchall()


def test_macro_over_query_table_cannot_reach_a_closed_dataset(env):
    con = env["con"]
    con.execute("CREATE OR REPLACE TEMP MACRO peek(t) AS TABLE SELECT * FROM query_table(t)")
    assert con.execute("SELECT count(*) FROM peek('open')").fetchall() == [(5,)]
    with pytest.raises(duckdb.CatalogException, match="closed does not exist"):
        con.execute("SELECT count(*) FROM peek('closed')").fetchall()


def test_what_the_role_sees(env):
    con = env["con"]
    assert con.execute("SELECT name FROM corpusql.datasets ORDER BY name").fetchall() == [
        ("docs",), ("open",)]
    assert con.execute("SELECT DISTINCT dataset FROM corpusql.files ORDER BY 1").fetchall() == [
        ("docs",), ("open",)]
    views = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal "
                        "ORDER BY 1").fetchall()
    assert views == [("docs",), ("open",)]
    assert "closed" not in str(con.execute("SELECT current_setting('allowed_paths')").fetchall())
    assert con.execute("SELECT count(*), min(_row) FROM open").fetchall() == [(5, 1)]
    assert con.execute("SELECT DISTINCT _file FROM open").fetchall() == [
        (str(env["root"] / "data" / "open" / "x.parquet"),)]
    # the mask: pii_redact(text) instead of text; other columns as they are
    rows = con.execute("SELECT text, n FROM docs ORDER BY n").fetchall()
    assert rows[0][0] == con.execute(
        "SELECT pii_redact('mail me at ann@example.com')").fetchall()[0][0]
    assert "ann@example.com" not in rows[0][0] and rows[1] == ("plain", 2)


def test_allowed_files_still_open(env):
    con = env["con"]
    tok = env["root"] / "models" / "tokenizer.json"
    assert con.execute(f"SELECT token_count('a b c', tokenizer := '{tok}')").fetchall()[0][0] > 0
    assert con.execute("SELECT token_count('a b c')").fetchall()[0][0] > 0  # bundled default
    ids = env["root"] / "models" / "ids.onnx"  # its tokenizer.json beside it is allowed too
    assert con.execute(f"SELECT onnx_score('a b c', model := '{ids}')").fetchall()[0][0] > 0
    assert 0 <= con.execute("SELECT quality_score('Some prose.')").fetchall()[0][0] <= 1


def test_unknown_role_and_no_catalog(tmp_path, env):
    from corpusql.catalog.roles import RoleError

    with pytest.raises(RoleError, match="role 'team_b' is not in the catalog.*team_a"):
        corpusql.connect(env["db"], role="team_b")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(RoleError, match="no catalog"):
        corpusql.connect(empty, role="team_a")


def test_the_shared_database_file_is_untouched(env):
    con = duckdb.connect(str(env["db"]), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM corpusql.grants").fetchall() == [(2,)]
        assert con.execute("SELECT count(*) FROM closed").fetchall() == [(3,)]
    finally:
        con.close()


# -- known limits: one trusted process is not a security boundary ---------------------------


def test_known_limit_python_udf_reads_any_file(env):
    """A Python function registered on the role connection runs with the process's rights."""
    con = env["con"]
    def peek(path: str) -> str:
        with open(path) as f:
            return f.read(4)

    con.create_function("__peek", peek, ["VARCHAR"], "VARCHAR")
    try:
        assert con.execute("SELECT __peek('/etc/passwd')").fetchall()[0][0] == "root"
    finally:
        con.remove_function("__peek")


def test_known_limit_second_connection_in_the_process(env):
    """A plain duckdb.connect() in the same process has none of the role's settings."""
    other = duckdb.connect()
    try:
        path = env["root"] / "data" / "closed" / "secret.parquet"
        assert other.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall() == [(3,)]
    finally:
        other.close()


def test_masked_datasets_route_only_masked_copies(env):
    """Once a known limit (the granted files of a masked dataset were readable raw by their
    routed path); now the routes of a masked dataset serve its masked copies only."""
    con = env["con"]
    paths = con.execute("SELECT current_setting('allowed_paths')").fetchall()[0][0]
    docs = [p for p in paths if p.startswith("corpusql://docs/")]
    assert docs and all("/masked/" in p for p in docs)
    raw = con.execute(f"SELECT text FROM read_parquet('{docs[0]}') ORDER BY n").fetchall()
    assert raw[0][0] == "mail me at <EMAIL>"


def test_catalog_methods_fail_on_a_role_connection(env):
    with pytest.raises(duckdb.Error, match="read-only"):
        corpusql.catalog(env["con"]).add_role("team_z")


def test_known_limit_copy_to_the_role_database_name(env):
    """The path guard allows a connection's own database file; a role connection's file is a
    private copy whose name is removed once opened. DuckDB 2.0.1 refuses a COPY onto an attached
    database's file; 2.0.0 wrote a new file there that nobody reads. Either way the role's
    database and the catalog are unchanged."""
    con = env["con"]
    path = con.execute("SELECT path FROM duckdb_databases() "
                       "WHERE database_name = current_database()").fetchall()[0][0]
    assert str(env["db"]) != path
    try:
        con.execute(f"COPY (SELECT 1 AS x) TO '{path}' (FORMAT csv, USE_TMP_FILE false)")
    except duckdb.BinderException as e:
        assert "belongs to an attached database" in str(e)
    assert con.execute("SELECT name FROM corpusql.datasets ORDER BY name").fetchall() == [
        ("docs",), ("open",)]
    assert con.execute("SELECT count(*) FROM open").fetchall() == [(5,)]


def test_path_guard_is_engine_free_and_per_thread(tmp_path):
    """The hook the kernels call: a no-op without a policy, scoped to the thread that set it."""
    import threading

    from corpusql.udfs import paths

    outside = str(tmp_path / "x" / "tokenizer.json")
    paths.check(outside, "token_count")  # no policy in force: allowed
    guard = paths.PathGuard([str(tmp_path / "models")], "role 'r'")
    seen = []
    with paths.enforce(guard):
        with pytest.raises(PermissionError, match=r"token_count: tokenizer file .*x/tokenizer"):
            paths.check(outside, "token_count", "tokenizer")
        paths.check(str(tmp_path / "models" / "a" / "m.onnx"), "onnx_score")
        paths.check(BUNDLED_TOKENIZER, "token_count")
        t = threading.Thread(target=lambda: seen.append(paths._GUARD.get()))
        t.start()
        t.join()
    assert seen == [None]
    paths.check(outside, "token_count")
    assert not guard.allows(str(tmp_path / "models-other" / "m.onnx"))  # prefix is not a parent
