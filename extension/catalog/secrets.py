"""Credential values, kept outside the database file.

The database's ``corpusql.secrets`` table holds only a secret's name and kind. The values live in a
JSON file readable by its owner only (mode 0600): ``$CORPUSQL_SECRETS`` when set, else
``$XDG_CONFIG_HOME/corpusql/secrets.json`` (``~/.config/corpusql/secrets.json``). A dataset without
a secret uses the client's own chain (``AWS_*`` environment variables, ``~/.aws`` profiles).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..errors import CatalogError

KINDS = {
    "s3": {"key", "secret", "token", "region", "profile", "endpoint_url"},
    "http": {"headers", "username", "password"},
    "mask": {"key"},  # the key of 'hash' column masks (see corpusql.catalog.masks)
}


#: Dataset options that carry no credential: they stay in ``corpusql.datasets.options``
#: (lineage_prefix names the lineage columns, see schemas.py).
PLAIN_OPTIONS = {"endpoint_url", "region", "anon", "lineage_prefix"}
#: The secret kind that holds the credential options of each remote scheme.
SCHEME_KINDS = {"s3": "s3", "http": "http", "https": "http"}
_CREDENTIALS = {"s3": KINDS["s3"] - PLAIN_OPTIONS, "http": KINDS["http"]}


class SecretError(CatalogError, ValueError):
    """A secret is missing, malformed or of the wrong kind."""


def store_path() -> Path:
    env = os.environ.get("CORPUSQL_SECRETS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "corpusql" / "secrets.json"


def _load() -> dict:
    path = store_path()
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _save(data: dict) -> None:
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def put(name: str, kind: str, values: dict) -> None:
    if kind not in KINDS:
        raise SecretError(f"secret {name}: kind {kind!r} is not one of {', '.join(sorted(KINDS))}")
    unknown = set(values) - KINDS[kind]
    if unknown:
        raise SecretError(f"secret {name}: unknown {kind} field(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(sorted(KINDS[kind]))}")
    data = _load()
    data[name] = {"kind": kind, **values}
    _save(data)


def split_options(scheme: str, options: dict) -> tuple[dict, dict]:
    """``options`` of a dataset on ``scheme`` as (plain options, credential values).

    Credential options (HTTP ``headers``, ``username``, ``password``; S3 ``key``, ``secret``,
    ``token``, ``profile``) belong in the secrets store; an option that is neither plain nor a
    credential of the scheme's kind is refused, since it could be either.
    """
    kind = SCHEME_KINDS.get(scheme)
    credentials = _CREDENTIALS.get(kind, set())
    plain, secret = {}, {}
    for key, value in options.items():
        if key in PLAIN_OPTIONS:
            plain[key] = value
        elif key in credentials:
            secret[key] = value
        else:
            allowed = sorted(PLAIN_OPTIONS | credentials)
            raise SecretError(f"option {key!r} is not one of {', '.join(allowed)} for "
                              f"{scheme}:// datasets")
    return plain, secret


def check_uri(scheme: str, uri: str) -> None:
    """Refuse a remote ``uri`` that carries a password (``https://user:pass@host/...``): the
    URI is stored in the catalog, which every role granted the dataset reads."""
    if scheme in SCHEME_KINDS:
        from urllib.parse import urlsplit

        parts = urlsplit(uri)
        if parts.password is not None:
            raise SecretError(f"{parts.scheme}://{parts.username}:***@{parts.hostname}...: "
                              "the URI carries a password; store it with corpusql secret add "
                              "and pass secret=...")


def get(name: str) -> dict:
    data = _load()
    if name not in data:
        raise SecretError(f"secret {name!r} has no values in {store_path()} "
                          f"(add it with corpusql secret add {name} ...)")
    return dict(data[name])


def delete(name: str) -> None:
    data = _load()
    if data.pop(name, None) is not None:
        _save(data)
