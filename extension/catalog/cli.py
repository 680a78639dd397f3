"""``corpusql dataset ...``, ``secret add`` and ``role ...``: a thin skin over :class:`Catalog`.

``add_dataset_commands(subparsers)`` registers the commands on the main parser's subparsers.
Each command opens the database (``--db``, default ``$CORPUSQL_DB``), calls one catalog method,
prints the result and returns an exit code; library errors become one line on stderr and exit 1.
Secret values are never taken from the command line (shell history, ``ps``): they come from the
environment (``--from-env``) or a prompt.
"""

from __future__ import annotations

import argparse
import sys

from .cli_common import _db_arg, _run
from .cli_roles import SECRET_FIELDS, _secret_add, add_role_commands


def _print_status(st) -> None:
    print(f"{st.name}\t{st.summary}\t{st.format}\t{st.files} files\t{st.bytes} bytes\t"
          f"{st.cached_files} cached\t{st.quarantined_files} files + {st.quarantined_lines} "
          f"lines quarantined\t{st.uri}")
    print(f"  licence: {st.licence}\tredistributable: {st.redistributable}\tterms: "
          f"{st.terms_url or '-'}\tattribution: {st.attribution or '-'}")
    if st.error:
        print(f"  error: {st.error}")
    for note in st.notes:
        print(f"  note: {note}")
    hint = {"failed": f"`dataset sync {st.name}` (or `dataset add {st.name} URI`) to retry, "
                      f"`dataset add --replace {st.name} URI` to change its source",
            "stale": f"`dataset sync {st.name}`"}.get(st.status)
    if hint:
        print(f"  next: {hint}")


def _options(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--option {pair!r}: expected key=value")
        out[key] = value
    return out


def _terms(a) -> dict:
    return {"licence": a.licence, "terms_url": a.terms_url, "attribution": a.attribution,
            "redistributable": a.redistributable}


def _add(cat, a):
    _print_status(cat.add(a.name, a.uri, format=a.format, secret=a.secret,
                          options=_options(a.option), replace=a.replace, **_terms(a)))


def _licence(cat, a):
    _print_status(cat.set_licence(a.name, **_terms(a)))


def _terms_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--licence", "--license", default=None,
                   help="SPDX licence id or expression (CC-BY-4.0), LicenseRef-<name>, or "
                        "unknown (the default: never guessed)")
    p.add_argument("--terms-url", default=None, help="where the terms of use are written")
    p.add_argument("--attribution", default=None, help="the credit line the terms ask for")
    p.add_argument("--redistributable", default=None, choices=["true", "false", "unknown"],
                   help="may copies be given to others (default: unknown)")


def _list(cat, a):
    for st in cat.list():
        _print_status(st)


def _status(cat, a):
    _print_status(cat.status(a.name))


def _sync(cat, a):
    rep = cat.sync(a.name, quick=a.quick)
    print(f"{a.name}: {len(rep.new)} new, {len(rep.changed)} changed, "
          f"{len(rep.vanished)} vanished, {len(rep.recached)} re-cached")
    for kind in ("new", "changed", "vanished", "recached"):
        for path in getattr(rep, kind):
            print(f"  {kind}\t{path}")


def _prewarm(cat, a):
    print(f"{a.name}: {cat.prewarm(a.name)} files cached")


def _clone(cat, a):
    _print_status(cat.clone(a.src, a.new_name))


def _remove(cat, a):
    cat.remove(a.name, drop_cache=a.drop_cache)
    print(f"{a.name}: removed")


def _verify(cat, a):
    rep = cat.verify(a.name)
    print(f"{a.name}: {rep.checked} cached copies checked, "
          f"{'ok' if rep.ok else 'problems found'}")
    for kind in ("mismatched", "missing", "source_changed", "source_new", "source_vanished"):
        for path in getattr(rep, kind):
            print(f"  {kind}\t{path}")
    return 0 if rep.ok else 3






















def add_dataset_commands(subparsers) -> None:
    """Register ``dataset add|list|status|sync|prewarm|clone|remove|verify``, ``secret add``
    and the ``role`` commands."""
    ds = subparsers.add_parser("dataset", help="the source catalog: datasets as views")
    sub = ds.add_subparsers(dest="dataset_command", required=True)

    p = sub.add_parser("add", help="record a dataset and create its view")
    _db_arg(p)
    p.add_argument("name")
    p.add_argument("uri", help="path/glob, s3://bucket/prefix/*.parquet, http(s)://..., "
                               "git+file:///repo@rev:path/glob")
    p.add_argument("--format", default="auto", choices=["auto", "parquet", "jsonl", "csv", "text"])
    p.add_argument("--secret", default=None, help="name of a stored secret")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="client option, e.g. endpoint_url=http://127.0.0.1:9000 (repeatable)")
    p.add_argument("--replace", action="store_true",
                   help="redefine an existing dataset: forget its files and cached copies "
                        "(grants and masks stay); a failed dataset is retried without it")
    _terms_args(p)
    p.set_defaults(func=_run(_add))

    p = sub.add_parser("licence", help="record a dataset's licence, terms URL, attribution "
                                       "and whether it is redistributable")
    _db_arg(p)
    p.add_argument("name")
    _terms_args(p)
    p.set_defaults(func=_run(_licence))

    for cmd, fn, text in (("list", _list, "list datasets"),):
        p = sub.add_parser(cmd, help=text)
        _db_arg(p)
        p.set_defaults(func=_run(fn))
    for cmd, fn, text in (("status", _status, "status, counts and error of a dataset"),
                          ("sync", _sync, "re-list the source: new, changed, vanished files; "
                                          "re-make missing cached copies"),
                          ("prewarm", _prewarm, "copy the files to the local Parquet cache"),
                          ("verify", _verify, "hash local sources and cached copies, compare "
                                              "the source listing")):
        p = sub.add_parser(cmd, help=text)
        _db_arg(p)
        p.add_argument("name")
        if cmd == "sync":
            p.add_argument("--quick", action="store_true",
                           help="re-hash only local files whose size or mtime changed "
                                "(misses edits that keep both)")
        p.set_defaults(func=_run(fn))

    p = sub.add_parser("clone", help="copy a dataset (files, quarantine, cache) under a new name")
    _db_arg(p)
    p.add_argument("src")
    p.add_argument("new_name")
    p.set_defaults(func=_run(_clone))

    p = sub.add_parser("remove", help="forget a dataset and drop its view")
    _db_arg(p)
    p.add_argument("name")
    p.add_argument("--drop-cache", action="store_true", help="also delete its cached copies")
    p.set_defaults(func=_run(_remove))

    sec = subparsers.add_parser("secret", help="credentials, stored outside the database")
    ssub = sec.add_subparsers(dest="secret_command", required=True)
    p = ssub.add_parser("add", help="store a secret (values from the environment or a prompt)")
    _db_arg(p)
    p.add_argument("name")
    p.add_argument("--kind", default="s3", choices=sorted(SECRET_FIELDS))
    p.add_argument("--from-env", action="store_true",
                   help="read values from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/"
                        "AWS_SESSION_TOKEN (s3) or CORPUSQL_HTTP_USERNAME/PASSWORD (http)")
    p.add_argument("--profile", help="use this AWS profile (no values stored)")
    p.add_argument("--region")
    p.add_argument("--endpoint-url")
    p.set_defaults(func=_run(_secret_add))

    add_role_commands(subparsers)


def _main(argv: list[str] | None = None) -> int:
    """Stand-alone entry for tests until the main CLI wires these commands in."""
    parser = argparse.ArgumentParser(prog="corpusql")
    add_dataset_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
