"""Named credentials of the catalog (values kept outside the database file, see secrets).

A part of :class:`corpusql.catalog.core.Catalog` (a mixin: its methods use the catalog's
connection and helpers through ``self``).
"""

from __future__ import annotations

from ..errors import CatalogError
from . import secrets
from .common import _NAME, _now


class SecretsMixin:
    """Named credentials of the catalog (values kept outside the database file, see secrets)."""

    def add_secret(self, name: str, kind: str = "s3", **values) -> None:
        """Store credential ``values`` outside the database; the catalog keeps name and kind."""
        if not _NAME.match(name):
            raise CatalogError(f"secret name {name!r} must be an identifier")
        secrets.put(name, kind, values)
        self._q("DELETE FROM corpusql.secrets WHERE name = ?", [name])
        self._q("INSERT INTO corpusql.secrets VALUES (?, ?, ?)", [name, kind, _now()])

    def remove_secret(self, name: str) -> None:
        users = [r[0] for r in self._q("SELECT name FROM corpusql.datasets WHERE secret = ?",
                                       [name])]
        if users:
            raise CatalogError(f"secret {name!r} is used by dataset(s) {', '.join(users)}")
        secrets.delete(name)
        self._q("DELETE FROM corpusql.secrets WHERE name = ?", [name])
