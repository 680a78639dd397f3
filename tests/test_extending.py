"""corpusql.register / register_macro: a user's kernel and macro join the built-ins' registry.

The worked example of docs/extending.md is run here as written (its python blocks, in order, in
a fresh interpreter so its registrations do not leak into other tests), and what each block
prints must be what the page says it prints.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import corpusql
from corpusql.extending import function_row
from corpusql.registry import RegistryError

DOC = Path(__file__).resolve().parent.parent / "docs" / "extending.md"


def _user_section_blocks() -> list[tuple[str, str]]:
    """(code, what the page says it prints) for each python block before the contributors' part."""
    text = DOC.read_text(encoding="utf-8").split("## Adding a built-in function")[0]
    out = []
    for m in re.finditer(r"```python\n(.*?)```\n\nprints `(.*?)`", text, re.S):
        out.append((m.group(1), m.group(2)))
    return out


def test_the_worked_example_runs_and_prints_what_the_page_says():
    blocks = _user_section_blocks()
    assert len(blocks) == 3
    marker = "#@@block@@"
    code = f"\nprint({marker!r})\n".join(code for code, _ in blocks)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    printed = [p.strip() for p in proc.stdout.split(marker)]
    assert printed == [shown for _, shown in blocks]


def _kernel(text: pa.Array, *, n: int = 2, label: str = "x") -> pa.Array:
    """Test kernel: the length of the text times n."""
    import pyarrow.compute as pc

    return pc.multiply(pc.utf8_length(text), n)


def test_parameters_and_defaults_come_from_the_signature():
    row = function_row(_kernel, name="k_len", returns="BIGINT")
    assert [(p.name, p.sql_type, p.column, None if p.column else p.default)
            for p in row.params] == [("text", "VARCHAR", True, None),
                                     ("n", "BIGINT", False, 2), ("label", "VARCHAR", False, "x")]
    assert row.signature == "k_len(text, n := 2, label := 'x')"


def _no_doc(text: pa.Array) -> pa.Array:
    return text


def _positional_default(text: pa.Array, n: int = 2) -> pa.Array:
    """Doc."""
    return text


def _odd_default(text: pa.Array, *, opts: dict | None = {}) -> pa.Array:  # noqa: B006
    """Doc."""
    return text


@pytest.mark.parametrize("kernel, kw, message", [
    (_no_doc, {}, "has no docstring"),
    (_positional_default, {}, "parameter n has a default but is not keyword-only"),
    (_odd_default, {}, "constant opts = {}: give its SQL type"),
    (_kernel, {"name": "Bad-Name"}, "must be lower-case snake_case"),
    (_kernel, {"columns": {"txt": "VARCHAR"}}, "txt named in columns=/types= but not parameters"),
])
def test_bad_registrations_fail_naming_what_is_wrong(kernel, kw, message):
    with pytest.raises(RegistryError, match=re.escape(message)):
        function_row(kernel, returns="BIGINT", **kw)


def test_a_taken_name_is_refused():
    with pytest.raises(RegistryError, match="duplicate function name 'word_count'"):
        corpusql.register(_kernel, name="word_count", returns="BIGINT")


def test_open_connections_get_the_function_and_role_connections_do_not(tmp_path):
    code = """
import corpusql, pyarrow as pa, pyarrow.compute as pc
db = DB
con = corpusql.connect(db)
cat = corpusql.catalog(con)
cat.add_role("reader")
con.close()
plain = corpusql.connect(db)
role = corpusql.connect(db, role="reader")

@corpusql.register(returns="BIGINT")
def twice_len(text: pa.Array) -> pa.Array:
    '''Twice the text's length in characters.'''
    return pc.multiply(pc.utf8_length(text), 2)

print(plain.sql("SELECT twice_len('abc')").fetchall())
try:
    role.sql("SELECT twice_len('abc')").fetchall()
except Exception as exc:
    print(type(exc).__name__)
print(corpusql.connect().sql("SELECT twice_len('abcd')").fetchall())
""".replace("DB", repr(str(tmp_path / "lake.duckdb")))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[(6,)]", "CatalogException", "[(8,)]"]


def test_a_macro_that_calls_an_unlisted_function_is_refused():
    sql = """-- my_words(text)
--
-- Words of the text.
--
-- returns: INTEGER
CREATE OR REPLACE MACRO my_words(text) AS word_count(text)
"""
    with pytest.raises(Exception, match="word_count"):
        corpusql.register_macro(sql)
    assert "my_words" not in {o.name for o in corpusql.sqllib.library()}
