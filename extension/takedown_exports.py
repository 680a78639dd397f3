"""Token exports named in a takedown: exported again when they read a changed release.

Token ids cannot be searched for a document, so an export is judged by the releases its query
reads (file literals): one that reads, through ``current`` or an unversioned release's path, a
release in which the takedown found documents is exported again with the parameters its
manifest records; one that reads a version directory directly is reported and left alone.
"""

from __future__ import annotations

import json
from pathlib import Path


def is_export(root: Path) -> bool:
    try:
        with open(root / "_manifest.json", encoding="utf-8") as f:
            return json.load(f).get("kind") == "token_export"
    except (OSError, ValueError):
        return False


def export_again(con, root: Path, hit: list[Path], dry_run: bool) -> tuple[int, str]:
    """``(documents it lost, action)`` for the token export at ``root``; ``hit`` are the
    releases in which the takedown found documents (see the module docstring)."""
    from .export_tokens import ExportError, export_tokens
    from .materializer import read_manifest
    from .release_paths import _VERSION
    from .sqlparse import reads as sql_reads

    man = read_manifest(root)
    reads = [Path(p).absolute() for p in sql_reads(man.get("query", "")).files]
    mine = [(r, p) for r in hit for p in reads if p.is_relative_to(r)]
    if not mine:
        return (0, "no match (reads none of the releases changed)")
    for r, p in mine:
        part = p.relative_to(r).parts[0] if p != r else ""
        if _VERSION.match(part):
            return (0, f"skipped: its query reads {r / part} directly, not "
                    f"{r / 'current'}; change the query and export it again")
    before = int(man.get("total_documents", 0))
    if dry_run:
        return (0, "would export again")
    dtype = man.get("dtype") if man.get("dtype") in ("uint16", "uint32") else "auto"
    try:
        res = export_tokens(
            con, man["query"], root, tokenizer=man["tokenizer"]["path"], format=man["format"],
            eos=man.get("eos", True), shuffle_seed=man.get("shuffle_seed"),
            shard_tokens=man["shard_tokens"], text_col=man.get("text_col", "text"),
            by=man.get("by"), order_by=man.get("order_by", "ALL"), dtype=dtype,
            seq_len=man.get("seq_len", 2048), pack=man.get("pack", "split"), overwrite=True,
            recipe=man.get("recipe"))
    except ExportError as exc:
        return (0, f"skipped: exporting again failed: {exc}")
    return (before - res.documents, "exported again")
