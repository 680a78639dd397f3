"""A newcomer's mistakes get messages in their own words, whichever corpusql entry point runs them.

Table-driven: each case is (entry point, query, what the message must say). The entry points are
the shell (``corpusql shell``'s statement runner), ``run`` (``corpusql run`` / ``.read``: the
script runner), ``materialize`` (the Python API, as ``corpusql materialize`` calls it) and
``%%sql`` (the notebook magic). Every message names the public function and the user's argument,
and never DuckDB's internals: no struct keys, no macro candidates, no "Python exception", no
statement excerpt.
"""

from __future__ import annotations

import io

import pytest

import corpusql
from corpusql.errors import CorpusqlError, FunctionArgumentError
from corpusql.scripts import ScriptError, run_script
from corpusql.shell import Shell

INTERNAL = ("in struct", "Candidate macros", "Python exception", "LINE 1", "__corpusql",
            "does not support the supplied arguments", "INT32")

CASES = [
    # (entry point, query, what the message says)
    ("shell", "SELECT * FROM exact_dup_groups('docs', 'txt', 'id')",
     "exact_dup_groups(text_col := 'txt'): table 'docs' has no column 'txt'; did you mean "
     "'text'?"),
    ("run", "SELECT * FROM exact_dup_groups('doc', 'text', 'id')",
     "exact_dup_groups(tbl := 'doc'): no table or view 'doc'; did you mean 'docs'?"),
    ("materialize", "SELECT * FROM exact_dup_groups('docs', 'text', 'id', keep_by := 'qualty')",
     "exact_dup_groups(keep_by := 'qualty'): table 'docs' has no column 'qualty'; did you mean "
     "'quality'?"),
    ("shell", "SELECT * FROM exact_dup_groups('docs', 'text', 'id', keepby := 'quality')",
     "exact_dup_groups() has no parameter 'keepby'; did you mean 'keep_by'?"),
    ("magic", "SELECT * FROM near_dup_clusters('docs', 'text', 'id', threshold := 'high')",
     "near_dup_clusters(threshold := 'high'): threshold takes a number (default 0.8), got the "
     "string 'high'"),
    ("run", "SELECT * FROM near_dup_clusters('docs', 'text', 'ids')",
     "near_dup_clusters(id_col := 'ids'): table 'docs' has no column 'ids'; did you mean 'id'?"),
    ("shell", "SELECT minhash_signature(text, num_perm := 'x') FROM docs",
     "minhash_signature(num_perm := 'x'): num_perm takes a number (default 128), got the "
     "string 'x'"),
    ("materialize", "SELECT minhash_signature(text, numperm := 64) AS sig FROM docs",
     "minhash_signature() has no parameter 'numperm'; did you mean 'num_perm'"),
    ("shell", "SELECT token_count(text, tokenizer := 'nope.json') FROM docs",
     "token_count: tokenizer file 'nope.json' does not exist"),
    ("run", "SELECT * FROM mix('docs', 'weights', 100)",
     "mix(): token_col is 'n_tokens' by default, and table 'docs' has no column 'n_tokens'"),
    ("shell", "SELECT * FROM split_stratified('docs', 'id', 'lng')",
     "split_stratified(strata_col := 'lng'): table 'docs' has no column 'lng'"),
    ("magic", "SELECT gopher_quality_pass(text, min_doc_words := 'ten') FROM docs",
     "gopher_quality_pass(min_doc_words := 'ten'): min_doc_words takes a number (default 50), "
     "got the string 'ten'"),
    ("shell", "SELECT id FROM docs WHERE gopher_quality(text).n_word > 3",
     "no field 'n_word' in the struct; did you mean 'n_words'"),
    ("materialize", "SELECT * FROM near_dup_incremental('new_batch', 'docs', 'text', 'id')",
     "near_dup_incremental(new_tbl := 'new_batch'): no table or view 'new_batch'"),
    ("run", "SELECT * FROM mix('docs', 'wieghts', 100, token_col := 'n')",
     "mix(weights_tbl := 'wieghts'): no table or view 'wieghts'; did you mean 'weights'?"),
    ("shell", "SELECT * FROM near_dup_report('docs', 'text', 'id', source_col := 'src')",
     "near_dup_report(source_col := 'src'): table 'docs' has no column 'src'; did you mean "
     "'source'?"),
    ("magic", "SELECT * FROM split_dataset('docs', 'txt', 'id')",
     "split_dataset(text_col := 'txt'): table 'docs' has no column 'txt'; did you mean 'text'?"),
    ("materialize", "SELECT * FROM exact_dup_groups('docs', 'text', 'id', normalize := 'maybe')",
     "exact_dup_groups(normalize := 'maybe'): normalize takes true or false (default true), got "
     "the string 'maybe'"),
]


@pytest.fixture(scope="module")
def docs_con():
    con = corpusql.connect()
    con.execute("CREATE TABLE docs AS SELECT 'd' || range AS id, 'hello world ' || range AS text, "
                "'man' AS source, range::DOUBLE AS quality, range::INT AS n FROM range(5)")
    con.execute("CREATE TABLE weights AS SELECT 'man' AS group_key, 1.0 AS weight")
    yield con
    con.close()


def _shell(con, sql, _tmp):
    sh = Shell(con, out=io.StringIO(), err=io.StringIO(), restricted=False)
    sh.execute(sql)
    text = sh.err.getvalue()
    assert text.startswith("Error: "), text
    return text.removeprefix("Error: ").strip()


def _run(con, sql, _tmp):
    with pytest.raises(ScriptError) as info:
        run_script(con, sql + ";\n", path="mine.sql")
    text = str(info.value)
    assert text.startswith("mine.sql:1: statement 1: "), text
    return text.removeprefix("mine.sql:1: statement 1: ")


def _materialize(con, sql, tmp):
    with pytest.raises(CorpusqlError) as info:
        corpusql.materialize(con, sql, tmp / "out", order_by="ALL")
    assert not (tmp / "out").exists()
    return str(info.value)


def _magic(con, sql, _tmp):
    from test_magic import cell, shell

    with shell(con) as sh:
        _, text = cell(sh, sql)
    assert text.startswith("SQL error: "), text
    return text.removeprefix("SQL error: ")


ENTRY = {"shell": _shell, "run": _run, "materialize": _materialize, "magic": _magic}


@pytest.mark.parametrize(("entry", "sql", "says"), CASES,
                         ids=[f"{i:02d}-{c[0]}" for i, c in enumerate(CASES, 1)])
def test_mistake_is_worded_for_the_user(entry, sql, says, docs_con, tmp_path):
    message = ENTRY[entry](docs_con, sql, tmp_path)
    assert says in message, message
    for internal in INTERNAL:
        assert internal not in message, message


def test_materialize_raises_the_function_argument_error_from_duckdbs(docs_con, tmp_path):
    import duckdb

    with pytest.raises(FunctionArgumentError) as info:
        corpusql.materialize(docs_con, "SELECT * FROM exact_dup_groups('docs', 'txt', 'id')",
                             tmp_path / "out")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value.__cause__, duckdb.BinderException)


def test_other_errors_keep_duckdbs_words(docs_con, tmp_path):
    """A mistake outside corpusql's functions keeps DuckDB's message (minus the excerpt)."""
    message = _shell(docs_con, "SELECT word_count(txt) FROM docs", tmp_path)
    assert 'Referenced column "txt" not found' in message and "LINE 1" not in message
