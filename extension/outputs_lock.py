"""One writer per output directory: an exclusive lock file beside the target.

The lock of ``parent/out`` is the file ``parent/.out.lock``, held with ``fcntl.flock`` (the
kernel releases it when the holding process exits, however it dies) and holding the holder's
pid and thread for messages. ``flock`` locks belong to an open file, so two threads of one
process exclude each other too. The file is removed on release; a file left by a dead process
is taken over (its lock went with the process).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from .errors import MaterializeError

POLL_SECONDS = 0.05


class LockBusy(MaterializeError):
    """Another process or thread is materializing the same target."""


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError):
        return "unknown"


class OutputLock:
    """The exclusive lock of one target; ``with OutputLock(target, timeout):``."""

    def __init__(self, target: Path, timeout: float = 0.0) -> None:
        self.target = target
        self.path = lock_path(target)
        self.timeout = timeout
        self.fd: int | None = None
        self.stale: str | None = None  # pid in a lock file whose holder had died

    def _try(self) -> bool:
        """Take the lock once; False when someone else holds it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            try:  # the holder before us may have removed the file we opened: start again
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return True
            os.close(fd)

    def acquire(self) -> OutputLock:
        deadline = time.monotonic() + max(0.0, self.timeout)
        while not self._try():
            if time.monotonic() >= deadline:
                raise LockBusy(
                    f"{self.target} is being materialized by pid {_holder(self.path)} "
                    f"(lock file {self.path}); wait for it to finish or pass lock_timeout="
                    "SECONDS (--lock-timeout, CORPUSQL_LOCK_TIMEOUT) to wait for it")
            time.sleep(POLL_SECONDS)
        assert self.fd is not None
        before = os.pread(self.fd, 64, 0).decode(errors="replace").split()
        self.stale = before[0] if before else None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()} {threading.get_ident()}\n".encode(), 0)
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self.fd)  # closing drops the flock
        self.fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def try_lock(target: Path) -> OutputLock | None:
    """The target's lock if nobody holds it now, else None (never waits)."""
    lock = OutputLock(target, 0.0)
    try:
        return lock.acquire()
    except LockBusy:
        return None


def holder(target: Path) -> str:
    """Pid written in the target's lock file ('unknown' when unreadable)."""
    return _holder(lock_path(target))
