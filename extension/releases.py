"""Versioned releases: ``out/train/v0001/``, ``v0002/``, ... and a ``current`` pointer.

A versioned release's root holds one complete materialized output per version (each with its
own manifest, written and swapped into place as ``materialize`` does) and ``current``: a
symbolic link to the version readers get, moved atomically (a new link under a private name,
then ``rename`` over the old one). ``out/train/current`` reads as any release path
(``verify``, ``status``, loaders, ``read_parquet('out/train/current/*.parquet')``), and
:func:`resolve` turns a root into its current version for the functions of this package.

``keep`` versions are kept (``keep=``, else ``$CORPUSQL_KEEP_VERSIONS``, else 5); older ones
are deleted after a new version is published, never the one ``current`` points to. A writer
holds the root's lock (outputs_lock.py) from numbering to pointer move.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import faults, swap
from .errors import MaterializeError
from .release_paths import _VERSION, CURRENT, current, is_versioned, resolve, versions  # noqa: F401

DEFAULT_KEEP = 5


class ReleaseError(MaterializeError):
    """A release operation was refused; the message names the release and the knob."""


def keep_count(keep: int | None) -> int:
    if keep is None:
        env = os.environ.get("CORPUSQL_KEEP_VERSIONS")
        try:
            keep = int(env) if env else DEFAULT_KEEP
        except ValueError:
            raise ReleaseError(f"CORPUSQL_KEEP_VERSIONS={env!r} is not a whole number") from None
    if keep < 1:
        raise ReleaseError(f"keep = {keep}: at least 1 version (the current one) is kept")
    return keep


def set_current(root: Path, version: str) -> None:
    """Point ``root/current`` at ``version`` in one rename (readers see the old or the new)."""
    tmp = root / f".{CURRENT}.tmp-{swap.token()}"
    os.symlink(version, tmp)
    faults.point("releases:pointer-staged")
    os.replace(tmp, root / CURRENT)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean(root: Path) -> list[str]:
    """Remove what a killed writer left in ``root`` (call under the root's lock)."""
    said = []
    if not root.is_dir():
        return said
    for p in sorted(root.iterdir()):
        if p.name.startswith(f".{CURRENT}.tmp-"):
            p.unlink()
            said.append(f"recovered {root}: removed {p.name}, a pointer left by a killed writer")
        elif p.name.startswith(".v") and (".staging-" in p.name or ".old-" in p.name):
            shutil.rmtree(p, ignore_errors=True)
            said.append(f"recovered {root}: removed {p.name}, left by a killed writer")
    return said


def prune(root: Path, keep: int) -> list[str]:
    """Delete the oldest versions beyond ``keep``, never the current one; returns their names."""
    cur = current(root)
    old = [v for v in versions(root) if v != cur]
    drop = old[:max(0, len(old) - (keep - (1 if cur else 0)))]
    for v in drop:
        shutil.rmtree(root / v)
    return drop


def next_version(root: Path) -> str:
    have = versions(root)
    return f"v{(int(have[-1][1:]) + 1 if have else 1):04d}"


def materialize(con, query: str, out_dir, *, versioned: bool = False, keep: int | None = None,
                **options):
    """``corpusql.materialize``: :func:`corpusql.materializer.materialize` (same options), or with
    ``versioned=True`` a new version under ``out_dir`` keeping ``keep`` versions
    (:func:`materialize_versioned`)."""
    from . import materializer as m

    if versioned:
        return materialize_versioned(con, query, out_dir, keep=keep, **options)
    if keep is not None:
        raise ReleaseError(f"keep={keep} applies to versioned releases: add versioned=True")
    return m.materialize(con, query, out_dir, **options)


def _fill(m, con, query: str):
    """The DuckDB materializer's ``fill``: the query's rows into a staging directory."""
    def fill(staging: Path, plan: dict[str, Any]) -> None:
        m.parquet_copy.copy(con, query, staging, order_by=plan["order_by"],
                            partition_by=plan["partition_by"],
                            max_rows=plan["max_rows_per_file"], compression=plan["compression"])
    return fill


def materialize_versioned(con, query: str, out_dir, *, keep: int | None = None,
                          lock_timeout: float | None = None, public: bool = False,
                          force: bool = False, **options):
    """``materialize`` into a new version under ``out_dir`` (see the module docstring).

    Up to date (nothing written, status ``'up to date'``) when the current version's manifest
    matches this call and its files verify, as for an unversioned output.
    """
    from . import materializer as m

    query = query.strip().rstrip(";").strip()
    root = Path(out_dir).absolute()
    if public:
        from .public import refuse_public

        refuse_public(con, query, f"materialize to {root}")

    def make_plan() -> dict[str, Any]:
        plan = m._plan(con, query, **{k: options.get(k, d) for k, d in (
            ("order_by", "ALL"), ("partition_by", None), ("max_rows_per_file", None),
            ("compression", "zstd"), ("recipe", None), ("removal_log", None))})
        plan["compression"] = plan["compression"].lower()
        return plan

    return publish_version(root, make_plan, _fill(m, con, query),
                           lambda staging, target, files, p: m.takedown_apply.finish(
                               con, staging, target, files, p),
                           keep=keep, lock_timeout=lock_timeout, force=force)


def publish_version(root: Path, make_plan, fill, finish, *, keep: int | None = None,
                    lock_timeout: float | None = None, force: bool = False,
                    versions: dict[str, str] | None = None):
    """Under ``root``'s lock: a new version ``root/vNNNN/`` written by ``fill`` and ``finish``
    (as ``corpusql.materializer.guarded`` takes them), ``current`` moved to it, versions beyond
    ``keep`` pruned; ``'up to date'`` when the current version matches ``make_plan()`` and
    verifies. Shared by the DuckDB materializer and ``corpusql.spark.materialize``
    (``versions``: the engine's, for the manifest)."""
    from . import materializer as m
    from .output_diff import differences
    from .outputs_lock import LockBusy, OutputLock

    kept = keep_count(keep)
    if (root / m.MANIFEST).exists():
        raise ReleaseError(f"{root} holds an unversioned release; materialize versioned=True "
                           "into another directory, or move it to "
                           f"{root}/v0001 and run `corpusql releases rollback {root} v0001`")
    root.mkdir(parents=True, exist_ok=True)
    try:
        lock = OutputLock(root, m._lock_timeout(lock_timeout)).acquire()
    except LockBusy as exc:
        raise m.MaterializeError(str(exc)) from None
    try:
        recovered = swap.recover(root, m._complete) + clean(root)  # recover: a cut-short adopt
        plan = make_plan()
        cur = current(root)
        if cur and not force:
            old = m.read_manifest(root / cur)
            if not differences(old, plan) and not m._check(root / cur)[1]:
                return m.Result("up to date", root / cur, old, recovered)
        version = next_version(root)
        manifest = m._write(root / version, plan, fill, versions, finish)
        faults.point("releases:version-written")
        set_current(root, version)
        prune(root, kept)
    finally:
        lock.release()
    return m.Result("written", root / version, manifest, recovered)


def prepare(root: str | os.PathLike, versioned: bool) -> None:
    """Before a recipe run publishes to ``root``: an older unversioned output there becomes
    version v0001 (:func:`adopt`) when ``versioned``; a versioned release is never replaced by
    an unversioned run (refused, naming the knob). Call it before the recipe runs, so a
    refusal costs nothing."""
    from .materializer import MANIFEST

    r = Path(root)
    if versioned and (r / MANIFEST).is_file():
        adopt(r)
    elif not versioned and is_versioned(r):
        raise ReleaseError(f"{r} holds a versioned release (from a run without "
                           "--unversioned); run without --unversioned, or into another OUT_DIR")


def adopt(root: str | os.PathLike, *, lock_timeout: float | None = None) -> str:
    """Make the unversioned release at ``root`` its own first version: ``root/v0001/`` (the
    same files, hard-linked where the filesystem allows) with ``current`` pointing to it, put in
    place by the same staged swap ``materialize`` uses, so a reader (or a kill) sees the old
    layout or the new one. Returns the version name. Refuses a release that fails verify."""
    from . import materializer as m
    from .outputs_lock import LockBusy, OutputLock
    from .takedown_apply import _place

    r = Path(root).absolute()
    if is_versioned(r):
        raise ReleaseError(f"{r} is versioned already (current -> {current(r)})")
    try:
        lock = OutputLock(r, m._lock_timeout(lock_timeout)).acquire()
    except LockBusy as exc:
        raise ReleaseError(str(exc)) from None
    try:
        swap.recover(r, m._complete)
        if not (r / m.MANIFEST).is_file():
            raise ReleaseError(f"{r} holds no {m.MANIFEST}: not a corpusql output to adopt")
        problems = m._check(r)[1]
        if problems:
            raise ReleaseError(f"{r} fails verify ({problems[0]}); repair it (materialize "
                               "again) before making it versioned")
        tok = swap.token()
        staging = swap.staging_path(r, tok)
        try:
            first = staging / "v0001"
            first.mkdir(parents=True)
            for p in sorted(r.rglob("*")):
                if p.is_file():
                    _place(p, first / p.relative_to(r))
            os.symlink("v0001", staging / CURRENT)
            swap.publish(staging, r, tok)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    finally:
        lock.release()
    return "v0001"


@dataclass
class Version:
    """One version of a release: name, directory, rows, when written, current or not."""

    version: str
    path: Path
    rows: int | None
    created: float
    current: bool
    takedowns: int


def list_versions(root: str | os.PathLike) -> list[Version]:
    """The versions of the release at ``root``, oldest first."""
    r = Path(root)
    if not r.is_dir():
        raise ReleaseError(f"{r}: no such release directory")
    cur = current(r)
    out = []
    for v in versions(r):
        try:
            man: dict[str, Any] = json.loads((r / v / "_manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            man = {}
        out.append(Version(v, r / v, man.get("total_rows"), (r / v).stat().st_mtime,
                           v == cur, len(man.get("takedowns") or [])))
    return out


def rollback(root: str | os.PathLike, version: str | None = None) -> str:
    """Point ``current`` at ``version`` (default: the version before the current one) after
    checking its files against its manifest; returns the version now current."""
    from .materializer import _check
    from .outputs_lock import LockBusy, OutputLock

    r = Path(root).absolute()
    have = versions(r)
    cur = current(r)
    if not have or cur is None:
        raise ReleaseError(f"{r} is not a versioned release (no {CURRENT} pointer)")
    if version is None:
        older = [v for v in have if int(v[1:]) < int(cur[1:])]
        if not older:
            raise ReleaseError(f"{r}: {cur} is the oldest version kept; nothing to roll back "
                               "to (raise keep / CORPUSQL_KEEP_VERSIONS to keep more)")
        version = older[-1]
    if version not in have:
        raise ReleaseError(f"{r}: no version {version!r}; versions kept: {', '.join(have)}")
    problems = _check(r / version)[1]
    if problems:
        raise ReleaseError(f"{r / version} fails verify ({problems[0]}); not rolled back")
    try:
        lock = OutputLock(r, 0.0).acquire()
    except LockBusy as exc:
        raise ReleaseError(str(exc)) from None
    try:
        set_current(r, version)
    finally:
        lock.release()
    return version
