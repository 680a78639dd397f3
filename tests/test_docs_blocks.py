"""Every SQL and Python block of README.md and docs/*.md runs, in page order, and shows the truth.

A page's blocks run one after the other in one namespace, in a fresh directory that holds a copy
of the demo's output (``out/``, and ``lake.duckdb`` = ``out/lake.duckdb``), as a reader who ran
``corpusql demo out`` would type them. Python blocks run as written (IPython magics through an
IPython shell; `corpusql` is imported, as every page assumes); SQL blocks run statement by statement on the page's connection: ``con`` if a
block made one, else ``corpusql.connect("lake.duckdb")``. Blocks that read ``s3://lake/...`` or
``https://example.org/...`` read them from a moto S3 server and a Range-capable HTTP server on
127.0.0.1 that hold the same bucket, keys and paths (the block's host is swapped for the local
server's; nothing else in the block changes).

An HTML comment right above a block's fence tells this test about it (the only place to look):

    <!-- docs-test: skip REASON -->        the block does not run here; REASON is reviewed
    <!-- docs-test: given SQL -->          SQL run first on the page's connection (a table the
                                           block assumes the reader has, e.g. a blocklist)
    <!-- docs-test: output-of demo -->     a plain block: lines `corpusql demo` must print

Code fences other than sql/python (sh, plain text) are not run. docs/functions.md is generated
from the registry (its blocks are signatures, checked by test_readme.py) and is not run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import corpusql

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted(
    p for p in (ROOT / "docs").glob("*.md") if p.name != "functions.md")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
MARK = re.compile(r"<!--\s*docs-test:\s*([\w-]+)\s*(.*?)\s*-->", re.S)
RUN_LANGS = {"sql", "python"}
HTTP_HOSTS = ("https://example.org/",)


@dataclass
class Block:
    page: str  # path relative to the project root
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marks: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of one page with the docs-test comments right above each fence."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        before = text[:m.start()].rstrip("\n")
        marks: dict[str, str] = {}
        while before.endswith("-->"):
            start = before.rfind("<!--")
            mark = MARK.fullmatch(before[start:])
            if start < 0 or mark is None:
                break
            marks.setdefault(mark.group(1), " ".join(mark.group(2).split()))
            before = before[:start].rstrip("\n")
        out.append(Block(str(path.relative_to(ROOT)), text.count("\n", 0, m.start()) + 1,
                         m.group(1), m.group(2), marks))
    return out


ALL = [b for page in PAGES for b in blocks(page)]
SKIPPED = [b for b in ALL if "skip" in b.marks]


def test_markers_are_known_and_skips_have_reasons():
    for b in ALL:
        assert set(b.marks) <= {"skip", "given", "output-of"}, (b.where, b.marks)
        if "skip" in b.marks:
            assert len(b.marks["skip"].split()) >= 3, f"{b.where}: say why the block is skipped"


@pytest.mark.parametrize("block", SKIPPED, ids=[b.where for b in SKIPPED])
def test_skipped_block(block):
    """One reported skip per skipped block (`pytest -rs` lists them with their reasons)."""
    pytest.skip(f"{block.where}: {block.marks['skip']}")


# ---------------------------------------------------------------------------------------------
# services and data the blocks name


def _helpers():
    spec = importlib.util.spec_from_file_location(
        "docs_catalog_helpers", ROOT / "tests" / "catalog" / "catalog_helpers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    """``corpusql demo`` once for this module: (output directory, its printed summary)."""
    from corpusql.demo import demo

    out = tmp_path_factory.mktemp("docs-demo") / "out"
    result = demo(out)
    return out, result.summary()


@pytest.fixture(scope="module")
def http_server(tmp_path_factory, demo_out):
    """``/dumps/books.jsonl.gz``: the JSON lines the README's Datasets section registers."""
    import gzip
    import json

    root = tmp_path_factory.mktemp("docs-http")
    rows = pq.read_table(demo_out[0] / "val" / "current").select(["id", "text", "source"]).to_pylist()
    (root / "dumps").mkdir()
    with gzip.open(root / "dumps" / "books.jsonl.gz", "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    server = _helpers().RangeServer(root).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3_server(demo_out):
    """moto S3 with the bucket ``lake`` holding ``web/2024/part-0.parquet`` (the demo's test
    split); yields the endpoint. Any key pair is accepted."""
    import boto3

    helpers = _helpers()

    class OpenMoto(helpers.MotoServer):
        free_actions = 1_000_000

    server = OpenMoto().start()
    try:
        client = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                              aws_access_key_id="docs", aws_secret_access_key="docs")
        client.create_bucket(Bucket="lake")
        sink = pa.BufferOutputStream()
        pq.write_table(pq.read_table(demo_out[0] / "test" / "current").select(["id", "text", "source"]),
                       sink)
        client.put_object(Bucket="lake", Key="web/2024/part-0.parquet",
                          Body=sink.getvalue().to_pybytes())
        client.close()
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def reader_env(tmp_path, monkeypatch, s3_server, http_server):
    """The reader's machine: credentials for the local S3 in the environment, secrets kept in
    the test's directory, nothing from the developer's own AWS setup."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "CORPUSQL_CACHE",
                "CORPUSQL_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "docs")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "docs")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("CORPUSQL_SECRETS", str(tmp_path / "config" / "secrets.json"))
    return http_server.url + "/"


# ---------------------------------------------------------------------------------------------
# running a page


class Page:
    """One page's reader: a namespace, the connections its blocks open, the page connection."""

    def __init__(self, http_url: str, monkeypatch):
        self.ns: dict = {"__name__": "__docs__", "corpusql": corpusql}
        self.http_url = http_url
        self.opened: list[duckdb.DuckDBPyConnection] = []
        self.shell = None
        real_connect = corpusql.connect

        def connect(*args, **kwargs):
            con = real_connect(*args, **kwargs)
            self.opened.append(con)
            return con

        monkeypatch.setattr(corpusql, "connect", connect)

    def con(self) -> duckdb.DuckDBPyConnection:
        con = self.ns.get("con")
        if not isinstance(con, duckdb.DuckDBPyConnection):
            con = self.ns["con"] = corpusql.connect("lake.duckdb")
        return con

    def localize(self, code: str) -> str:
        for host in HTTP_HOSTS:
            code = code.replace(host, self.http_url)
        return code

    def run(self, block: Block) -> str:
        """Run one block; returns what it printed."""
        code = self.localize(block.code)
        if "given" in block.marks:
            for st in duckdb.extract_statements(block.marks["given"]):
                self.con().execute(st.query)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            if code.lstrip().startswith("%") or "\n%" in code:
                self.ipython(code, block)
            elif block.lang == "python":
                exec(compile(code, block.where, "exec"), self.ns)  # noqa: S102
            else:
                for st in duckdb.extract_statements(code):
                    self.con().execute(st.query).fetchall()
        return printed.getvalue()

    def ipython(self, code: str, block: Block) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        if self.shell is None:
            self.shell = InteractiveShell.instance(user_ns=self.ns)
        result = self.shell.run_cell(code, store_history=False, silent=True)
        if not result.success:
            raise AssertionError(f"{block.where}: {result.error_in_exec or result.error_before_exec}")

    def close(self) -> None:
        for con in self.opened:
            with contextlib.suppress(duckdb.Error):
                con.close()
        if self.shell is not None:
            from IPython.core.interactiveshell import InteractiveShell

            self.shell.cleanup()
            InteractiveShell.clear_instance()


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def check_output(block: Block, printed: str) -> None:
    """Each shown line (``...`` stands for lines left out) is a line of what was printed, cell
    by cell when it is a table row."""
    actual = [_cells(line) for line in printed.splitlines()]
    for line in block.code.splitlines():
        if line.strip() in ("", "..."):
            continue
        assert _cells(line) in actual, f"{block.where}: shown line not printed:\n{line}\n" \
            f"printed:\n{printed}"


RUN_PAGES = [p for p in PAGES if any(b.lang in RUN_LANGS and "skip" not in b.marks
                                     for b in blocks(p))]


@pytest.mark.slow
@pytest.mark.parametrize("path", RUN_PAGES, ids=[str(p.relative_to(ROOT)) for p in RUN_PAGES])
def test_page_blocks_run(path, demo_out, reader_env, tmp_path, monkeypatch):
    out, summary = demo_out
    shutil.copytree(out, tmp_path / "out")
    shutil.copy(out / "lake.duckdb", tmp_path / "lake.duckdb")
    monkeypatch.chdir(tmp_path)
    page = Page(reader_env, monkeypatch)
    printed = {"demo": summary}
    try:
        for block in blocks(path):
            if "skip" in block.marks:
                continue
            if "output-of" in block.marks:
                check_output(block, printed[block.marks["output-of"]])
            elif block.lang in RUN_LANGS:
                try:
                    page.run(block)
                except Exception as exc:
                    raise AssertionError(f"{block.where} failed: {exc}\n{block.code}") from exc
    finally:
        page.close()
    assert os.getcwd() == str(tmp_path)
