"""The filesystem that routes DuckDB's reads of a catalog view to its source:
``corpusql://<dataset>/<path>`` URLs, served by the dataset's backend (local, fsspec or git),
one file handle per reading thread.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from fsspec import AbstractFileSystem

from .remote import PROTOCOL, Backend, retry


class PerThreadFile(io.RawIOBase):
    """A read handle that keeps one underlying handle per thread (see the module docstring)."""

    def __init__(self, opener: Callable[[], Any]) -> None:
        super().__init__()
        self._opener = opener
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _h(self):
        h = getattr(self._local, "h", None)
        if h is None:
            h = self._opener()
            self._local.h = h
            with self._lock:
                self._all.append(h)
        return h

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._h().seek(offset, whence)

    def tell(self) -> int:
        return self._h().tell()

    def _reopen(self, pos: int) -> None:
        old = getattr(self._local, "h", None)
        self._local.h = None
        if old is not None:
            with self._lock:
                self._all = [h for h in self._all if h is not old]
            try:
                old.close()
            except Exception:  # noqa: BLE001 - the handle already failed
                pass
        self._h().seek(pos)

    def read(self, size: int = -1) -> bytes:
        pos = self._h().tell()

        def attempt() -> bytes:
            try:
                return self._h().read(size)
            except Exception:
                self._reopen(pos)  # a fresh handle at the same place for the next attempt
                raise

        return retry("read", attempt)

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        with self._lock:
            handles, self._all = self._all, []
        for h in handles:
            try:
                h.close()
            except Exception:  # noqa: BLE001 - closing a read handle
                pass
        super().close()


class RouteFS(AbstractFileSystem):
    """``corpusql://<dataset>/<scheme>/<rest>`` -> the dataset's backend, one handle per thread."""

    protocol = PROTOCOL
    cachable = False

    def __init__(self, resolver: Callable[[str], Backend], **kw: Any) -> None:
        super().__init__(**kw)
        self._resolver = resolver
        self._infos: dict[str, dict] = {}

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if path.startswith(PROTOCOL + "://"):
            path = path[len(PROTOCOL) + 3:]
        return path.rstrip("/")

    def _split(self, path: str) -> tuple[Backend, str]:
        path = self._strip_protocol(path)
        dataset, _, rest = path.partition("/")
        return self._resolver(unquote(dataset)), real_uri(rest)

    def info(self, path, **kw):
        path = self._strip_protocol(path)
        hit = self._infos.get(path)
        if hit is None:
            backend, uri = self._split(path)
            i = backend.info(uri)
            hit = {"name": path, "size": i["size"], "type": "file", "etag": i["etag"]}
            self._infos[path] = hit
        return dict(hit)

    def ls(self, path, detail=True, **kw):
        i = self.info(path)
        return [i] if detail else [i["name"]]

    def glob(self, path, **kw):
        # Views name every file explicitly; a "glob" here is one exact path.
        try:
            self.info(path)
        except FileNotFoundError:
            return {} if kw.get("detail") else []
        p = self._strip_protocol(path)
        return {p: self.info(p)} if kw.get("detail") else [PROTOCOL + "://" + p]

    def exists(self, path, **kw):
        try:
            self.info(path)
            return True
        except FileNotFoundError:
            return False

    def modified(self, path):
        # DuckDB keys its file caches on this: derive it from the ETag, so that a changed
        # object (new ETag after sync) never matches bytes cached for the old one.
        etag = str(self.info(path).get("etag"))
        seconds = int(hashlib.sha1(etag.encode()).hexdigest()[:8], 16)
        return datetime(2001, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)

    def _open(self, path, mode="rb", **kw):
        if "r" not in mode:
            raise PermissionError(f"{path}: corpusql remote sources are read-only")
        backend, uri = self._split(path)
        size = self.info(path)["size"]
        return PerThreadFile(lambda: backend.open(uri, size))


def route_path(dataset: str, uri: str) -> str:
    """The path DuckDB reads ``uri`` of ``dataset`` through: corpusql://dataset/scheme/rest."""
    scheme, _, rest = uri.partition("://")
    return f"{PROTOCOL}://{dataset}/{scheme}/{rest}"


def real_uri(rest: str) -> str:
    """Inverse of :func:`route_path` after the dataset part."""
    scheme, _, tail = rest.partition("/")
    return f"{scheme}://{tail}"


def route_sql(column: str, dataset: str) -> str:
    """SQL turning a routed path column back into the source URI."""
    prefix = f"{PROTOCOL}://{dataset}/"
    n = len(prefix) + 1
    return (f"CASE WHEN starts_with({column}, '{prefix}') "
            f"THEN regexp_replace({column}[{n}:], '^([^/]+)/', '\\1://') ELSE {column} END")
