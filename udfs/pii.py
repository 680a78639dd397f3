"""PII detection and redaction: e-mail, public IPs, phones, cards, IBANs, SSNs, CN IDs, secrets.

Two stages per batch. (1) Candidate search, vectorized: the column is cut into lines
(``pyarrow.compute.split_pattern``) and for every kind one loose RE2 pattern (:data:`PREFILTER`)
marks the lines that may hold that kind (``match_substring_regex``); most lines hold none and
never reach Python. (2) On the marked lines only, a precise Python pattern per kind (with
look-around, which RE2 lacks) finds the candidates and a validator checks each one: Luhn and
issuer prefixes for cards, ISO 13616 mod-97 and per-country length for IBANs, ISO 7064 MOD 11-2
and a real birth date for Chinese resident IDs, SSA area/group/serial rules for SSNs,
:mod:`ipaddress` facts for IPs (only public addresses count, as in datatrove's PII formatter),
known token prefixes or a keyword plus an entropy test for secrets. PEM private key blocks, the
only finding that spans lines, are searched in the rows that contain "PRIVATE KEY".
Overlapping findings keep the leftmost, then the longest, then the kind listed first in
:data:`KINDS`. :func:`find_pii` is the same search in plain Python, one string at a time.

Offsets are Unicode code points (not bytes), ``start`` inclusive and ``end`` exclusive, so
``substr(text, start + 1, "end" - start)`` in SQL (1-based) returns the finding.
"""

from __future__ import annotations

import datetime
import difflib
import ipaddress
import math
import re
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Kinds, in priority order for overlapping findings; the redaction tag is ``<KIND>``.
KINDS = ("SECRET", "EMAIL", "IBAN", "PAYMENT_CARD", "CN_RESIDENT_ID", "US_SSN", "IP_ADDRESS",
         "PHONE_NUMBER")
STYLES = ("tag", "mask", "remove")
SPAN_TYPE = pa.struct([("kind", pa.string()), ("start", pa.int32()), ("end", pa.int32())])

#: Stage 1: loose RE2 patterns run on every line; every precise match of a kind also matches its
#: prefilter (PEM private key blocks, which span lines, are looked for in rows with "PRIVATE KEY").
PREFILTER = {
    "SECRET": r"(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_|github_pat_|xox[abposr]-|[sr]k_live_|AIza"
              r"|glpat-|(?i:key|token|secret|passw(?:or)?d)[\"']?\s*(?:[:=]|=>)",
    "EMAIL": r"@[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2}",
    "IBAN": r"[A-Z]{2}\d{2} ?[A-Z0-9]",
    "PAYMENT_CARD": r"\d{4}[ -]?\d{4}[ -]?\d{4}|\d{4}[ -]\d{6}[ -]\d{4}",
    "CN_RESIDENT_ID": r"\d{17}[\dXx]",
    "US_SSN": r"\d{3}-\d{2}-\d{4}|(?i:ssn|social security)\D{0,24}\d{9}",
    "IP_ADDRESS": r"\d\.\d{1,3}\.\d{1,3}\.\d|[0-9A-Fa-f]:[0-9A-Fa-f:]*:",
    "PHONE_NUMBER": r"\+[1-9]|\d[-.]\d{3}[-. ]\d{4}|\(\d{3}\)|0\d{0,4}[ /-]\d\d"
                    r"|1[3-9]\d[ -]?\d{4}[ -]?\d{4}"
                    r"|(?i:phone|tel|call|mobile|cell|fax|contact)\D{0,16}\d{10,11}",
}

# --- stage 2: precise patterns and validators ---------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![\w-]|\.\w)"
    # not the user of an scp/git address (git@host:path)
    r"(?!:[^\s])", re.ASCII)
#: File extensions that look like top-level domains in names such as ``icon@2x.png``.
_NOT_TLD = {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "pdf"}


def _email(m: re.Match, text: str):
    local = m.group(0).split("@", 1)[0]
    if ".." in local or m.group(2).lower() in _NOT_TLD:
        return None
    return m.span()


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)", re.ASCII)
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])", re.ASCII)
#: Words after which a dotted quad is a version or section number, not an address.
_IP_CONTEXT = re.compile(
    r"(?i)\b(?:ip(?:v4)?|address\w*|addr|host\w*|server|nameserver|dns|resolver|ping|gateway"
    r"|route|proxy|firewall|connect\w*|via|allow|deny|block\w*|peer|client)\b")
