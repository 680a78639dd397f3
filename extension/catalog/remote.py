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
import io
import logging
import subprocess
import time
from collections.abc import Callable
from typing import Any

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










