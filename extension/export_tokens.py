"""``export_tokens``: a query's text as tokenized, shuffled, sharded token-id files for training.

Steps (memory: 24 bytes per document, plus one batch of texts):

1. The query's rows are read in a total order (``ORDER BY order_by``, default ``ALL``) in batches;
   each non-NULL text is encoded with the tokenizer (``Tokenizer.encode_batch``, no special
   tokens, as ``token_count`` counts) and, with ``eos=True``, followed by the tokenizer's EOS id.
   Ids go to a spill file in the staging directory; NULL texts are skipped and counted.
2. A global permutation of the document indices (``numpy.random.default_rng(shuffle_seed)``;
   ``shuffle_seed=None`` keeps the query order) fixes the order of the whole export.
3. Documents are cut into shards in that order: a new shard starts at the first document that
   begins at or past a multiple of ``shard_tokens`` tokens (documents are never split across
   shards), and each shard is written in ``format``: ``datatrove`` (.ds/.ds.index/.ds.metadata),
   ``megatron`` (.bin/.idx) or ``parquet`` (one row per packed sequence of ``seq_len`` tokens:
   ``input_ids``, ``doc_ids``, ``positions``; see corpusql.udfs.token_packing).
4. ``_manifest.json`` (query, tokenizer path and sha256, vocabulary size, dtype, documents and
   tokens per shard, sha256 per file, per-group documents/tokens/epochs when the query is a
   mix) is written last, and the staging directory is swapped into place as ``materialize``
   does (swap.py, outputs_lock.py): a crash leaves the previous export or none.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import faults, provenance, swap
from .materializer import MANIFEST, MaterializeError, _lock_timeout, sha256_file
from .outputs_lock import LockBusy, OutputLock

FORMATS = ("datatrove", "megatron", "parquet")
KIND = "token_export"
MANIFEST_FORMAT = 1
EOS_NAMES = ("<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>", "<|eot_id|>", "[SEP]")
BATCH_ROWS = 8192
SPILL = ".tokens.spill"


class ExportError(MaterializeError):
    """Export refused or failed; the target is untouched."""


@dataclass
class ExportResult:
    out_dir: Path
    manifest: dict[str, Any]
    recovered: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return int(self.manifest["total_tokens"])

    @property
    def documents(self) -> int:
        return int(self.manifest["total_documents"])


def _tokenizer(tokenizer: str):
    from .udfs.tokens import DEFAULT, default_tokenizer_path, load_tokenizer

    path = default_tokenizer_path() if tokenizer == DEFAULT else os.path.expanduser(tokenizer)
    return load_tokenizer(tokenizer, function="export_tokens"), path


def _eos_id(tok, eos_token: str | None, path: str) -> int:
    names = (eos_token,) if eos_token else EOS_NAMES
    for name in names:
        found = tok.token_to_id(name)
        if found is not None:
            return int(found)
    if eos_token:
        raise ExportError(f"export_tokens: the tokenizer {path} has no token {eos_token!r}; "
                          "pass eos_token := one of its tokens, or eos := false")
    raise ExportError(f"export_tokens: the tokenizer {path} has none of {list(EOS_NAMES)}; "
                      "name its end-of-document token with eos_token := '...', or eos := false")


def _columns(con, query: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM ({query}\n)").fetchall()]


def export_tokens(
    con,
    query: str,
    out_dir: str | os.PathLike,
    *,
    tokenizer: str = "default",
    format: str = "datatrove",  # noqa: A002 - the issue's name for the knob
    eos: bool = True,
    eos_token: str | None = None,
    shuffle_seed: int | None = 1,
    shard_tokens: int = 1 << 30,
    text_col: str = "text",
    by: str | None = None,
    order_by: str = "ALL",
    dtype: str = "auto",
    seq_len: int = 2048,
    pack: str = "split",
    overwrite: bool = False,
    lock_timeout: float | None = None,
    recipe: str | None = None,
    public: bool = False,
) -> ExportResult:
    """Tokenize ``query``'s ``text_col`` and write shards of token ids under ``out_dir``.

    See the module docstring for the steps. ``by`` names a column to count documents, tokens and
    epochs per value (default ``mix_group`` when the query has ``mix_group`` and ``epoch``, as
    ``mix()`` returns). ``seq_len`` and ``pack`` apply to ``format='parquet'`` only. An existing
    export is replaced only with ``overwrite=True``; a directory corpusql did not write is never
    replaced. ``recipe`` is the SQL that built the tables the query reads (recorded in the
    manifest, as ``materialize`` does). ``public=True`` refuses when the query reads a dataset
    or a release that is not redistributable (corpusql.licences).
    """
    from .udfs.token_formats import token_dtype
    from .udfs.token_packing import PACK_MODES

    query = query.strip().rstrip(";").strip()
    if format not in FORMATS:
        raise ExportError(f"export_tokens: format {format!r} is not one of {FORMATS}")
    if shard_tokens < 1:
        raise ExportError(f"export_tokens: shard_tokens = {shard_tokens} must be at least 1")
    if format == "parquet" and (seq_len < 1 or pack not in PACK_MODES):
        raise ExportError(f"export_tokens: seq_len = {seq_len} must be >= 1 and pack "
                          f"{pack!r} one of {PACK_MODES}")
    if public:
        from .public import refuse_public

        try:
            refuse_public(con, query, f"export_tokens to {out_dir}")
        except MaterializeError as exc:
            raise ExportError(str(exc)) from None
    tok, tok_path = _tokenizer(tokenizer)
    vocab = tok.get_vocab_size()
    try:
        ids_dtype = token_dtype(vocab, dtype)
    except ValueError as exc:
        raise ExportError(f"export_tokens: {tok_path}: {exc}") from None
    if format == "megatron" and ids_dtype.itemsize == 4:
        ids_dtype = np.dtype("<i4")  # Megatron's readers know int32, not uint32
    eos_id = _eos_id(tok, eos_token, tok_path) if eos else None
    cols = _columns(con, query)
    if text_col not in cols:
        raise ExportError(f"export_tokens: the query has no column {text_col!r} (columns: "
                          f"{', '.join(cols)}); pass text_col := '...'")
    if by is None and {"mix_group", "epoch"} <= set(cols):
        by = "mix_group"
    if by is not None and by not in cols:
        raise ExportError(f"export_tokens: the query has no column {by!r} to group by")
    target = Path(out_dir).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock = OutputLock(target, _lock_timeout(lock_timeout)).acquire()
    except LockBusy as exc:
        raise ExportError(str(exc)) from None
    try:
        recovered = swap.recover(target, _complete)
        _check_target(target, overwrite)
        plan = {
            "kind": KIND, "format": format, "query": query, "order_by": order_by,
            "text_col": text_col, "by": by, "eos": eos, "eos_id": eos_id,
            "shuffle_seed": shuffle_seed, "shard_tokens": shard_tokens,
            "tokenizer": {"path": tok_path, "sha256": sha256_file(tok_path),
                          "vocab_size": vocab},
            "dtype": ids_dtype.newbyteorder("=").name,
            "versions": provenance.versions(),
            "recipe": recipe,
        }
        if format == "parquet":
            plan.update(seq_len=seq_len, pack=pack)
        manifest = _write(con, tok, target, plan, ids_dtype)
    finally:
        lock.release()
    return ExportResult(target, manifest, recovered)


def _check_target(target: Path, overwrite: bool) -> None:
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        return
    try:
        old = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    if not isinstance(old, dict) or old.get("kind") != KIND:
        raise ExportError(f"export_tokens: {target} exists and is not a corpusql token export "
                          "(no token-export _manifest.json); corpusql never replaces it: choose "
                          "another out_dir")
    listed = {f["path"] for f in old.get("files", [])} | {MANIFEST}
    extra = sorted(p.name for p in target.iterdir() if p.name not in listed)
    if extra:
        raise ExportError(f"export_tokens: {target} holds files its manifest does not list "
                          f"({', '.join(extra[:3])}); corpusql never deletes them: move them away")
    if not overwrite:
        raise ExportError(f"export_tokens: {target} already holds a token export; pass "
                          "overwrite=True (--overwrite) to replace it")


def _write(con, tok, target: Path, plan: dict[str, Any], ids_dtype: np.dtype) -> dict[str, Any]:
    from .export_shards import encode_to_spill, write_shards

    token = swap.token()
    staging = swap.staging_path(target, token)
    staging.mkdir()
    try:
        spill = staging / SPILL
        stats = encode_to_spill(con, tok, plan, ids_dtype, spill)
        faults.point("export:encoded")
        files, shards = write_shards(staging, spill, stats, plan, ids_dtype)
        spill.unlink()
        manifest = {
            "format_version": MANIFEST_FORMAT,
            **plan,
            "null_texts": stats.nulls,
            "total_documents": int(stats.lengths.size),
            "total_tokens": int(stats.lengths.sum()),
            "shards": shards,
            "files": files,
        }
        if plan["by"] is not None:
            manifest["groups"] = stats.groups()
        if plan["format"] == "parquet":
            stored = sum(s["sequences"] for s in shards) * plan["seq_len"]
            manifest["packing_efficiency"] = (manifest["total_tokens"] / stored) if stored else 1.0
        with open(staging / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        swap.publish(staging, target, token)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def check(out_dir: str | os.PathLike) -> list[str]:
    """Problems found comparing a token export with its manifest (size and sha256 per file)."""
    target = Path(out_dir)
    try:
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{target / MANIFEST}: missing (not a corpusql token export?)"]
    except ValueError as exc:
        return [f"{target / MANIFEST}: unreadable JSON ({exc})"]
    problems = []
    for entry in manifest.get("files", []):
        path = target / entry["path"]
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.stat().st_size != entry["bytes"]:
            problems.append(f"{path}: size {path.stat().st_size} != manifest {entry['bytes']}")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{path}: sha256 differs from the manifest")
    return problems


def _complete(staging: Path) -> bool:
    return (staging / MANIFEST).is_file() and not check(staging)


from .modfunc import callable_module  # noqa: E402

callable_module(__name__, export_tokens)  # corpusql.export_tokens(...) even after this module is imported
