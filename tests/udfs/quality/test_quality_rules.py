"""The quality rule sets on hand-made documents, through SQL, with datatrove's reason codes."""

from __future__ import annotations

import pytest

PROSE = ("The cat sat on the mat and looked at the birds that flew over the garden wall. "
         "It was a warm day, and the sun was shining with all of its strength on the town. ")
GOOD = "\n".join([PROSE] * 1)  # replaced below with varied sentences
SENTENCES = [
    "The committee met on Tuesday to discuss the budget for the coming year.",
    "Several members raised concerns about the rising cost of maintenance.",
    "After a long debate, they agreed to postpone the decision until spring.",
    "The chairman thanked everyone for their patience and closed the meeting.",
    "Local residents will be invited to comment on the proposal next month.",
    "A report with the full figures has been published on the council website.",
    "Questions about the plan should be sent to the office of the treasurer.",
    "The next session is planned for the first week of March in the town hall.",
]
GOOD_DOC = "\n".join(SENTENCES)


def one(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()[0]


def test_good_document_passes_every_filter(con):
    row = one(con, """SELECT gopher_quality_pass(?), gopher_repetition_pass(?), c4_quality_pass(?),
                             fineweb_quality_pass(?)""", *[GOOD_DOC] * 4)
    assert row == (True, True, True, True)


def test_reasons_use_datatrove_codes_in_order(con):
    (gq, gr, c4, fw), = con.execute("""
        SELECT gopher_quality_reasons('# # # a'), gopher_repetition_reasons(''),
               c4_quality_reasons('function f() { return 1; } is what we wrote here.'),
               fineweb_quality_reasons('')
    """).fetchall()
    assert gq[0] == "gopher_short_doc" and "gopher_too_many_hashes" in gq
    assert gr == ["empty"]
    assert c4 == ["curly_bracket", "too_few_sentences"]
    assert fw == ["empty"]


def test_repeated_lines_fail_repetition(con):
    text = "\n".join(["the same line again and again"] * 10 + SENTENCES)
    (reasons,), = con.execute("SELECT gopher_repetition_reasons(?)", [text]).fetchall()
    assert reasons[0] == "dup_line_frac"


def test_c4_rewrites_text_and_counts_sentences(con):
    text = ("Menu\nHome | About\n" + GOOD_DOC + "\nPlease enable JavaScript to view this page.\n"
            "Read our privacy policy before you sign up today.\n[1] A cited fact is here.")
    (s,), = con.execute("SELECT c4_quality(?)", [text]).fetchall()
    assert s["text"] == GOOD_DOC + "\n A cited fact is here."
    assert s["n_kept_lines"] == len(SENTENCES) + 1
    assert s["n_sentences"] == len(SENTENCES) + 1
    assert (s["lorem_ipsum_line"], s["curly_bracket_line"]) == (0, 0)


def test_c4_first_rejecting_line_gives_the_reason(con):
    text = ("Lorem ipsum dolor sit amet, consectetur.\nThe value is {x} in this case.\n")
    (r,), = con.execute("SELECT c4_quality_reasons(?)", [text]).fetchall()
    assert r[:2] == ["lorem_ipsum", "curly_bracket"]
    text = ("The value is {x} in this case.\nLorem ipsum dolor sit amet, consectetur.\n")
    (r,), = con.execute("SELECT c4_quality_reasons(?)", [text]).fetchall()
    assert r[:2] == ["curly_bracket", "lorem_ipsum"]


def test_thresholds_are_named_constants(con):
    (strict,), = con.execute("SELECT gopher_quality_pass(?, min_doc_words := 1000)",
                             [GOOD_DOC]).fetchall()
    assert strict is False
    (r,), = con.execute("SELECT fineweb_quality_reasons('a.\nb.\nc.', short_line_thr := 1.0)"
                        ).fetchall()
    assert "short_line_ratio" not in r


def test_unknown_flavor_is_refused(con):
    with pytest.raises(Exception, match="flavor = 'dolma' is not one of 'datatrove'"):
        con.execute("SELECT gopher_quality_pass('x', flavor := 'dolma')").fetchall()


@pytest.mark.parametrize("text", [
    None, "", "   \n\t ", "这是一个没有空格的中文句子。这是第二句。", "日本語の文章です。",
    "\x00\x01\x02\ufffd\ud7ff garbage \x7f\x80", "x" * 5_000_000,
    "!" * 30_000 + " word",
])
def test_every_input_gets_a_decision_and_a_reason(con, text):
    row = con.execute("""
        SELECT gopher_quality_pass(t), gopher_quality_reasons(t), gopher_quality(t),
               gopher_repetition_pass(t), gopher_repetition_reasons(t), gopher_repetition(t),
               c4_quality_pass(t), c4_quality_reasons(t), c4_quality(t),
               fineweb_quality_pass(t), fineweb_quality_reasons(t), fineweb_quality(t)
        FROM (SELECT ?::VARCHAR AS t)
    """, [text]).fetchall()[0]
    for i in range(0, 12, 3):
        passed, reasons, signals = row[i], row[i + 1], row[i + 2]
        assert passed is not None and signals is not None
        assert passed == (len(reasons) == 0)


def test_words_match_datatrove_on_tricky_chunks():
    """The spaCy-rule word splitter against datatrove's own (skipped without datatrove)."""
    pytest.importorskip("spacy")
    text_mod = pytest.importorskip("datatrove.utils.text")
    import pyarrow as pa

    from corpusql.udfs.quality import words as w

    samples = [
        "Don't stop: it's 10km away (really!) -- e.g. U.S. Army's HQ... z.B. id. f():",
        "''quoted'' ``~'' ‘[=[abc]=]’ colon(:) l[:] http://example.com/a?b=c x@y.org",
        "co-operate 3.14 $100 10% 5+3 well-known a/b foo.Bar C++ :-) <3 — — …end",
    ]
    got = w.words(pa.array(samples))
    for i, s in enumerate(samples):
        ours = [got.token_of[t] for t in got.ids[got.doc_offsets[i]:got.doc_offsets[i + 1]]]
        assert ours == text_mod.split_into_words(s)
