"""Credentials given in a dataset's ``options=`` go to the secrets store, never the catalog.

An HTTP server on 127.0.0.1 that answers 401 without the right Authorization header serves
a JSONL file; the header is planted in ``options`` and then looked for in every artefact.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

import corpusql
from corpusql.catalog import CatalogError

PLANTED = "Bearer planted-credential-5c1e"
BASIC = "Basic " + base64.b64encode(b"u:p-5c1e").decode()  # user u, password p-5c1e


@pytest.fixture
def guarded_server(tmp_path):
    """Serves tmp_path/www with Range support, only to requests carrying ``PLANTED`` (or the
    Basic credentials ``BASIC``)."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _serve(self, body: bool) -> None:
            path = root / self.path.lstrip("/")
            if self.headers.get("Authorization") not in (PLANTED, BASIC) or not path.is_file():
                self.send_response(401 if path.is_file() else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = path.read_bytes()
            start, end, status = 0, len(data) - 1, 200
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes="):
                a, _, b = rng[6:].partition("-")
                start = int(a)
                end = min(int(b), end) if b else end
                status = 206
            self.send_response(status)
            self.send_header("Content-Length", str(end + 1 - start))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", '"v1"')
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.end_headers()
            if body:
                self.wfile.write(data[start:end + 1])

        def do_GET(self) -> None:
            self._serve(True)

        def do_HEAD(self) -> None:
            self._serve(False)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_credential_options_are_stored_as_a_secret(db, tmp_path, guarded_server, caplog,
                                                   capsys):
    """The test failed before the change: corpusql.datasets.options held the header, and a
    role connection printed it from SELECT * FROM corpusql.datasets."""
    from corpusql.catalog import secrets
    from corpusql.cli import main

    root, url = guarded_server
    (root / "a.jsonl").write_text(json.dumps({"id": 1, "text": "hello"}) + "\n")
    caplog.set_level(logging.DEBUG)
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        st = cat.add("web", f"{url}/a.jsonl", options={"headers": {"Authorization": PLANTED}})
        assert st.status == "ready" and st.files == 1  # the header reached the server
        assert con.execute("SELECT count(*) FROM web").fetchall() == [(1,)]
        (opts, secret), = con.execute(
            "SELECT options, secret FROM corpusql.datasets WHERE name = 'web'").fetchall()
        assert secret == "web_options" and json.loads(opts) == {}
        cat.add_role("team")
        cat.grant("team", "web")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    assert secrets.get("web_options")["headers"] == {"Authorization": PLANTED}
    assert oct(os.stat(secrets.store_path()).st_mode & 0o777) == "0o600"

    role = corpusql.connect(db, role="team")
    try:
        assert role.execute("SELECT count(*) FROM web").fetchall() == [(1,)]
        seen = []
        for (table,) in role.execute("SELECT table_name FROM duckdb_tables() "
                                     "WHERE schema_name = 'corpusql'").fetchall():
            seen += role.execute(f"SELECT * FROM corpusql.{table}").fetchall()
        seen += role.execute("SELECT sql FROM duckdb_views()").fetchall()
        seen += role.execute("SELECT name, value FROM duckdb_settings()").fetchall()
        assert PLANTED not in str(seen) and "planted-credential" not in str(seen)
    finally:
        role.close()

    assert main(["dataset", "list", "--db", str(db)]) == 0
    assert main(["dataset", "status", "web", "--db", str(db)]) == 0
    assert main(["role", "list", "--db", str(db)]) == 0
    out = capsys.readouterr()
    assert "planted-credential" not in out.out + out.err
    assert "planted-credential" not in caplog.text
    store = os.path.realpath(secrets.store_path())
    artefacts = 0
    for dirpath, _dirs, files in os.walk(tmp_path):
        for f in files:
            path = os.path.join(dirpath, f)
            if os.path.realpath(path) == store or dirpath.startswith(str(root)):
                continue
            artefacts += 1
            with open(path, "rb") as fh:
                assert b"planted-credential" not in fh.read(), path
    assert artefacts >= 2  # the database file and the cached copy at least


def test_credential_options_with_a_named_secret_or_unknown_options_are_refused(lake, tmp_path):
    con, cat = lake
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.jsonl").write_text('{"id": 1}\n')
    cat.add_secret("lake", kind="http", username="u", password="p")
    with pytest.raises(CatalogError, match="dataset 'x'.*credential option.*headers.*secret "
                                           "'lake'"):
        cat.add("x", "https://example.invalid/a.jsonl", secret="lake",
                options={"headers": {"Authorization": PLANTED}})
    with pytest.raises(CatalogError, match="dataset 'y': option 'api_key' is not one of"):
        cat.add("y", "https://example.invalid/a.jsonl", options={"api_key": "k"})
    with pytest.raises(CatalogError, match="dataset 'z': option 'headers'"):
        cat.add("z", str(tmp_path / "d" / "*.jsonl"), options={"headers": {"A": "b"}})
    with pytest.raises(CatalogError, match=r"dataset 'u': https://bob:\*\*\*@example.invalid"
                                           r".*carries a password"):
        cat.add("u", f"https://bob:{PLANTED}@example.invalid/a.jsonl")
    assert con.execute("SELECT count(*) FROM corpusql.datasets").fetchall() == [(0,)]
    assert PLANTED not in str(con.execute("SELECT * FROM corpusql.secrets").fetchall())


def test_http_secret_with_username_and_password_is_sent_as_basic_auth(lake, guarded_server):
    """The test failed before the change: aiohttp.BasicAuth raised a DeprecationWarning, so the
    sync failed wherever warnings are errors (this suite, or a user's -W error)."""
    con, cat = lake
    root, url = guarded_server
    (root / "a.jsonl").write_text(json.dumps({"id": 1, "text": "hello"}) + "\n")
    cat.add_secret("lake", kind="http", username="u", password="p-5c1e")
    st = cat.add("web", f"{url}/a.jsonl", secret="lake")
    assert st.status == "ready" and st.files == 1
    assert con.execute("SELECT id, text FROM web").fetchall() == [(1, "hello")]
