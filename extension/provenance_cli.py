"""``corpusql releases list|show|rollback`` and ``corpusql takedown``: a thin skin over
:mod:`corpusql.releases` and :mod:`corpusql.takedown`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path


def _releases_list(args) -> int:
    from .releases import list_versions

    for v in list_versions(args.path):
        when = datetime.fromtimestamp(v.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{'*' if v.current else ' '} {v.version}\t{v.rows} rows\t{when} UTC\t"
              f"{v.takedowns} takedowns")
    return 0


def _releases_show(args) -> int:
    from .releases import resolve

    where = resolve(args.path) if args.version is None else Path(args.path) / args.version
    man = json.loads((where / "_manifest.json").read_text("utf-8"))
    print(f"{where.resolve()}: {man.get('total_rows')} rows in {len(man.get('files', []))} files")
    lic = man.get("licences") or {}
    print(f"  redistributable: {lic.get('redistributable', 'unknown')}")
    for why in lic.get("why") or []:
        print(f"    {why}")
    for name, rec in sorted((man.get("datasets") or {}).items()):
        terms = rec.get("licence") or {}
        print(f"  dataset {name}: licence {terms.get('licence', 'unknown')}, redistributable "
              f"{terms.get('redistributable', 'unknown')}")
    for t in man.get("takedowns") or []:
        print(f"  takedown {t['request_id']}: {t['removed']} removed ({t['reason']}; match "
              f"{json.dumps(t['match'], sort_keys=True)})")
    return 0


def _releases_rollback(args) -> int:
    from .releases import rollback

    now = rollback(args.path, args.version)
    print(f"{args.path}: current -> {now}")
    return 0


def _takedown(args) -> int:
    import os

    from .connect import connect
    from .takedowns import takedown

    kinds = [k for k in ("url", "domain", "id", "text", "doc_hash", "near_text")
             if getattr(args, k) is not None]
    if len(kinds) != 1:
        print("corpusql: error: give exactly one of --url, --domain, --id, --text, --doc-hash, "
              "--near-text", file=sys.stderr)
        return 2
    match = {kinds[0]: getattr(args, kinds[0])}
    if args.threshold is not None:
        match["threshold"] = args.threshold
    db = args.db or os.environ.get("CORPUSQL_DB")
    if not db:
        print("corpusql: error: takedown records the match in the catalog database so rebuilds "
              "apply it: pass --db or set CORPUSQL_DB", file=sys.stderr)
        return 2
    con = connect(db)
    try:
        rep = takedown(con, match, args.reason, args.request_id, args.releases,
                       purge=args.purge, dry_run=args.dry_run)
    finally:
        con.close()
    print("release\tversion\tfound\taction\tnew_version\tfiles")
    for r in [*rep.rows, *rep.datasets]:
        print(f"{r.release}\t{r.version or '-'}\t{r.found}\t{r.action}\t"
              f"{r.new_version or '-'}\t{','.join(r.files) or '-'}")
    if not any(r.found for r in [*rep.rows, *rep.datasets]):
        print(f"{args.request_id}: no release or catalog dataset holds a matching document; "
              "nothing changed")
    elif rep.dry_run:
        print(f"{args.request_id}: dry run; nothing changed")
    else:
        print(f"{args.request_id}: recorded in corpusql.takedowns; the catalog's views and "
              "later materializations apply it")
    skipped = [r for r in rep.rows if r.action.startswith("skipped")]
    return 3 if skipped else 0


def _guard(fn):
    def run(args) -> int:
        from .errors import MaterializeError
        from .releases import ReleaseError

        try:
            return fn(args)
        except (ReleaseError, MaterializeError, OSError, ValueError, RuntimeError) as exc:
            print(f"corpusql: error: {exc}", file=sys.stderr)
            return 1

    return run


def add_provenance_commands(subparsers) -> None:
    """Register ``releases list|show|rollback`` and ``takedown``."""
    rel = subparsers.add_parser("releases", help="versions of a versioned release")
    sub = rel.add_subparsers(dest="releases_command", required=True)
    p = sub.add_parser("list", help="versions, oldest first (* marks current)")
    p.add_argument("path")
    p.set_defaults(func=_guard(_releases_list))
    p = sub.add_parser("show", help="rows, licences and takedowns of a version")
    p.add_argument("path")
    p.add_argument("version", nargs="?", help="default: the current version")
    p.set_defaults(func=_guard(_releases_show))
    p = sub.add_parser("rollback", help="point current at an earlier version (checked first)")
    p.add_argument("path")
    p.add_argument("version", nargs="?", help="default: the version before the current one")
    p.set_defaults(func=_guard(_releases_rollback))

    p = subparsers.add_parser("takedown", help="remove matching documents from releases, "
                                               "record the match so rebuilds apply it")
    p.add_argument("releases", nargs="+", metavar="RELEASE")
    p.add_argument("--db", help="catalog database (default: $CORPUSQL_DB)")
    for flag, text in (("--url", "normalized URL"), ("--domain", "registered domain"),
                       ("--id", "document id"), ("--text", "exact text (normalized)"),
                       ("--doc-hash", "doc_hash (text_fingerprint)"),
                       ("--near-text", "near-duplicates of this text (MinHash)")):
        p.add_argument(flag, help=text)
    p.add_argument("--threshold", type=float, help="with --near-text (default 0.8)")
    p.add_argument("--reason", required=True)
    p.add_argument("--request-id", required=True)
    p.add_argument("--purge", action="store_true",
                   help="erasure: also delete older versions' files holding the document")
    p.add_argument("--dry-run", action="store_true", help="report only, change nothing")
    p.set_defaults(func=_guard(_takedown))


def _main(argv: list[str] | None = None) -> int:  # pragma: no cover - for manual runs
    parser = argparse.ArgumentParser(prog="corpusql")
    add_provenance_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)
