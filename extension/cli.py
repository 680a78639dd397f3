"""The ``corpusql`` command: a thin skin over the Python API, with the same names.

Each command opens the database, calls one API function and turns library errors into a clear
message on stderr with a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import duckdb

from .version import __version__


def _db(given: str | None) -> str | None:
    """The database file: the one given, else ``$CORPUSQL_DB``, else None (in memory)."""
    return given or os.environ.get("CORPUSQL_DB") or None


def _open(db: str | None, read_only: bool = False, role: str | None = None):
    from .connect import connect

    db = _db(db)
    if role is not None:
        if not db:
            raise SystemExit("corpusql: --role needs the catalog's database file")
        return connect(db, role=role)  # read-only, locked down, only the role's datasets
    return connect(db or ":memory:", read_only=read_only)


def _query_arg(text: str) -> str:
    """A query given inline, or ``@file.sql`` to read it from a file."""
    if text.startswith("@"):
        return Path(text[1:]).read_text(encoding="utf-8")
    return text


def cmd_shell(args) -> int:
    from .shell import Shell

    con = _open(args.db, read_only=args.read_only, role=args.role)
    try:
        Shell(con).loop(sys.stdin)
    finally:
        con.close()
    return 0


def _progress(args):
    from .progress import Progress

    return Progress(enabled=False if args.quiet else None)


def cmd_run(args) -> int:
    from .display import render
    from .scripts import run_file

    if args.engine == "spark" or args.out_dir:
        from .spark.run import cli_run

        return cli_run(args, lambda cols, rows: print(render(cols, rows, args.mode)))
    con = _open(args.db, role=args.role)
    progress = _progress(args)
    progress.attach(con)
    progress.stage(f"run {args.script}")
    try:
        progress.run(run_file, con, args.script,
                     on_result=lambda _s, cols, rows: print(render(cols, rows, args.mode)))
    finally:
        con.close()
    return 0


def _run_setup(con, progress, setup: str | None) -> None:
    """Run the ``--setup`` script (the recipe that builds the tables the query reads)."""
    if setup:
        from .scripts import run_file

        progress.stage(f"setup {setup}")
        progress.run(run_file, con, setup)


def cmd_materialize(args) -> int:
    from .releases import materialize

    con = _open(args.db)
    progress = _progress(args)
    progress.attach(con)
    try:
        _run_setup(con, progress, args.setup)
        progress.stage(f"materialize {args.out_dir}")
        result = progress.run(
            materialize, con, _query_arg(args.query), args.out_dir,
            partition_by=args.partition_by or None,
            max_rows_per_file=args.max_rows_per_file,
            compression=args.compression,
            overwrite=args.overwrite,
            order_by=args.order_by,
            force=args.force,
            lock_timeout=args.lock_timeout,
            versioned=args.versioned, keep=args.keep, public=args.public,
            **({"removal_log": args.removal_log} if args.removal_log else {}),
        )
    finally:
        con.close()
    for line in result.recovered:
        print(line)
    print(f"{result.out_dir}: {result.status}, {result.rows} rows in {len(result.files)} files")
    return 0


def cmd_export_tokens(args) -> int:
    from .export_tokens import export_tokens

    con = _open(args.db)
    progress = _progress(args)
    progress.attach(con)
    try:
        _run_setup(con, progress, args.setup)
        progress.stage(f"export tokens to {args.out_dir}")
        recipe = Path(args.setup).read_text(encoding="utf-8") if args.setup else None
        result = progress.run(
            export_tokens, con, _query_arg(args.query), args.out_dir,
            tokenizer=args.tokenizer, format=args.format, eos=not args.no_eos,
            shuffle_seed=None if args.no_shuffle else args.shuffle_seed,
            shard_tokens=args.shard_tokens, text_col=args.text_col, order_by=args.order_by,
            dtype=args.dtype, seq_len=args.seq_len, pack=args.pack, overwrite=args.overwrite,
            lock_timeout=args.lock_timeout, recipe=recipe, public=args.public,
        )
    finally:
        con.close()
    for line in result.recovered:
        print(line)
    m = result.manifest
    print(f"{result.out_dir}: {m['total_documents']} documents, {m['total_tokens']} tokens "
          f"({m['dtype']}) in {len(m['shards'])} {m['format']} shards; "
          f"{m['null_texts']} NULL texts skipped")
    return 0


def cmd_verify(args) -> int:
    from .materializer import verify

    report = verify(args.out_dir)
    for line in report.recovered:
        print(line)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if report.ok:
        print(f"{report.out_dir}: ok, {report.checked} files match the manifest")
        return 0
    print(f"{report.out_dir}: {len(report.problems)} problems", file=sys.stderr)
    return 1


def cmd_status(args) -> int:
    from .materializer import status

    st = status(args.out_dir)
    for line in st.recovered:
        print(line)
    if st.writer is not None:
        print(f"{st.out_dir}: being materialized by pid {st.writer} right now")
    if st.manifest is None:
        print(f"{st.out_dir}: no corpusql output here ({st.report.problems[0]})")
        return 1 if st.writer is None else 0
    m = st.manifest
    state = "ok" if st.report.ok else f"{len(st.report.problems)} problems"
    print(f"{st.out_dir}: {m.get('total_rows')} rows in {len(m.get('files', []))} files, "
          f"{m.get('total_bytes')} bytes, {state}")
    for problem in st.report.problems:
        print(problem, file=sys.stderr)
    return 0 if st.report.ok else 1


def cmd_functions(args) -> int:
    from .display import render
    from .introspect import function_rows

    rows = function_rows()
    if args.format == "json":
        print(json.dumps([r.__dict__ for r in rows], indent=2))
    else:
        print(render(["name", "kind", "signature", "returns", "doc"],
                     [[r.name, r.kind, r.signature, r.returns, r.doc] for r in rows],
                     args.format, max_width=100))
    return 0


def cmd_demo(args) -> int:
    from .demo import demo

    result = _progress(args).run_with(demo, args.out_dir, threads=args.threads,
                                      versioned=not args.unversioned, keep=args.keep)
    print(result.summary())
    where = {s: r.out_dir for s, r in result.outputs.items()}
    shown = ", ".join(f"{s} ({p.name})" for s, p in where.items()) if not args.unversioned \
        else "train, val, test"
    print(f"wrote {result.out_dir}: {shown}, lake.duckdb in {result.seconds:.1f} s")
    return 0


def cmd_report(args) -> int:
    from .report import report

    path = report(args.out_dir, args.html, db=args.db)
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corpusql", description="LLM training-data governance as SQL on DuckDB.")
    parser.add_argument("--version", action="version", version=f"corpusql {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress display (it is shown only on a terminal anyway)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("shell", help="interactive SQL shell with every corpusql function")
    p.add_argument("db", nargs="?", help="database file (default: $CORPUSQL_DB, else in memory)")
    p.add_argument("--read-only", action="store_true")
    p.add_argument("--role", help="open as this catalog role: read-only, its granted datasets only")
    p.set_defaults(func=cmd_shell)

    p = sub.add_parser("run", help="run a SQL script, printing the results of queries")
    p.add_argument("script")
    p.add_argument("--db", help="database file (default: $CORPUSQL_DB, else in memory); "
                                "--engine spark: the catalog whose takedowns apply")
    p.add_argument("--mode", default="table", choices=["table", "csv", "json", "markdown"])
    p.add_argument("--role", help="run as this catalog role: read-only, its granted datasets only")
    p.add_argument("out_dir", nargs="?", help="--engine spark: materialize the recipe's outputs here")
    p.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    p.add_argument("--master", default="local[2]", help="--engine spark: the Spark master URL")
    p.add_argument("--input", action="append", metavar="NAME=PATH",
                   help="--engine spark: read Parquet PATH as the view NAME (repeatable)")
    p.add_argument("--overwrite", action="store_true",
                   help="--engine spark --unversioned: replace earlier outputs")
    p.add_argument("--unversioned", action="store_true",
                   help="--engine spark: replace OUT/NAME in place instead of adding a version")
    p.add_argument("--keep", type=int, help="--engine spark: versions to keep (default: "
                                            "$CORPUSQL_KEEP_VERSIONS, else 5)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("materialize", help="write a query to Parquet atomically, with manifest")
    p.add_argument("query", help="SQL text, or @file.sql")
    p.add_argument("out_dir")
    p.add_argument("--db", help="database file (default: $CORPUSQL_DB, else in memory)")
    p.add_argument("--setup", help="SQL script to run first (e.g. to create views)")
    p.add_argument("--partition-by", action="append", help="partition column (repeatable)")
    p.add_argument("--max-rows-per-file", type=int)
    p.add_argument("--compression", default="zstd")
    p.add_argument("--order-by", default="ALL", help="total order of the rows (default: ALL)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--force", action="store_true", help="rewrite even when up to date")
    p.add_argument("--lock-timeout", type=float,
                   help="seconds to wait for another writer of OUT_DIR "
                        "(default: $CORPUSQL_LOCK_TIMEOUT, else 0: fail at once)")
    p.add_argument("--versioned", action="store_true",
                   help="write OUT_DIR/vNNNN/ and move OUT_DIR/current to it (docs/provenance.md)")
    p.add_argument("--keep", type=int, help="versions to keep with --versioned "
                                            "(default: $CORPUSQL_KEEP_VERSIONS, else 5)")
    p.add_argument("--public", action="store_true",
                   help="refuse when an input is not redistributable (dataset licences)")
    p.add_argument("--removal-log", metavar="TABLE",
                   help="the recipe's log of removed documents (id, step, reason), kept in "
                        "the release for release_diff")
    p.set_defaults(func=cmd_materialize)

    p = sub.add_parser("export-tokens",
                       help="tokenize a query's text into shuffled, sharded token-id files")
    p.add_argument("query", help="SQL text, or @file.sql")
    p.add_argument("out_dir")
    p.add_argument("--db", help="database file (default: $CORPUSQL_DB, else in memory)")
    p.add_argument("--setup", help="SQL script to run first (e.g. to create views)")
    p.add_argument("--tokenizer", default="default", help="'default' or a tokenizer.json path")
    p.add_argument("--format", default="datatrove", choices=["datatrove", "megatron", "parquet"])
    p.add_argument("--no-eos", action="store_true", help="no EOS id after each document")
    p.add_argument("--shuffle-seed", type=int, default=1)
    p.add_argument("--no-shuffle", action="store_true", help="keep the query's order")
    p.add_argument("--shard-tokens", type=int, default=1 << 30)
    p.add_argument("--text-col", default="text")
    p.add_argument("--order-by", default="ALL", help="total order of the rows (default: ALL)")
    p.add_argument("--dtype", default="auto", choices=["auto", "uint16", "uint32"])
    p.add_argument("--seq-len", type=int, default=2048, help="parquet: packed sequence length")
    p.add_argument("--pack", default="split", choices=["split", "no_split"])
    p.add_argument("--overwrite", action="store_true", help="replace an existing export")
    p.add_argument("--lock-timeout", type=float, help="seconds to wait for another writer")
    p.add_argument("--public", action="store_true",
                   help="refuse when an input is not redistributable (dataset licences)")
    p.set_defaults(func=cmd_export_tokens)

    p = sub.add_parser("verify", help="re-check a materialized output against its manifest")
    p.add_argument("out_dir")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("status", help="repair an interrupted materialization, then describe it")
    p.add_argument("out_dir")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("functions", help="list every corpusql function and macro")
    p.add_argument("--format", default="table", choices=["table", "markdown", "json"])
    p.set_defaults(func=cmd_functions)

    p = sub.add_parser("demo", help="run the demo pipeline on the bundled sample")
    p.add_argument("out_dir", nargs="?", default="out")
    p.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    p.add_argument("--unversioned", action="store_true",
                   help="replace OUT/train, val and test in place instead of adding a version")
    p.add_argument("--keep", type=int, help="versions to keep (default: "
                                            "$CORPUSQL_KEEP_VERSIONS, else 5)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("report", help="self-contained HTML report of a materialized output")
    p.add_argument("out_dir")
    p.add_argument("--html", default="report.html", help="where to write the page")
    p.add_argument("--db", help="database with the removal log (default: OUT_DIR/lake.duckdb)")
    p.set_defaults(func=cmd_report)

    _add_plugin_commands(sub)
    return parser


def _add_plugin_commands(sub) -> None:
    """Commands of optional sub-packages (the dataset catalog), when present."""
    try:
        from .catalog.cli import add_dataset_commands
    except ImportError:
        return
    add_dataset_commands(sub)
    from .provenance_cli import add_provenance_commands

    add_provenance_commands(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "run" and args.out_dir is None and len(extra) == 1 \
            and not extra[0].startswith("-"):
        args.out_dir = extra[0]  # `run SCRIPT --engine spark OUT`: OUT after the options
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
    except (duckdb.Error, OSError, ValueError, RuntimeError) as exc:
        if os.environ.get("CORPUSQL_DEBUG"):
            raise
        print(f"corpusql {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