_HEADING_TAIL = re.compile(r"\.? +[^\W\d_]")
_VERSION_CONTEXT = re.compile(
    r"(?i)\b(?:v|version|ver\.?|release|rev\.?|build|section|sec\.|chapter|ch\.|\u00a7|figure"
    r"|fig\.|table|paragraph|step|clause|rule|item|no\.|afsnit|abschnitt|kapitel|chapitre"
    r"|capitolo|secci\u00f3n|se\u00e7\u00e3o)\s*$")


def is_public_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True unless private, loopback, link-local, multicast, reserved, unspecified or not global."""
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local
                                 or ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _ip(m: re.Match, text: str):
    try:
        ip = ipaddress.ip_address(m.group(0))
    except ValueError:
        return None
    if not is_public_ip(ip):
        return None
    if ip.version == 4:
        if _VERSION_CONTEXT.search(text, max(0, m.start() - 16), m.start()):
            return None
        # a heading's section number: "12.2.3.4. Title" or "1.21.11.9 Title" at a line start
        if (max(ip.packed) < 64 and not text[:m.start()].strip()
                and _HEADING_TAIL.match(text, m.end())):
            return None
        # 1.x.y.z to 9.x.y.z are nearly always versions ("zlib 1.2.2.3", "git/1.8.3.1") unless
        # the words before speak of addresses (8.8.8.8 after "nameserver" or "DNS")
        if ip.packed[0] < 10 and not _IP_CONTEXT.search(text, max(0, m.start() - 32), m.start()):
            return None
    return m.span()


_PHONE = re.compile(
    # international: + country code, then groups (E.164: at most 15 digits, checked below)
    r"(?<![\w+])(?P<intl>\+[1-9]\d{0,2}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,5})){2,6})(?![\w]|[.-]\d)"
    # North American numbering plan: NXX-NXX-XXXX, (NXX) NXX-XXXX, optional leading 1
    r"|(?<![\w+.-])(?P<nanp>(?:1[-. ])?(?:\([2-9]\d\d\) ?|[2-9]\d\d(?P<s>[-.]))[2-9]\d\d"
    r"(?(s)(?P=s)|[-. ])\d{4})(?![\w]|[.-]\d)"
    # national numbers with a trunk 0 and one kind of separator: 030 1234567, 01 23 45 67 89
    # (not a group inside a longer run of digit or hex groups: tables, dumps, IBANs)
    r"|(?<![\w+./-])(?<![0-9] )(?<![0-9A-F]{2} )"
    r"(?P<trunk>0[1-9]\d{0,3}(?P<t>[ /-])\d{2,8}(?:(?P=t)\d{2,8}){0,3})(?![\w]|[./-]\d| \d)"
    # Chinese mobile numbers: 1[3-9]X XXXX XXXX
    r"|(?<![\w+.@-])(?P<cn>1[3-9]\d(?P<c>[ -]?)\d{4}(?P=c)\d{4})(?![\w]|[.-]\d)", re.ASCII)
_ISBN_CONTEXT = re.compile(r"(?i)isbn[-\s:]*(?:1[03])?[-\s:]*$", re.ASCII)


#: Ten or eleven digits without separators count as a phone number only a few characters after
#: a word that says so: "call me at 4155550132", "mobile 07700900123".
_PHONE_BARE = re.compile(
    r"(?i)\b(?:phone|tel|telephone|call|mobile|cell|fax|contact)\b[^\d\n]{0,16}?"
    r"(?<![\w+.-])(?P<num>\d{10,11})(?![\w]|[.-]\d)", re.ASCII)


def _phone_bare(m: re.Match, text: str):
    return m.span("num")


def _phone(m: re.Match, text: str):
    digits = sum(c.isdigit() for c in m.group(0))
    if m.group("intl") is not None:
        if not 8 <= digits <= 15 or m.group(0).count("(") > 1:
            return None
    elif m.group("trunk") is not None and not 10 <= digits <= 12:
        return None
    if _ISBN_CONTEXT.search(text, max(0, m.start() - 16), m.start()):
        return None
    return m.span()


_CARD = re.compile(
    r"(?<![\w.-])(?:\d{13,19}|\d{4}(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{1,4}(?:(?P=s)\d{3})?"
    r"|\d{4}(?P<t>[ -])\d{6}(?P=t)\d{4,5})(?![\w]|[.-]\d)", re.ASCII)

#: Issuer identification number prefixes (inclusive ranges of the leading digits) and the card
#: lengths each network issues: Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay,
#: Maestro and Mir, from the networks' published IIN tables.
_IIN = [
    ((4, 4), (13, 16, 19)),
    ((51, 55), (16,)), ((2221, 2720), (16,)),
    ((34, 34), (15,)), ((37, 37), (15,)),
    ((6011, 6011), (16, 17, 18, 19)), ((644, 649), (16, 17, 18, 19)), ((65, 65), (16, 17, 18, 19)),
    ((3528, 3589), (16, 17, 18, 19)),
    ((300, 305), (14, 15, 16, 17, 18, 19)), ((36, 36), (14, 15, 16, 17, 18, 19)),
    ((38, 39), (14, 15, 16, 17, 18, 19)),
    ((62, 62), (16, 17, 18, 19)),
    ((5018, 5018), tuple(range(13, 20))), ((5020, 5020), tuple(range(13, 20))),
    ((5038, 5038), tuple(range(13, 20))), ((5893, 5893), tuple(range(13, 20))),
    ((6304, 6304), tuple(range(13, 20))), ((6759, 6759), tuple(range(13, 20))),
    ((6761, 6763), tuple(range(13, 20))),
    ((2200, 2204), (16, 17, 18, 19)),
]


def luhn_ok(digits: str) -> bool:
    """Luhn (ISO/IEC 7812-1) check: doubled every second digit from the right, sum % 10 == 0."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_issuer_ok(digits: str) -> bool:
    """True when the number starts with a known IIN prefix issued with this length."""
    for (lo, hi), lengths in _IIN:
        width = len(str(lo))
        if lo <= int(digits[:width]) <= hi and len(digits) in lengths:
            return True
    return False


