"""``corpusql shell``: an interactive SQL shell with every corpusql function loaded.

Statements end with ``;`` and may span lines. Dot commands: ``.tables``, ``.schema NAME``,
``.functions [NAME]``, ``.read FILE``, ``.mode table|csv|json|markdown``, ``.timer on|off``, ``.help``,
``.quit``. Ctrl-C cancels the running query and keeps the shell; errors print and the shell stays
up. History is kept in ``~/.corpusql_history`` when the terminal supports it.

A *role shell* (the connection is locked down: ``corpusql shell DB --role R``) allows only the
dot commands in :data:`ROLE_COMMANDS`; ``.read``, ``.open``, ``.shell``, ``.system``, ``.output``
and every other command that would open a file or start a process are refused by name. In any
shell, an error of ``.read`` names the file, line and statement and never quotes the file's
text: a file that does not parse as SQL runs nothing, and DuckDB's ``LINE n: ...`` excerpt is
dropped from the errors of its statements.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
import time
from pathlib import Path
from typing import TextIO

import duckdb

from .display import MODES, render
from .explain import explain
from .scripts import ScriptError, run_script

HELP = """\
corpusql commands
  .functions            every corpusql function and macro, one line each
  .functions NAME       NAME's full signature, return type and documentation
DuckDB shell commands this shell has
  .tables               tables and views, schema-qualified, grouped by schema
  .schema NAME          the columns of a table or view
  .read FILE            run the SQL statements of FILE
  .mode MODE            output mode: table, csv, json, markdown
  .timer on|off         print the run time of each statement
  .help                 this text
  .quit                 leave the shell (Ctrl-D works too)
DuckDB shell commands it has not: .open .output .shell .system .import .dump
  (open another database with `corpusql shell DB`; write results with COPY or
  `corpusql materialize`)
