"""The per-thread handle wrapper: concurrent seek/read pairs on one shared handle stay correct."""

from __future__ import annotations

import random
import threading
import uuid

from fsspec.implementations.http import HTTPFileSystem
from fsspec.implementations.local import LocalFileSystem

from corpusql.catalog.remote import FsspecBackend
from corpusql.catalog.routefs import RouteFS, route_path


def _hammer(fs, path, data, threads=8, reads=150):
    handle = fs.open(path)  # one handle shared by every thread, as DuckDB does
    errors = []

    def work(seed):
        rnd = random.Random(seed)
        for _ in range(reads):
            start = rnd.randrange(len(data))
            n = rnd.randrange(1, 4096)
            handle.seek(start)
            if handle.read(n) != data[start:start + n]:
                errors.append((start, n))

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    opened = len(handle._all)
    handle.close()
    return errors, opened


def test_shared_handle_over_http_reads_right_bytes(http_server, http_root):
    name = f"t{uuid.uuid4().hex[:8]}.bin"
    data = random.Random(1).randbytes(300_000)
    (http_root / name).write_bytes(data)
    http = HTTPFileSystem(skip_instance_cache=True)
    fs = RouteFS(lambda dataset: FsspecBackend("http", http))
    path = route_path("ds", f"{http_server.url}/{name}")
    assert fs.info(path)["size"] == len(data)
    errors, opened = _hammer(fs, path, data)
    assert errors == []
    assert opened == 8  # one underlying handle per thread


def test_shared_handle_over_local_files(tmp_path):
    data = random.Random(2).randbytes(200_000)
    (tmp_path / "x.bin").write_bytes(data)
    backend = FsspecBackend("file", LocalFileSystem())
    backend.scheme = "local"  # route it like a remote scheme
    fs = RouteFS(lambda dataset: _Local(backend))
    errors, opened = _hammer(fs, route_path("ds", f"local://{tmp_path}/x.bin"), data)
    assert errors == [] and opened == 8


class _Local:
    """Maps local://<abs path> back to the file system path."""

    def __init__(self, backend):
        self.b = backend

    def info(self, uri):
        return self.b.info(uri[len("local://"):])

    def open(self, uri, size=None):
        return self.b.fs.open(uri[len("local://"):], "rb")


class _Flaky:
    """A backend whose every other handle fails its first read with a 503."""

    def __init__(self, data):
        self.data = data
        self.opened = 0

    def info(self, uri):
        return {"path": uri, "size": len(self.data), "etag": "x"}

    def open(self, uri, size=None):
        import io

        self.opened += 1
        flaky = self.opened % 2 == 1
        data = self.data

        class Handle(io.BytesIO):
            def read(self, n=-1):
                nonlocal flaky
                if flaky:
                    flaky = False
                    err = OSError("service unavailable")
                    err.status = 503
                    raise err
                return super().read(n)

        return Handle(data)


def test_transient_read_errors_are_retried_at_the_same_offset():
    data = bytes(range(256)) * 100
    backend = _Flaky(data)
    fs = RouteFS(lambda dataset: backend)
    with fs.open(route_path("ds", "https://h/x")) as f:
        f.seek(1000)
        assert f.read(500) == data[1000:1500]
    assert backend.opened == 2