def _card(m: re.Match, text: str):
    digits = re.sub(r"\D", "", m.group(0))
    if not 13 <= len(digits) <= 19 or len(set(digits)) < 2:
        return None
    if not (card_issuer_ok(digits) and luhn_ok(digits)):
        return None
    return m.span()


#: ISO 13616 IBAN length per country (the SWIFT IBAN registry).
IBAN_LENGTH = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}", re.ASCII)


def iban_ok(iban: str) -> bool:
    """ISO 13616: known country, its length, and ISO 7064 mod-97 of the rearranged number == 1."""
    iban = iban.replace(" ", "").upper()
    if IBAN_LENGTH.get(iban[:2]) != len(iban) or not iban.isalnum() or not iban.isascii():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _iban(m: re.Match, text: str):
    length = IBAN_LENGTH.get(m.group(0)[:2])
    if length is None:
        return None
    seen, end = 0, m.start()
    for end in range(m.start(), m.end()):
        if text[end] != " ":
            seen += 1
            if seen == length:
                break
    if seen < length:
        return None
    end += 1
    if end < len(text) and text[end].isalnum():  # would cut a group or word in two
        return None
    return (m.start(), end) if iban_ok(text[m.start():end]) else None


_SSN = re.compile(r"(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w]|-\d)", re.ASCII)


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """SSA rules: area 001-899 except 666, group 01-99, serial 0001-9999."""
    a = int(area)
    return 0 < a < 900 and a != 666 and group != "00" and serial != "0000"


def _ssn(m: re.Match, text: str):
    return m.span() if ssn_ok(*m.groups()) else None


#: Nine digits without separators count as an SSN only right after the word: "SSN 123456789".
_SSN_BARE = re.compile(r"(?i)(?:\bssn|\bsocial security(?: (?:number|no\.?|#))?)\W{0,4}"
                       r"(?-i:(?P<a>\d{3})(?P<g>\d{2})(?P<s>\d{4}))(?![\w-])", re.ASCII)


def _ssn_bare(m: re.Match, text: str):
    return (m.start("a"), m.end("s")) if ssn_ok(m["a"], m["g"], m["s"]) else None


