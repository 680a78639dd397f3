"""What is already at a materialization's target, and how it differs from this call.

``existing`` tells a corpusql output (a readable manifest) from anything else, which corpusql
never replaces; ``differences`` says in short phrases what differs between an output's manifest
and the plan of a new call (query, options, functions, inputs, datasets, models).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import MaterializeError

MANIFEST = "_manifest.json"


class Foreign(MaterializeError, ValueError):
    """The target holds something corpusql did not write (message says what)."""


def _read(target: Path) -> Any:
    with open(target / MANIFEST, encoding="utf-8") as f:
        return json.load(f)


def some(names: list[str], n: int = 5) -> str:
    """``a, b, c (and 4 more)``: a short list for one-line messages."""
    more = f" (and {len(names) - n} more)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def existing(target: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The manifest of the corpusql output at ``target`` and the files it does not list.

    ``(None, [])`` when there is nothing at ``target`` or an empty directory. Anything else
    corpusql cannot prove it wrote raises Foreign: it is never replaced.
    """
    if not os.path.lexists(target):
        return None, []
    keep = "corpusql never replaces what it did not write: empty it or choose another OUT_DIR"
    if target.is_symlink() or not target.is_dir():
        raise Foreign(f"{target} is a {'symbolic link' if target.is_symlink() else 'file'}"
                               f", not a directory corpusql wrote; {keep}")
    entries = sorted(os.listdir(target))
    if not entries:
        return None, []
    try:
        manifest = _read(target)
    except FileNotFoundError:
        raise Foreign(
            f"{target} holds {len(entries)} entries ({some(entries)}) and no {MANIFEST}, so "
            f"corpusql did not write it; {keep}") from None
    except (OSError, ValueError) as exc:
        raise Foreign(f"{target / MANIFEST} is unreadable ({exc}), so corpusql cannot "
                               f"tell what it wrote there; {keep}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise Foreign(f"{target / MANIFEST} is not a corpusql manifest (no 'files' "
                               f"list); {keep}")
    listed = {f.get("path") for f in manifest["files"] if isinstance(f, dict)} | {MANIFEST}
    listed |= {f.get("path") for f in (manifest.get("index") or {}).values()}
    extra = sorted(p.relative_to(target).as_posix() for p in target.rglob("*")
                   if not p.is_dir() and p.relative_to(target).as_posix() not in listed)
    return manifest, extra


def _dict_changes(what: str, old: dict, new: dict) -> str | None:
    changed = [f"{k} ({'new' if k not in old else 'gone' if k not in new else 'changed'})"
               for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return f"{what} differ: {some(changed, 3)}" if changed else None


def _input_changes(old: list, new: list) -> str | None:
    before = {i.get("path"): i for i in old if isinstance(i, dict)}
    after = {i["path"]: i for i in new}
    changed = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path), after.get(path)
        if a == b:
            continue
        if a is None or b is None:
            changed.append(f"{path} ({'new' if a is None else 'no longer read'})")
            continue
        keys = [k for k in sorted(set(a) | set(b)) if k != "path" and a.get(k) != b.get(k)]
        changed.append(f"{path} ({', '.join(keys)} changed)")
    return f"inputs differ: {some(changed, 3)}" if changed else None


def differences(old: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    """What differs between an existing output's manifest and this call, one phrase each."""
    said = []
    for key, new in plan.items():
        was = old.get(key)
        if was == new:
            continue
        if key == "query":
            said.append("the query differs")
        elif key == "functions":
            said.append(_dict_changes("functions", was or {}, new) or "functions differ")
        elif key == "models":
            said.append(_dict_changes("models", was or {}, new) or "models differ")
        elif key == "inputs":
            said.append(_input_changes(was or [], new) or "inputs differ")
        elif key == "datasets":
            said.extend(_dataset_changes(was or {}, new))
        elif key in ("tables", "inputs_complete", "unversioned_inputs"):
            continue  # said below, whether or not they changed
        else:
            said.append(f"{key} differs ({was!r} then, {new!r} now)")
    if plan["tables"]:
        said.append(f"it reads tables ({', '.join(plan['tables'])}), which have no version, so "
                    "it is always rewritten")
    if plan.get("unversioned_inputs"):
        said.append(f"it reads {some(plan['unversioned_inputs'], 2)} directly, with no recorded "
                    "version (register it as a catalog dataset), so it is always rewritten")
    return said


def _dataset_changes(old: dict, new: dict) -> list[str]:
    said = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        if a is None or b is None:
            said.append(f"dataset {name} is {'new' if a is None else 'no longer read'}")
            continue
        parts = [f"{k} changed" for k in ("uri", "revision") if a.get(k) != b.get(k)]
        if a.get("licence") != b.get("licence"):  # corpusql.licences
            was, now = (a.get("licence") or {}), (b.get("licence") or {})
            parts.append("licence fields not recorded then (an older corpusql)" if not was else
                         "licence changed (" + ", ".join(
                             f"{k} {was.get(k)!r} then, {now.get(k)!r} now"
                             for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k))
                         + ")")
        files = _input_changes(a.get("files") or [], b.get("files") or [])
        if files:
            parts.append(files.replace("inputs differ: ", "files "))
        said.append(f"dataset {name} differs: {'; '.join(parts) or 'its record changed'}")
    return said