Statements end with ';' and may span lines. Ctrl-C cancels a running query."""
#: Output width of .functions and .tables (a classic terminal).
WIDTH = 80
#: The dot commands of a role shell: none opens a file or starts a process.
ROLE_COMMANDS = (".tables", ".schema", ".functions", ".mode", ".timer", ".help", ".quit", ".exit")


class Shell:
    def __init__(self, con: duckdb.DuckDBPyConnection, *, out: TextIO = sys.stdout,
                 err: TextIO = sys.stderr, restricted: bool | None = None) -> None:
        self.con = con
        if restricted is None:  # a locked-down connection is a role connection
            restricted = bool(con.execute(
                "SELECT current_setting('lock_configuration')").fetchall()[0][0])
        self.restricted = restricted
        self.out = out
        self.err = err
        self.mode = "table"
        self.timer = False
        self.progress = err.isatty()

    # -- output ------------------------------------------------------------------------------
    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def error(self, text: str) -> None:
        print(f"Error: {text}", file=self.err, flush=True)

    def show(self, columns, rows) -> None:
        self.print(render(columns, rows, self.mode))

    # -- execution ---------------------------------------------------------------------------
    def execute(self, sql: str) -> None:
        """Run one or more statements; Ctrl-C interrupts the query, not the shell."""
        from .progress import Cancelled, Progress

        def work() -> list:
            results: list = []
            try:
                for stmt in duckdb.extract_statements(sql):
                    cur = self.con.execute(stmt.query)
                    if cur.description:
                        results.append(([d[0] for d in cur.description], cur.fetchall()))
            except duckdb.Error as exc:
                results.append((exc, stmt.query))
            return results

        t0 = time.perf_counter()
        progress = Progress(enabled=self.progress)
        progress.attach(self.con)
        try:
            results = progress.run(work)
        except Cancelled:
            self.error("query cancelled")
            return
        for result in results:
            if isinstance(result[0], duckdb.Error):
                self.error(explain(result[0], result[1], self.con))
            else:
                self.show(*result)
        if self.timer:
            self.print(f"Run Time: {time.perf_counter() - t0:.3f} s")

    def dot(self, line: str) -> bool:
        """Handle a dot command; return False to leave the shell."""
        cmd, _, arg = line.strip().partition(" ")
        arg = arg.strip()
        if self.restricted and cmd not in ROLE_COMMANDS:
            self.error(f"{cmd} is not allowed in a role shell (it could open a file or start a "
                       f"process); allowed: {', '.join(ROLE_COMMANDS)}")
            return True
        if cmd in (".quit", ".exit"):
            return False
        if cmd == ".help":
            self.print(HELP)
        elif cmd == ".tables":
            self.print(tables_listing(self.con))
        elif cmd == ".schema":
            if not arg:
                self.error(".schema needs a table or view name")
            else:
                self.execute(f"DESCRIBE {arg}")
        elif cmd == ".functions":
            self.print(functions_listing(self.con, arg) if arg else functions_summary(self.con))
        elif cmd == ".read":
            self.read(arg)
        elif cmd == ".mode":
            if arg not in MODES:
                self.error(f".mode {arg!r}: choose one of {', '.join(MODES)}")
            else:
                self.mode = arg
        elif cmd == ".timer":
            if arg not in ("on", "off"):
                self.error(".timer takes on or off")
            else:
                self.timer = arg == "on"
        else:
            self.error(f"unknown command {cmd}; try .help")
        return True

    def read(self, path: str) -> None:
        """``.read FILE``: run its statements; errors never quote the file (module docstring)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            self.error(f"{path}: no such SQL file")
            return
        except (OSError, UnicodeDecodeError) as exc:
            self.error(f"{path}: cannot be read as a SQL file ({type(exc).__name__})")
            return
        try:
            duckdb.extract_statements(text)
        except duckdb.Error as exc:
            line = re.search(r"LINE (\d+):", str(exc))
            self.error(f"{path}:{line.group(1) if line else 1}: not a SQL script (parser error); "
                       "nothing was run")
            return
        try:
            run_script(self.con, text, path=path, on_result=lambda _s, c, r: self.show(c, r))
        except ScriptError as exc:
            self.error(_without_excerpt(str(exc)))

    # -- loop --------------------------------------------------------------------------------
    def loop(self, stdin: TextIO = sys.stdin) -> None:
        interactive = stdin.isatty()
        if interactive:
            _setup_history()
            self.print("corpusql shell: SQL ends with ';', .help for commands, .quit to leave")
        buffer: list[str] = []
        while True:
            prompt = ("   ...> " if buffer else "corpusql> ") if interactive else ""
            try:
                line = input(prompt) if interactive else stdin.readline()
            except KeyboardInterrupt:
                buffer.clear()
                self.print()
                continue
            except EOFError:
                break
            if not interactive and line == "":
                break
            line = line.rstrip("\n")
            if not buffer and line.strip().startswith("."):
                if not self.dot(line):
                    break
                continue
            if not buffer and not line.strip():
                continue
            buffer.append(line)
            text = "\n".join(buffer)
            if _complete(text):
                buffer.clear()
                self.execute(text)
        if buffer and "\n".join(buffer).strip():
            self.execute("\n".join(buffer))