_CN_ID = re.compile(r"(?<![\w])[1-9]\d{16}[\dXx](?!\w)", re.ASCII)
#: Province-level codes (GB/T 2260), the first two digits of a resident ID.
_CN_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45,
                 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
_CN_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
#: Birth dates accepted: a real calendar date in this range (fixed, so results never drift).
CN_BIRTH_RANGE = (datetime.date(1900, 1, 1), datetime.date(2030, 12, 31))


def cn_id_ok(number: str) -> bool:
    """GB 11643: province code, real birth date (YYYYMMDD at 7-14), ISO 7064 MOD 11-2 check."""
    if len(number) != 18 or int(number[:2]) not in _CN_PROVINCES:
        return False
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not CN_BIRTH_RANGE[0] <= born <= CN_BIRTH_RANGE[1]:
        return False
    total = sum(int(c) * w for c, w in zip(number[:17], _CN_WEIGHTS))
    return "10X98765432"[total % 11] == number[17].upper()


def _cn_id(m: re.Match, text: str):
    return m.span() if cn_id_ok(m.group(0)) else None


_SECRET_PREFIXED = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}"
    r"|github_pat_[A-Za-z0-9_]{82}|xox[abposr]-[A-Za-z0-9-]{10,250}"
    r"|[sr]k_live_[A-Za-z0-9]{20,247}|AIza[0-9A-Za-z_-]{35}|glpat-[0-9A-Za-z_-]{20})"
    r"(?![A-Za-z0-9])", re.ASCII)
#: A PEM private key: the header, and the whole block up to its footer when there is one.
_PEM_KEY = re.compile(
    r"-----BEGIN (?P<kt>(?:[A-Z0-9]+ )*)PRIVATE KEY(?P<kb> BLOCK)?-----"
    r"(?:[\s\S]*?-----END (?P=kt)PRIVATE KEY(?(kb) BLOCK)-----)?", re.ASCII)
_SECRET_ASSIGN = re.compile(
    r"(?i)(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?(?:token|key)|auth[_-]?token|token"
    r"|password|passwd|private[_-]?key|client[_-]?secret)[\"']?\s*(?:[:=]|=>)\s*[\"']?"
    r"([A-Za-z0-9+/_\-=]{16,200})(?![A-Za-z0-9+/_\-=])", re.ASCII)
#: Minimum Shannon entropy (bits per character) of a keyword-adjacent value to count as a secret.
SECRET_MIN_ENTROPY = 3.5


def shannon_entropy(s: str) -> float:
    """Shannon entropy of the character distribution of ``s``, in bits per character."""
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values()) if n else 0.0


_SEGMENTS = re.compile(r"[/_\-.]+")


def _secret_assign(m: re.Match, text: str):
    value = m.group(1).rstrip("=")
    if (len(value) < 16 or not any(c.isdigit() for c in value)
            or not any(c.isalpha() for c in value)
            or shannon_entropy(value) < SECRET_MIN_ENTROPY):
        return None
    # identifiers, placeholders and paths: MY_CLIENT_SECRET2, projects/my-project/versions/2
    parts = [p for p in _SEGMENTS.split(value) if p]
    if len(parts) > 1 and all(p.lower() == p or p.upper() == p for p in parts):
        return None
    return m.start(1), m.end(1)


_FINDERS = {
    "SECRET": [(_SECRET_PREFIXED, lambda m, t: m.span()), (_SECRET_ASSIGN, _secret_assign)],
    "EMAIL": [(_EMAIL, _email)],
    "IBAN": [(_IBAN, _iban)],
    "PAYMENT_CARD": [(_CARD, _card)],
    "CN_RESIDENT_ID": [(_CN_ID, _cn_id)],
    "US_SSN": [(_SSN, _ssn), (_SSN_BARE, _ssn_bare)],
    "IP_ADDRESS": [(_IPV4, _ip), (_IPV6, _ip)],
    "PHONE_NUMBER": [(_PHONE, _phone), (_PHONE_BARE, _phone_bare)],
}
_PRIORITY = {k: i for i, k in enumerate(KINDS)}


