"""Catalog test helpers: data writers and real services on 127.0.0.1 (Range/ETag HTTP, moto S3)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RangeServer:
    """Serves ``root`` with Range requests (206), ETags and HEAD.

    Paths under ``/fail500/`` always answer 500; ``hits`` counts requests per path.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _serve(self, body: bool) -> None:
                server.hits[self.path] += 1
                if self.path.startswith("/fail500/"):
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path = server.root / self.path.lstrip("/").split("?")[0]
                if not path.is_file():
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = path.read_bytes()
                etag = '"' + hashlib.md5(data).hexdigest() + '"'
                rng = self.headers.get("Range")
                start, end = 0, len(data) - 1
                status = 200
                if rng and rng.startswith("bytes="):
                    a, _, b = rng[6:].partition("-")
                    if a == "":
                        start = max(0, len(data) - int(b))
                    else:
                        start = int(a)
                        end = min(int(b), len(data) - 1) if b else len(data) - 1
                    if start >= len(data) and len(data) > 0:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                chunk = data[start:end + 1]
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(chunk)))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("ETag", etag)
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                self.end_headers()
                if body:
                    self.wfile.write(chunk)

            def do_GET(self) -> None:
                self._serve(True)

            def do_HEAD(self) -> None:
                self._serve(False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> RangeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class MotoServer:
    """moto's S3 in server mode, in a child process, with authentication switched on.

    The first ``free_actions`` requests are unauthenticated (enough to create an IAM user with
    an access key and a policy); after that every request must be signed with a known key.
    """

    free_actions = 3

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> MotoServer:
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(self.free_actions))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("moto server exited at start") from None
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto server did not start within 60 s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None


def write_parquet(path, n: int, start: int = 0, row_group_size: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = pa.table({"id": list(range(start, start + n)),
                  "text": [f"document {i} " + "word " * (i % 7) for i in range(start, start + n)]})
    pq.write_table(t, path, row_group_size=row_group_size)


def write_jsonl(path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
