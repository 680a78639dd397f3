"""Remote sources: one fsspec filesystem per connection that DuckDB reads through.

DuckDB routes ``corpusql://<dataset>/<rest>`` paths to :class:`RouteFS`, registered with
``con.register_filesystem``. Each dataset has a *backend* (S3 through s3fs, HTTP through fsspec's
HTTP filesystem, a git revision through the ``git`` command) built lazily on first use, so the
credentials stay in memory and ``import corpusql`` stays fast.

DuckDB shares one file handle between its threads and positions it with ``seek`` before each
``read``; two threads interleaving ``seek``/``read`` on one fsspec handle read the wrong bytes. The
handle returned here keeps one underlying handle per thread, so every ``seek``/``read`` pair stays
on the thread that issued it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import logging
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from fsspec import AbstractFileSystem

from ..errors import CatalogError

log = logging.getLogger("corpusql.catalog")

PROTOCOL = "corpusql"
#: Bounded retries for transient remote errors (5xx, connection resets): attempts in total.
ATTEMPTS = 3
BACKOFF = 0.05


class RemoteError(CatalogError):
    """A remote source could not be listed or read after the bounded retries."""


def _status(exc: BaseException | None) -> int | None:
    """An HTTP status carried by ``exc`` or the exceptions it was raised from."""
    seen = 0
    while exc is not None and seen < 8:
        status = getattr(exc, "status", None) or getattr(exc, "code", None)
        if isinstance(status, int):
            return status
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if isinstance(code, int):
                return code
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _transient(exc: BaseException) -> bool:
    status = _status(exc)
    if status is not None:
        return status >= 500 or status == 429
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return False
    name = type(exc).__name__
    return name in {"ClientConnectionError", "ServerDisconnectedError", "ClientOSError",
                    "ConnectionResetError", "TimeoutError", "EndpointConnectionError",
                    "ReadTimeoutError", "ClientPayloadError"}


def retry(what: str, fn: Callable[[], Any], attempts: int = ATTEMPTS) -> Any:
    """Call ``fn``; retry transient failures at most ``attempts - 1`` times, then raise."""
    for i in range(attempts):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified below
            if not _transient(exc) or i == attempts - 1:
                if _transient(exc):
                    code = _status(exc)
                    http = f" (HTTP {code})" if code else ""
                    raise RemoteError(f"{what}: failed after {attempts} attempts{http}: "
                                      f"{type(exc).__name__}: {exc}") from exc
                raise
            log.debug("%s: transient error (%s), retry %d", what, type(exc).__name__, i + 1)
            time.sleep(BACKOFF * 2**i)
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# Backends: list, stat and open files of one source. Paths are full URIs (s3://b/k, https://h/p).


class Backend:
    scheme: str

    def list(self, pattern: str) -> list[dict]:
        """Files matching ``pattern``: dicts with path (full URI), size, etag."""
        raise NotImplementedError

    def info(self, path: str) -> dict:
        raise NotImplementedError

    def open(self, path: str, size: int | None = None):
        raise NotImplementedError

    def cat(self, path: str) -> bytes:
        with self.open(path) as f:
            return f.read()


def _etag(info: dict) -> str:
    """The change marker of a listed file: an ETag or version id when the store gives one,
    else its modification time, else only its size (then same-size edits are not seen)."""
    # what a changed object never keeps: its ETag (S3, HTTP), blob id (git), or version id
    for key in ("ETag", "etag", "sha", "checksum", "Digest", "Content-MD5", "VersionId",
                "version_id"):
        if info.get(key):
            return str(info[key]).strip('"')
    for key in ("LastModified", "mtime", "last_modified", "created"):
        if info.get(key) is not None:
            v = info[key]
            return v.isoformat() if hasattr(v, "isoformat") else str(v)
    return f"size:{info.get('size')}"


class FsspecBackend(Backend):
    """Any fsspec filesystem (local, s3fs, http)."""

    def __init__(self, scheme: str, fs: AbstractFileSystem) -> None:
        self.scheme = scheme
        self.fs = fs

    def _uri(self, p: str) -> str:
        if self.scheme in ("file", ""):
            return p
        if "://" in p:
            return p
        return f"{self.scheme}://{p}"

    def list(self, pattern: str) -> list[dict]:
        has_glob = any(c in pattern for c in "*?[")
        if has_glob:
            found = retry(f"list {pattern}", lambda: self.fs.glob(pattern, detail=True))
            items = found.items() if isinstance(found, dict) else ((p, None) for p in found)
        else:
            try:
                items = [(pattern, retry(f"stat {pattern}", lambda: self.fs.info(pattern)))]
            except FileNotFoundError:
                return []
        out = []
        for p, info in items:
            if info is None:
                info = retry(f"stat {p}", lambda p=p: self.fs.info(p))
            if info.get("type") == "directory":
                continue
            out.append({"path": self._uri(p), "size": info.get("size"), "etag": _etag(info)})
        out.sort(key=lambda d: d["path"])
        return out

    def info(self, path: str) -> dict:
        info = retry(f"stat {path}", lambda: self.fs.info(path))
        return {"path": path, "size": info.get("size"), "etag": _etag(info)}

    def open(self, path: str, size: int | None = None):
        kw = {"size": size} if size is not None and self.scheme in ("s3", "http", "https") else {}
        return retry(f"open {path}", lambda: self.fs.open(path, "rb", **kw))


class GitBackend(Backend):
    """Files of one git revision, read with the ``git`` command (no pygit2 needed)."""

    scheme = "git"

    def __init__(self, repo: str, rev: str) -> None:
        self.repo = repo
        self.rev = rev
        self._blobs: dict[str, tuple[str, int]] | None = None

    def _git(self, *args: str) -> bytes:
        r = subprocess.run(["git", "-C", self.repo, *args], capture_output=True, check=False)
        if r.returncode != 0:
            raise RemoteError(f"git {' '.join(args)} in {self.repo}: "
                              f"{r.stderr.decode(errors='replace').strip()}")
        return r.stdout

    def commit(self) -> str:
        return self._git("rev-parse", "--verify", f"{self.rev}^{{commit}}").decode().strip()

    def blobs(self) -> dict[str, tuple[str, int]]:
        if self._blobs is None:
            out = self._git("ls-tree", "-r", "-l", "-z", self.commit())
            blobs = {}
            for entry in out.split(b"\0"):
                if not entry:
                    continue
                meta, path = entry.split(b"\t", 1)
                _mode, kind, sha, size = meta.split()
                if kind == b"blob":
                    blobs[path.decode()] = (sha.decode(), int(size))
            self._blobs = blobs
        return self._blobs

    def uri(self, path: str) -> str:
        return f"git+file://{self.repo}@{self.rev}:{path}"

    def _path(self, uri: str) -> str:
        return uri.rsplit(":", 1)[1] if uri.startswith("git+") else uri

    def list(self, pattern: str) -> list[dict]:
        return [{"path": self.uri(p), "size": size, "etag": sha}
                for p, (sha, size) in sorted(self.blobs().items()) if fnmatch.fnmatch(p, pattern)]

    def info(self, path: str) -> dict:
        p = self._path(path)
        if p not in self.blobs():
            raise FileNotFoundError(f"{path}: not in {self.repo} at {self.rev}")
        sha, size = self.blobs()[p]
        return {"path": path, "size": size, "etag": sha}

    def open(self, path: str, size: int | None = None):
        sha, _ = self.blobs()[self._path(path)]
        return io.BytesIO(self._git("cat-file", "blob", sha))


# ---------------------------------------------------------------------------------------------
# The filesystem DuckDB sees.


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