def _resolve(found: list[tuple[int, int, str]]) -> list[tuple[str, int, int]]:
    """Non-overlapping findings from ``(start, end, kind)``: leftmost, longest, then priority."""
    found = sorted(found, key=lambda f: (f[0], f[0] - f[1], _PRIORITY[f[2]]))
    out, last_end = [], 0
    for start, end, kind in found:
        if start >= last_end and end > start:
            out.append((kind, start, end))
            last_end = end
    return out


def _find(text: str, kinds, offset: int = 0) -> list[tuple[int, int, str]]:
    """Validated single-line findings of ``kinds`` in ``text``, shifted by ``offset``."""
    found = []
    for kind in kinds:
        for pattern, check in _FINDERS[kind]:
            for m in pattern.finditer(text):
                span = check(m, text)
                if span is not None:
                    found.append((span[0] + offset, span[1] + offset, kind))
    return found


def find_pii(text: str, kinds=KINDS) -> list[tuple[str, int, int]]:
    """All findings ``(kind, start, end)`` in one string, the plain-Python reference.

    Same result as the kernels' two-stage search: every finding but a PEM block lies within one
    line, so the kernels look only at the lines their RE2 prefilters mark.
    """
    found = []
    pos = 0
    for line in text.split("\n"):
        found += _find(line, kinds, pos)
        pos += len(line) + 1
    if "SECRET" in kinds:
        found += [(m.start(), m.end(), "SECRET") for m in _PEM_KEY.finditer(text)]
    return _resolve(found)


# --- kernels ------------------------------------------------------------------------------------

def _candidates(text: pa.Array, kinds) -> tuple[np.ndarray, list[list[tuple]]]:
    """Rows with findings and their findings.

    Stage 1 (vectorized): the texts are cut into lines (``split_pattern``) and each kind's RE2
    prefilter marks lines; stage 2 runs the precise patterns on the marked lines only, and the
    PEM key pattern on the rows that contain "PRIVATE KEY".
    """
    lines = pc.split_pattern(text, "\n")
    flat = pc.list_flatten(lines)
    parent = pc.list_parent_indices(lines).to_numpy()
    first = np.asarray(lines.offsets)[:-1] - lines.offsets[0].as_py()
    width = np.asarray(pc.fill_null(pc.utf8_length(flat), 0)).astype(np.int64) + 1
    line_start = np.cumsum(width) - width
    line_start -= line_start[first[parent]] if len(parent) else 0
    marks = {}
    any_mark = np.zeros(len(flat), dtype=bool)
    for kind in kinds:
        hit = pc.fill_null(pc.match_substring_regex(flat, PREFILTER[kind]), False)
        marks[kind] = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
        any_mark |= marks[kind]
    marked = np.flatnonzero(any_mark)
    per_row: dict[int, list] = {}
    if len(marked):
        for j, line in zip(marked, pc.take(flat, pa.array(marked)).to_pylist()):
            found = _find(line, [k for k in kinds if marks[k][j]], int(line_start[j]))
            if found:
                per_row.setdefault(int(parent[j]), []).extend(found)
    if "SECRET" in kinds:
        pem = pc.fill_null(pc.match_substring(text, "PRIVATE KEY"), False)
        pem_rows = np.flatnonzero(np.asarray(pem.to_numpy(zero_copy_only=False), dtype=bool))
        if len(pem_rows):
            for row, s in zip(pem_rows, pc.take(text, pa.array(pem_rows)).to_pylist()):
                found = [(m.start(), m.end(), "SECRET") for m in _PEM_KEY.finditer(s)]
                if found:
                    per_row.setdefault(int(row), []).extend(found)
    rows = np.array(sorted(per_row), dtype=np.int64)
    return rows, [_resolve(per_row[r]) for r in rows]


