"""The PyTorch example of docs/export-tokens.md runs as written, on a real export."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpusql.export_tokens import export_tokens

DOC = Path(__file__).resolve().parents[2] / "docs" / "export-tokens.md"


def test_torch_iterable_dataset_example(con, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch", reason="torch is in the interop extra")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    example = next(b for b in blocks if "IterableDataset" in b)
    con.execute("CREATE TABLE t AS SELECT i AS id, repeat('token text ' || i || ' ', 300) "
                "AS text FROM range(40) r(i)")
    monkeypatch.chdir(tmp_path)
    export_tokens(con, "SELECT * FROM t", "out/train_tokens", order_by="id")
    scope: dict = {}
    exec(compile(example, str(DOC), "exec"), scope)  # noqa: S102 - the documented example
    inputs, labels = scope["inputs"], scope["labels"]
    assert inputs.shape == labels.shape == (8, 2048) and inputs.dtype == torch.int64
    assert torch.equal(inputs[:, 1:], labels[:, :-1])
