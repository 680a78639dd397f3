"""Putting a finished staging directory at its target, and recovering a swap cut short.

Hidden names beside target ``parent/out``, each with the writer's token
(``<pid>-<thread>-<random>``, unique per call):

- ``.out.staging-<token>``: the new output being written; after an exchange, the old one;
- ``.out.old-<token>``: the previous output, moved aside by the two-rename fallback.

``publish`` exchanges staging and target in one ``renameat2(RENAME_EXCHANGE)`` call on Linux, so
the target never goes missing, then removes the old copy. Where that call is unavailable (or
``CORPUSQL_RENAMEAT2=0``) it renames the target aside and the staging directory into place:
a kill between those two renames leaves no target, which ``recover`` repairs.

``recover`` runs only under the target's lock (outputs_lock.py), so every hidden directory it
finds belongs to a writer that is gone. With a target in place it removes them; with none, a
complete staging directory whose old copy exists means the kill came between the two renames:
it finishes that swap; an old copy alone is put back. It returns one sentence per action.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import threading
import uuid
from pathlib import Path

from . import faults

MANIFEST = "_manifest.json"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def token() -> str:
    """A name part unique to this call: pid, thread and 8 random hex digits."""
    return f"{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}"


def staging_path(target: Path, tok: str) -> Path:
    return target.parent / f".{target.name}.staging-{tok}"


def old_path(target: Path, tok: str) -> Path:
    return target.parent / f".{target.name}.old-{tok}"


def _exchange_fn():
    if sys.platform != "linux" or os.environ.get("CORPUSQL_RENAMEAT2", "1") == "0":
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None  # glibc older than 2.28 or another libc
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` atomically; False when the system cannot."""
    fn = _exchange_fn()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # kernel or filesystem without RENAME_EXCHANGE
    raise OSError(err, f"renameat2(RENAME_EXCHANGE) {a} <-> {b}: {os.strerror(err)}")


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    """Delete a hidden directory of ours (fault point after its first file is gone)."""
    first = next((p for p in sorted(path.rglob("*")) if p.is_file()), None)
    if first is not None:
        first.unlink()
    faults.point("swap:removing-old")
    shutil.rmtree(path)


def publish(staging: Path, target: Path, tok: str) -> None:
    """Put ``staging`` at ``target``; the previous output is removed only once the new is there."""
    faults.point("swap:staged")
    if not os.path.lexists(target):
        os.rename(staging, target)
        _sync_dir(target.parent)
        return
    if exchange(staging, target):
        _sync_dir(target.parent)
        faults.point("swap:exchanged")
        _remove(staging)  # now holds the previous output
        return
    old = old_path(target, tok)
    os.rename(target, old)
    faults.point("swap:renamed-old")
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)  # put the previous output back
        raise
    _sync_dir(target.parent)
    faults.point("swap:renamed-new")
    _remove(old)


def leftovers(target: Path) -> dict[str, dict[str, Path]]:
    """Hidden directories of ``target``: {'staging': {token: path}, 'old': {token: path}}."""
    found: dict[str, dict[str, Path]] = {"staging": {}, "old": {}}
    if not target.parent.is_dir():
        return found
    prefix = f".{target.name}."
    for p in target.parent.iterdir():
        if not p.name.startswith(prefix):
            continue
        kind, _, tok = p.name[len(prefix):].partition("-")
        if kind in found and tok and p.is_dir():
            found[kind][tok] = p
    return found


def _pid(tok: str) -> str:
    return tok.split("-", 1)[0]


def recover(target: Path, complete) -> list[str]:
    """Repair what an interrupted writer left beside ``target`` (call under its lock).

    ``complete(path)`` says whether a staging directory holds a finished output (manifest
    written and every file matching it).
    """
    found = leftovers(target)
    said: list[str] = []
    if not os.path.lexists(target) and found["old"]:
        # newest old copy first: the swap that was cut short last
        tok, old = max(found["old"].items(), key=lambda kv: kv[1].stat().st_mtime_ns)
        new = found["staging"].get(tok)
        if new is not None and complete(new):
            os.rename(new, target)
            del found["staging"][tok]
            shutil.rmtree(old, ignore_errors=True)
            said.append(f"recovered {target}: finished the swap that pid {_pid(tok)} was killed "
                        f"in (moved {new.name} into place, removed the previous output "
                        f"{old.name})")
        else:
            os.rename(old, target)
            said.append(f"recovered {target}: restored the previous output from {old.name} "
                        f"(pid {_pid(tok)} was killed while replacing it)")
        del found["old"][tok]
        _sync_dir(target.parent)
    for kind in ("staging", "old"):
        for tok, path in sorted(found[kind].items()):
            shutil.rmtree(path, ignore_errors=True)
            what = "staging directory" if kind == "staging" else "copy of a previous output"
            said.append(f"recovered {target}: removed {path.name}, a {what} left by pid "
                        f"{_pid(tok)}, which is no longer running")
    return said
