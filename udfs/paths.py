"""Which files a kernel may open: a policy the engine binding sets around each call.

Kernels that open a user-given path (a model, a tokenizer) call :func:`check` just before
opening it. With no policy in force (the normal case) that is a no-op. An engine binding that
must confine a connection (corpusql's role connections) wraps each kernel call in
``with enforce(guard):``; the policy lives in a context variable, so it applies to the thread
running that call and to nothing else. Files shipped in the package's ``data`` directory (the
default tokenizer, the bundled models: ``corpusql/udfs/data``) are always allowed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import resources


def bundled_file(name: str) -> str:
    """Path of a file shipped with the kernels in ``corpusql/udfs/data`` (models, tokenizer)."""
    return str(resources.files("corpusql.udfs").joinpath("data", name)) if name else \
        str(resources.files("corpusql.udfs").joinpath("data"))


class PathGuard:
    """Allowed files and directories (compared by real path, so ``..`` and symlinks resolve)."""

    def __init__(self, allowed: Iterable[str], owner: str = "this connection") -> None:
        bundled = bundled_file("")
        self.allowed = tuple(sorted({os.path.realpath(p) for p in allowed}
                                    | {os.path.realpath(bundled)}))
        self.owner = owner

    def allows(self, path: str) -> bool:
        real = os.path.realpath(os.path.expanduser(path))
        return any(real == a or real.startswith(a.rstrip(os.sep) + os.sep) for a in self.allowed)

    def check(self, path: str, function: str, what: str = "file") -> None:
        if not self.allows(path):
            raise PermissionError(
                f"{function}: {what} file {path!r} is outside the paths allowed for {self.owner} "
                f"(allowed: {', '.join(self.allowed)})")


_GUARD: ContextVar[PathGuard | None] = ContextVar("corpusql_path_guard", default=None)


def check(path: str, function: str, what: str = "file") -> None:
    """Raise PermissionError when a policy is in force and ``path`` is outside it."""
    guard = _GUARD.get()
    if guard is not None:
        guard.check(path, function, what)


@contextmanager
def enforce(guard: PathGuard | None) -> Iterator[None]:
    """Apply ``guard`` to kernel calls made inside the block (on this thread)."""
    token = _GUARD.set(guard)
    try:
        yield
    finally:
        _GUARD.reset(token)
