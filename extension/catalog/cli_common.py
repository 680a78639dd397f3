"""What the catalog's commands share: the --db argument and the error-to-exit-code wrapper."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

DB_HELP = "database file (default: $CORPUSQL_DB)"


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None, help=DB_HELP)


def _run(fn: Callable) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        import corpusql

        from .core import CatalogError
        from .secrets import SecretError

        db = getattr(args, "db", None) or os.environ.get("CORPUSQL_DB")
        if not db:
            print("corpusql: error: no database: pass --db or set CORPUSQL_DB", file=sys.stderr)
            return 2
        try:
            con = corpusql.connect(db)
        except Exception as exc:  # noqa: BLE001 - reported to the user
            print(f"corpusql: error: cannot open {db}: {exc}", file=sys.stderr)
            return 1
        try:
            return fn(corpusql.catalog(con), args) or 0
        except (CatalogError, SecretError, ValueError) as exc:
            print(f"corpusql: error: {exc}", file=sys.stderr)
            return 1
        finally:
            con.close()

    return handler