def pii_spans(text: pa.Array) -> pa.Array:
    """Personal data and secrets found in the text: a list of (kind, start, "end") structs.

    ``start`` and ``"end"`` are offsets in Unicode code points (not bytes), start inclusive, end
    exclusive: in SQL, ``substr(text, s.start + 1, s."end" - s.start)``. Findings never overlap
    and are ordered by start. Kinds: ``EMAIL``; ``IP_ADDRESS`` (IPv4 and IPv6, public addresses
    only: private, loopback, link-local, multicast, reserved and unspecified ranges per Python's
    ``ipaddress`` are skipped as in datatrove's PII formatter; an IPv4 quad is taken for a
    version or section number after words like "version", "v", "build", "section", at the
    start of a heading line when all parts are below 64, or when it starts with 1-9 and no
    word such as "IP", "address", "host", "server", "DNS" comes shortly before it);
    ``PHONE_NUMBER`` (E.164
    international with ``+``, NANP, national numbers with a trunk 0, Chinese mobiles, and 10-11
    digits without separators shortly after phone/tel/call/mobile/cell/fax/contact);
    ``PAYMENT_CARD`` (13-19 digits, Luhn check, known issuer prefix and length); ``IBAN``
    (ISO 13616 mod-97 and per-country length); ``US_SSN`` (dashed, or 9 digits right after
    "SSN" or "social security (number)"; SSA area/group/serial rules); ``CN_RESIDENT_ID`` (GB 11643: 18 characters, ISO 7064 MOD 11-2 check digit,
    birth date 1900-2030); ``SECRET`` (AWS, GitHub, GitLab, Slack, Stripe and Google key
    prefixes, PEM private key blocks, and values of 16+ characters with letters, digits and
    at least 3.5 bits/character of entropy right after key/token/secret/password keywords).
    NULL gives NULL; a text without findings gives an empty list. Rules written for this
    project from the formats' published specifications; see ``corpusql.udfs.pii``.
    """
    rows, results = _candidates(text, KINDS)
    counts = np.zeros(len(text), dtype=np.int32)
    kinds, starts, ends = [], [], []
    for row, found in zip(rows, results):
        counts[row] = len(found)
        for kind, s, e in found:
            kinds.append(kind)
            starts.append(s)
            ends.append(e)
    offsets = np.zeros(len(text) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    values = pa.StructArray.from_arrays(
        [pa.array(kinds, pa.string()), pa.array(starts, pa.int32()), pa.array(ends, pa.int32())],
        fields=list(SPAN_TYPE))
    mask = text.is_null() if text.null_count else None
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=mask)


def _redacted(s: str, found, style: str) -> str:
    parts, pos = [], 0
    for kind, start, end in found:
        parts.append(s[pos:start])
        if style == "tag":
            parts.append(f"<{kind}>")
        elif style == "mask":
            parts.append("*" * (end - start))
        pos = end
    parts.append(s[pos:])
    return "".join(parts)


def check_redact(*, kinds=KINDS, style: str = "tag") -> None:
    """Refuse unknown kinds, naming the nearest valid one."""
    for kind in kinds or ():
        if kind not in KINDS:
            near = difflib.get_close_matches(str(kind).upper(), KINDS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ValueError(f"pii_redact: unknown kind {kind!r}{hint}; kinds are "
                             + ", ".join(KINDS))


def pii_redact(text: pa.Array, *, kinds=KINDS, style: str = "tag") -> pa.Array:
    """The text with the personal data and secrets of the chosen kinds replaced.

    Finds what :func:`pii_spans` finds (restricted to ``kinds``, a list of kind names, all by
    default) and replaces each finding by style: ``'tag'`` writes ``<KIND>`` (e.g. ``<EMAIL>``,
    ``<IP_ADDRESS>``), ``'mask'`` writes as many ``*`` as the finding has code points (offsets
    of the rest of the text stay valid), ``'remove'`` deletes it. NULL gives NULL, '' gives '';
    an empty ``kinds`` list changes nothing. Same rules and sources as ``pii_spans``.
    """
    kinds = [k for k in KINDS if k in set(kinds or ())]
    if not kinds or len(text) == 0:
        return text
    rows, results = _candidates(text, kinds)
    changed = [(row, found) for row, found in zip(rows, results) if found]
    if not changed:
        return text
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        text = text.cast(pa.large_string())
    strings = pc.take(text, pa.array([r for r, _ in changed])).to_pylist()
    new = pa.array([_redacted(s, f, style) for s, (_, f) in zip(strings, changed)], text.type)
    index = np.arange(len(text), dtype=np.int64)
    index[[r for r, _ in changed]] = len(text) + np.arange(len(changed))
    return pc.take(pa.concat_arrays([text, new]), pa.array(index))
