"""Who sees what: roles, grants, masks and allowed paths.

A part of :class:`corpusql.catalog.core.Catalog` (a mixin: its methods use the catalog's
connection and helpers through ``self``).
"""

from __future__ import annotations

import difflib
import os

from ..errors import CatalogError
from .common import _NAME, _now
from .roles import PRIVILEGES
from .views import ident


class AccessMixin:
    """Who sees what: roles, grants, masks and allowed paths."""

    def add_role(self, name: str) -> None:
        """A role that role connections (``corpusql.connect(db, role=...)``) can take."""
        if not _NAME.match(name):
            raise CatalogError(f"role name {name!r} must be an identifier")
        if not self._q("SELECT 1 FROM corpusql.roles WHERE name = ?", [name]):
            self._q("INSERT INTO corpusql.roles VALUES (?, ?)", [name, _now()])

    def grant(self, role: str, dataset: str, privilege: str = "read") -> None:
        """Let ``role`` read ``dataset`` (the only privilege so far)."""
        self._row(dataset)
        if privilege not in PRIVILEGES:
            raise CatalogError(f"privilege {privilege!r} is not one of {', '.join(PRIVILEGES)}")
        if not self._q("SELECT 1 FROM corpusql.roles WHERE name = ?", [role]):
            raise CatalogError(f"role {role!r} is not in the catalog (add it with add_role)")
        self.revoke(role, dataset, privilege)
        self._q("INSERT INTO corpusql.grants VALUES (?, ?, ?)", [role, dataset, privilege])

    def revoke(self, role: str, dataset: str, privilege: str = "read") -> None:
        self._q("DELETE FROM corpusql.grants WHERE role = ? AND dataset = ? AND privilege = ?",
                [role, dataset, privilege])

    def _role(self, role: str) -> None:
        if not self._q("SELECT 1 FROM corpusql.roles WHERE name = ?", [role]):
            names = [r[0] for r in self._q("SELECT name FROM corpusql.roles ORDER BY name")]
            hint = difflib.get_close_matches(role, names, n=1)
            more = f"; did you mean {hint[0]!r}?" if hint else " (add it with add_role)"
            raise CatalogError(f"role {role!r} is not in the catalog{more}")

    def mask(self, role: str, dataset: str, column: str, kind: str = "redact") -> None:
        """On ``role``'s connections, ``dataset``'s view shows ``column`` masked by ``kind``:
        ``'redact'`` (``pii_redact`` of its text: best effort, for free text), ``'hash'`` (a
        keyed HMAC-SHA256, hex: joinable, for structured values) or ``'null'``. A column has
        one mask per role; masking it again replaces the kind (see corpusql.catalog.masks)."""
        from .masks import MaskError, check_kind, ensure_key

        try:
            check_kind(kind)
        except MaskError as exc:
            raise CatalogError(f"mask {role}/{dataset}.{column}: {exc}") from None
        self._role(role)
        self._row(dataset)
        cols = [r[0] for r in self._q(f"DESCRIBE main.{ident(dataset)}")]
        if column not in cols:
            hint = difflib.get_close_matches(column, cols, n=1)
            more = f"; did you mean {hint[0]!r}?" if hint else f"; its columns are {cols}"
            raise CatalogError(f"dataset {dataset!r} has no column {column!r}{more}")
        if kind == "hash":
            ensure_key()  # made once, in the secrets store, never in the catalog
        self.unmask(role, dataset, column)
        self._q('INSERT INTO corpusql.masks (role, dataset, "column", kind) VALUES (?, ?, ?, ?)',
                [role, dataset, column, kind])

    def unmask(self, role: str, dataset: str, column: str) -> None:
        self._q('DELETE FROM corpusql.masks WHERE role = ? AND dataset = ? AND "column" = ?',
                [role, dataset, column])

    def allow_path(self, role: str, path: str | os.PathLike) -> None:
        """Let corpusql functions open files under ``path`` (models, tokenizers) on ``role``'s
        connections. DuckDB's own file access (read_csv, COPY) is not widened by this."""
        self._role(role)
        real = os.path.realpath(os.path.expanduser(os.fspath(path)))
        self._q("DELETE FROM corpusql.role_paths WHERE role = ? AND path = ?", [role, real])
        self._q("INSERT INTO corpusql.role_paths VALUES (?, ?)", [role, real])
