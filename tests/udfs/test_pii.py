"""PII kernels: precision and recall per kind on the hand-written set, checksums, redaction."""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from corpusql.udfs import pii

CASES = Path(__file__).resolve().parent.parent / "data" / "pii_cases.tsv"
MARK = re.compile(r"\[\[([A-Z_]+)\|(.*?)\]\]", re.DOTALL)


def load_cases() -> list[tuple[str, str, list[tuple[str, int, int]]]]:
    """(note, text, expected findings) per line; markers [[KIND|value]] are removed."""
    cases = []
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        note, marked = line.split("\t", 1)
        marked = marked.replace("\\n", "\n")
        text, expected, pos = [], [], 0
        for m in MARK.finditer(marked):
            text.append(marked[pos:m.start()])
            start = sum(len(t) for t in text)
            text.append(m.group(2))
            expected.append((m.group(1), start, start + len(m.group(2))))
            pos = m.end()
        text.append(marked[pos:])
        cases.append((note, "".join(text), expected))
    return cases


CASE_LIST = load_cases()


def scores():
    texts = pa.array([t for _, t, _ in CASE_LIST], pa.string())
    found = pii.pii_spans(texts).to_pylist()
    tp, fp, fn = Counter(), Counter(), Counter()
    misses = []
    for (_note, text, expected), got in zip(CASE_LIST, found):
        got = {(g["kind"], g["start"], g["end"]) for g in got}
        want = set(expected)
        for k, s, e in got - want:
            fp[k] += 1
            misses.append(("FP", k, text[s:e], text))
        for k, s, e in want - got:
            fn[k] += 1
            misses.append(("FN", k, text[s:e], text))
        for k, _, _ in got & want:
            tp[k] += 1
    return tp, fp, fn, misses


def test_case_file_covers_every_kind_with_negatives():
    kinds = Counter(k for _, _, exp in CASE_LIST for k, _, _ in exp)
    assert set(kinds) == set(pii.KINDS)
    assert min(kinds.values()) >= 8
    assert sum(1 for note, _, exp in CASE_LIST if not exp and note.startswith("neg")) >= 50


@pytest.mark.parametrize("kind", pii.KINDS)
def test_precision_and_recall_per_kind(kind):
    tp, fp, fn, misses = scores()
    precision = tp[kind] / max(1, tp[kind] + fp[kind])
    recall = tp[kind] / max(1, tp[kind] + fn[kind])
    detail = [m for m in misses if m[1] == kind]
    assert precision >= 0.95, detail
    assert recall >= 0.9, detail


def test_null_empty_and_offsets_in_code_points():
    texts = pa.array([None, "", "日本語 👩‍👩‍👧 jane@example.com é", "no pii here"])
    spans = pii.pii_spans(texts).to_pylist()
    assert spans[0] is None and spans[1] == [] and spans[3] == []
    (s,) = spans[2]
    text = texts[2].as_py()
    assert s["kind"] == "EMAIL" and text[s["start"]:s["end"]] == "jane@example.com"
    assert s["start"] == 4 + len("👩‍👩‍👧") + 1  # code points, not UTF-8 bytes
    assert pii.pii_redact(texts).to_pylist() == [
        None, "", "日本語 👩‍👩‍👧 <EMAIL> é", "no pii here"]


def test_redaction_styles_and_kinds():
    t = pa.array(["Mail jane@example.com from 93.184.216.34 now"])
    assert pii.pii_redact(t).to_pylist() == ["Mail <EMAIL> from <IP_ADDRESS> now"]
    masked = pii.pii_redact(t, style="mask").to_pylist()[0]
    assert masked == "Mail " + "*" * 16 + " from " + "*" * 13 + " now"
    assert len(masked) == len(t[0].as_py())
    assert pii.pii_redact(t, style="remove").to_pylist() == ["Mail  from  now"]
    assert pii.pii_redact(t, kinds=["IP_ADDRESS"]).to_pylist() == [
        "Mail jane@example.com from <IP_ADDRESS> now"]
    assert pii.pii_redact(t, kinds=[]).to_pylist() == [t[0].as_py()]


def test_unknown_kind_names_the_nearest():
    with pytest.raises(ValueError, match="did you mean 'EMAIL'"):
        pii.check_redact(kinds=["email"], style="tag")


