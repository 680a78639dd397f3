"""Fixtures of the token-export tests."""

from __future__ import annotations

import pyarrow as pa
import pytest
from export_helpers import TEXTS


@pytest.fixture
def docs(con):
    """``docs(id, text, source)``: texts with NULLs, empty text, CJK, emoji, one long text."""
    con.register("docs_arrow", pa.table({
        "id": list(range(len(TEXTS))),
        "text": TEXTS,
        "source": [("man", "web", "code")[i % 3] for i in range(len(TEXTS))],
    }))
    con.execute("CREATE TABLE docs AS SELECT * FROM docs_arrow")
    return con
