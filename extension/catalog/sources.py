"""Dataset URIs -> backends, and the per-connection filesystem registration."""

from __future__ import annotations

import base64
import os
import threading
import weakref
from dataclasses import dataclass, field

import duckdb

from ..errors import CatalogError
from . import secrets
from .remote import Backend, FsspecBackend, GitBackend
from .routefs import RouteFS


class SourceError(CatalogError, ValueError):
    """A dataset URI cannot be understood."""


@dataclass
class Source:
    """How to reach one dataset's files."""

    uri: str
    options: dict = field(default_factory=dict)
    secret: str | None = None

    @property
    def scheme(self) -> str:
        if self.uri.startswith("git+"):
            return "git"
        if "://" in self.uri and not self.uri.startswith("file://"):
            return self.uri.split("://", 1)[0]
        return "file"

    @property
    def remote(self) -> bool:
        """Read by DuckDB through the registered filesystem (local and git files are not)."""
        return self.scheme in ("s3", "http", "https")

    def pattern(self) -> str:
        if self.scheme == "file":
            p = self.uri[len("file://"):] if self.uri.startswith("file://") else self.uri
            return os.path.abspath(os.path.expanduser(p))
        if self.scheme == "git":
            return _git_parts(self.uri)[2]
        return self.uri

    def check(self) -> None:
        """Raise SourceError for a URI no backend understands (before anything is recorded)."""
        if self.scheme == "git":
            _git_parts(self.uri)
        elif self.scheme not in ("file", "s3", "http", "https"):
            raise SourceError(f"{self.uri}: unsupported scheme {self.scheme}://; use a local path "
                              "or glob, s3://, http(s):// or git+file://repo@rev:glob")

    def backend(self) -> Backend:
        self.check()
        scheme = self.scheme
        if scheme == "file":
            from fsspec.implementations.local import LocalFileSystem

            return FsspecBackend("file", LocalFileSystem())
        if scheme == "git":
            repo, rev, _ = _git_parts(self.uri)
            return GitBackend(repo, rev)
        values = secrets.get(self.secret) if self.secret else {}
        if values and values.get("kind") not in (None, "s3" if scheme == "s3" else "http"):
            raise SourceError(f"secret {self.secret!r} is of kind {values.get('kind')!r}, "
                              f"not usable for {scheme}://")
        if scheme == "s3":
            return FsspecBackend("s3", _s3(self.options, values))
        if scheme in ("http", "https"):
            from fsspec.implementations.http import HTTPFileSystem

            headers = dict(self.options.get("headers", {}))
            headers.update(values.get("headers", {}))
            if values.get("username"):  # RFC 7617 Basic credentials, as aiohttp would send them
                pair = f"{values['username']}:{values.get('password', '')}".encode()
                headers.setdefault("Authorization", "Basic " + base64.b64encode(pair).decode())
            kw: dict = {"headers": headers}
            return FsspecBackend(scheme, HTTPFileSystem(client_kwargs=kw, skip_instance_cache=True))
        raise SourceError(f"{self.uri}: unsupported scheme {scheme}://; use a local path or glob, "
                          "s3://, http(s):// or git+file://repo@rev:glob")


def _git_parts(uri: str) -> tuple[str, str, str]:
    rest = uri[len("git+file://"):] if uri.startswith("git+file://") else None
    if rest is None or "@" not in rest or ":" not in rest.rsplit("@", 1)[1]:
        raise SourceError(f"{uri}: expected git+file:///path/to/repo@rev:path/glob")
    repo, tail = rest.rsplit("@", 1)
    rev, path = tail.split(":", 1)
    return repo, rev, path


def _s3(options: dict, values: dict):
    try:
        import s3fs
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("s3:// datasets need s3fs: pip install s3fs") from exc
    kw: dict = {"skip_instance_cache": True,
                "config_kwargs": {"retries": {"max_attempts": 2, "mode": "standard"},
                                  "connect_timeout": 5, "read_timeout": 60}}
    endpoint = values.get("endpoint_url") or options.get("endpoint_url")
    if endpoint:
        kw["endpoint_url"] = endpoint
    region = values.get("region") or options.get("region")
    if region:
        kw["client_kwargs"] = {"region_name": region}
    if options.get("anon"):
        kw["anon"] = True
    if values.get("profile"):
        kw["profile"] = values["profile"]
    if values.get("key"):
        kw["key"] = values["key"]
        kw["secret"] = values.get("secret")
        if values.get("token"):
            kw["token"] = values["token"]
    fs = s3fs.S3FileSystem(**kw)
    fs.retries = 2  # s3fs's own retry loop (a class attribute); botocore's is bounded above
    return fs


# ---------------------------------------------------------------------------------------------
# One RouteFS per connection, holding the remote datasets' sources.


class Routes:
    def __init__(self) -> None:
        self.sources: dict[str, Source] = {}
        self.backends: dict[str, Backend] = {}
        self.lock = threading.Lock()
        self.fs = RouteFS(self.resolve)

    def set(self, name: str, source: Source) -> None:
        with self.lock:
            self.sources[name] = source
            self.backends.pop(name, None)
            self.fs._infos = {k: v for k, v in self.fs._infos.items()
                              if not k.startswith(name + "/")}

    def put(self, name: str, source: Source, backend: Backend) -> None:
        """Route ``name`` to a ready-made backend (role connections use a restricted one)."""
        self.set(name, source)
        with self.lock:
            self.backends[name] = backend

    def drop(self, name: str) -> None:
        with self.lock:
            self.sources.pop(name, None)
            self.backends.pop(name, None)

    def resolve(self, name: str) -> Backend:
        with self.lock:
            b = self.backends.get(name)
            if b is None:
                src = self.sources.get(name)
                if src is None:
                    raise FileNotFoundError(f"dataset {name!r} is not in this connection's catalog")
                b = self.backends[name] = src.backend()
            return b


_ROUTES: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, Routes] = (
    weakref.WeakKeyDictionary()
)


def routes(con: duckdb.DuckDBPyConnection) -> Routes:
    """The connection's routes, registering the filesystem on first use."""
    r = _ROUTES.get(con)
    if r is None:
        r = Routes()
        con.register_filesystem(r.fs)
        _ROUTES[con] = r
    return r