def test_overlaps_keep_leftmost_longest():
    found = pii.find_pii("key: api_key=AKIAIOSFODNN7EXAMPLE")
    assert found == [("SECRET", 13, 33)]


@pytest.mark.parametrize("number, ok", [
    ("4111111111111111", True), ("4111111111111112", False), ("79927398713", True),
    ("0", True), ("18", True), ("19", False),
])
def test_luhn(number, ok):
    assert pii.luhn_ok(number) is ok


@pytest.mark.parametrize("iban, ok", [
    ("DE89370400440532013000", True), ("DE89 3704 0044 0532 0130 00", True),
    ("DE88370400440532013000", False), ("GB29NWBK60161331926819", True),
    ("GB29NWBK6016133192681", False), ("XX89370400440532013000", False),
    ("NO9386011117947", True), ("MT84MALT011000012345MTLCAST001S", True),
])
def test_iban_mod97_and_length(iban, ok):
    assert pii.iban_ok(iban) is ok


@pytest.mark.parametrize("number, ok", [
    ("11010519491231002X", True), ("11010519491231002x", True), ("110105194912310021", False),
    ("110105194902300021", False),  # 30 February
    ("990105194912310023", False),  # no province 99
    ("110105180001010019", False),  # born before 1900
])
def test_cn_resident_id(number, ok):
    assert pii.cn_id_ok(number) is ok


def test_cn_resident_id_check_digit_is_iso7064_mod_11_2():
    body = "11010519491231002"
    # ISO 7064 MOD 11-2 over the 17 digits and the check character together gives 1
    for check in "0123456789X":
        value = [10 if c == "X" else int(c) for c in body + check]
        total = sum(d * pow(2, 17 - i, 11) for i, d in enumerate(value))
        assert (total % 11 == 1) == pii.cn_id_ok(body + check)


@pytest.mark.parametrize("ssn, ok", [
    (("219", "09", "9999"), True), (("000", "12", "3456"), False), (("666", "12", "3456"), False),
    (("900", "12", "3456"), False), (("123", "00", "4567"), False), (("123", "45", "0000"), False),
])
def test_ssn_rules(ssn, ok):
    assert pii.ssn_ok(*ssn) is ok


@pytest.mark.parametrize("ip, public", [
    ("8.8.8.8", True), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.0.1", False),
    ("127.0.0.1", False), ("169.254.1.1", False), ("224.0.0.1", False), ("240.0.0.1", False),
    ("100.64.0.1", False), ("0.0.0.0", False), ("2606:4700:4700::1111", True), ("::1", False),
    ("fe80::1", False), ("fd00::1", False), ("ff02::1", False), ("2001:db8::1", False),
])
def test_public_ip(ip, public):
    assert pii.is_public_ip(ipaddress.ip_address(ip)) is public


def test_prefilter_is_a_superset_of_the_precise_patterns():
    """Every expected finding's line is marked by its kind's RE2 prefilter (PEM blocks, which
    span lines, are looked for by the literal "PRIVATE KEY" instead)."""
    import pyarrow.compute as pc

    for kind in pii.KINDS:
        lines = []
        for _, text, expected in CASE_LIST:
            for k, s, e in expected:
                if k == kind and "PRIVATE KEY" not in text[s:e]:
                    start = text.rfind("\n", 0, s) + 1
                    end = text.find("\n", e)
                    lines.append(text[start:len(text) if end < 0 else end])
        marks = pc.match_substring_regex(pa.array(lines), pii.PREFILTER[kind]).to_pylist()
        assert all(marks), [r for r, m in zip(lines, marks) if not m]


def test_kernel_equals_plain_python_reference():
    texts = [t for _, t, _ in CASE_LIST] + ["a\nb jane@example.com\n\n8.8.8.8 x"]
    got = pii.pii_spans(pa.array(texts)).to_pylist()
    assert [[(g["kind"], g["start"], g["end"]) for g in row] for row in got] == \
        [pii.find_pii(t) for t in texts]


def test_entropy():
    assert pii.shannon_entropy("aaaa") == 0
    assert pii.shannon_entropy("abcd") == 2