def tables_listing(con: duckdb.DuckDBPyConnection, width: int = WIDTH) -> str:
    """``.tables``: the tables and views of every schema, grouped under the schema's name.

    Names outside the default schema ``main`` of the open database are qualified as a query must
    spell them (``corpusql.datasets``, ``temp.t``, ``other_db.main.t``); views are marked
    ``(view)``. corpusql's internal objects (``__corpusql*``) are left out.
    """
    rows = con.execute(
        "SELECT table_catalog, table_schema, table_name, table_type = 'VIEW' "
        "FROM information_schema.tables "
        "WHERE table_schema NOT IN ('information_schema', 'pg_catalog') "
        "AND table_name NOT LIKE '\\_\\_corpusql%' ESCAPE '\\' ORDER BY ALL").fetchall()
    (current,) = con.execute("SELECT current_database()").fetchone()
    groups: dict[str, list[str]] = {}
    for db, schema, name, is_view in rows:
        if db == "temp":
            prefix = "temp."
        elif db != current:
            prefix = f"{db}.{schema}."
        else:
            prefix = "" if schema == "main" else f"{schema}."
        key = "temp" if db == "temp" else (schema if db == current else f"{db}.{schema}")
        groups.setdefault(key, []).append(prefix + name + (" (view)" if is_view else ""))
    if not groups:
        return "(no tables or views)"
    order = sorted(groups, key=lambda k: (k != "main", k == "temp", k))
    lines = []
    for key in order:
        lines.append(f"{key}:" if key != "main" else "main (no schema needed):")
        line = ""
        for item in groups[key]:  # pack whole names (with their "(view)") into lines
            if line and len(line) + 2 + len(item) > width:
                lines.append(line)
                line = ""
            line = f"{line}  {item}" if line else f"  {item}"
        lines.append(line)
    return "\n".join(lines)


def functions_summary(con: duckdb.DuckDBPyConnection, width: int = WIDTH) -> str:
    """``.functions``: one line per function, its name and the first sentence of its
    documentation cut to fit ``width`` columns."""
    rows = con.execute("SELECT name, doc FROM corpusql_functions() ORDER BY name").fetchall()
    pad = max(len(name) for name, _ in rows) + 2
    lines = []
    for name, doc in rows:
        summary = " ".join((doc or "").split())
        end = summary.find(". ")
        summary = summary[:end + 1] if end >= 0 else summary
        room = width - pad
        if len(summary) > room:
            summary = summary[:room - 1].rstrip() + "\u2026"
        lines.append(f"{name:<{pad}}{summary}".rstrip())
    lines.append(".functions NAME shows a function's full signature and documentation.")
    return "\n".join(lines)


def functions_listing(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """``.functions NAME``: NAME's signature, kind, return type and documentation; an unknown
    name gets the closest names."""
    import difflib

    rows = con.execute("SELECT name, kind, signature, return_type, doc "
                       "FROM corpusql_functions() ORDER BY name").fetchall()
    match = [r for r in rows if r[0] == name.strip()]
    if not match:
        near = difflib.get_close_matches(name.strip(), [r[0] for r in rows], n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else "; .functions lists them all"
        return f"no corpusql function {name.strip()!r}{hint}"
    fname, kind, signature, returns, doc = match[0]
    body = "\n".join(textwrap.fill(p, WIDTH) for p in (doc or "").split("\n\n"))
    return f"{signature}\n  kind: {kind}\n  returns: {returns}\n\n{body}"


def _without_excerpt(message: str) -> str:
    """``message`` without DuckDB's quotation of the statement (``LINE n: ...`` and its caret
    line), the only place a statement's text appears in its errors."""
    lines = message.splitlines()
    kept = []
    for i, line in enumerate(lines):
        if line.startswith("LINE ") or (i and lines[i - 1].startswith("LINE ")):
            continue
        kept.append(line)
    return "\n".join(kept).rstrip()


def _complete(text: str) -> bool:
    """True when the text ends a statement: its last non-comment character is ';'."""
    stripped = "\n".join(line.split("--")[0] for line in text.splitlines()).rstrip()
    if not stripped.endswith(";"):
        return False
    return stripped.count("'") % 2 == 0


def _setup_history() -> None:
    try:
        import atexit
        import readline
    except ImportError:  # pragma: no cover - no readline on this platform
        return
    path = Path(os.environ.get("CORPUSQL_HISTORY", Path.home() / ".corpusql_history"))
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    atexit.register(lambda: _save_history(readline, path))


def _save_history(readline, path: Path) -> None:
    try:
        readline.write_history_file(path)
    except OSError:
        pass
