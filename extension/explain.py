"""DuckDB's messages about a user's query, reworded in the user's terms (the one place that does it).

A corpusql table macro reads its columns by name (``row[text_col]``), so a column typo fails when
DuckDB binds the query, before any check inside the macro runs, as ``Could not find key "txt" in
struct``; a parameter typo fails as ``Macro f() does not support the supplied arguments``; a
value of the wrong type as ``Could not convert string 'x' to INT32``; a kernel's own message
arrives wrapped in ``Python exception occurred while executing the UDF``. :func:`explain` finds
the corpusql call in the query that the message is about and says, with the names the user
typed: which function, which argument, what it got, and the closest valid choice.

Rules (each tried in turn; the first that applies words the message):
- missing struct key K: the corpusql call with the argument 'K' (or whose default is 'K'):
  "f(col_param := 'K'): table 'T' has no column 'K'; did you mean ...? (its columns: ...)";
  without such a call, a struct field: "no field 'K' in the struct; did you mean ...?"
- missing table X named by a call's argument: "f(tbl := 'X'): no table or view 'X' ...";
- unknown named argument of a corpusql function: "f() has no parameter 'p'; did you mean ...?";
- a value DuckDB cannot convert, given to a corpusql parameter: "f(p := v): p takes T, got v";
- a kernel's exception: the kernel's message (which names its function), without the wrapper.
Anything else keeps DuckDB's message, without the statement excerpt (``LINE n: ...``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

import duckdb

from .errors import CorpusqlError, FunctionArgumentError, QueryError
from .sqlparse import split_args

TYPE_NAMES = {"INT8": "TINYINT", "INT16": "SMALLINT", "INT32": "INTEGER", "INT64": "BIGINT",
              "UINT8": "UTINYINT", "UINT32": "UINTEGER", "UINT64": "UBIGINT", "BOOL": "BOOLEAN",
              "FLOAT": "FLOAT", "DOUBLE": "DOUBLE"}


@dataclass(frozen=True)
class Signature:
    name: str
    params: tuple[str, ...]  # in order
    defaults: dict  # parameter -> default as written in the signature


@dataclass
class Call:
    """One call of a corpusql function in the query text, as the user wrote it."""

    sig: Signature
    args: dict  # parameter -> argument text as written (positional ones mapped to names)
    unknown: list  # named arguments the function does not have


@lru_cache(maxsize=1)
def signatures() -> dict[str, Signature]:
    from .introspect import function_rows

    out = {}
    for row in function_rows():
        inner = row.signature[row.signature.index("(") + 1:row.signature.rindex(")")]
        params, defaults = [], {}
        for part in split_args(inner):
            name, _, default = part.partition(":=")
            params.append(name.strip())
            if default:
                defaults[name.strip()] = default.strip()
        out[row.name] = Signature(row.name, tuple(params), defaults)
    return out


def calls(sql: str) -> list[Call]:
    """The corpusql function calls in ``sql``, outermost first."""
    sigs = signatures()
    found = []
    for m in re.finditer(r"\b([a-z_][a-z0-9_]*)\s*\(", sql, re.I):
        sig = sigs.get(m.group(1).lower())
        if sig is None:
            continue
        depth, quote, end = 1, "", None
        for i in range(m.end(), len(sql)):
            ch = sql[i]
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    end = i
                    break
        if end is None:
            continue
        args, unknown = {}, []
        for pos, part in enumerate(split_args(sql[m.end():end])):
            named = re.match(r'^"?([a-z_][a-z0-9_]*)"?\s*(?::=|=>)\s*(.*)$', part, re.I | re.S)
            if named:
                key = named.group(1).lower()
                if key in sig.params:
                    args[key] = named.group(2).strip()
                else:
                    unknown.append(key)
            elif pos < len(sig.params):
                args[sig.params[pos]] = part
        found.append(Call(sig, args, unknown))
    return found


def _literal(text: str) -> str | None:
    m = re.fullmatch(r"'((?:[^']|'')*)'", text.strip())
    return m.group(1).replace("''", "'") if m else None


def _closest(word: str, choices, n: int = 3) -> str:
    near = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.5)
    return "; did you mean " + " or ".join(repr(c) for c in near) + "?" if near else ""


def _columns(con, table: str) -> list[str] | None:
    if con is None:
        return None
    try:
        return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    except (duckdb.Error, RuntimeError):
        return None


def _tables(con) -> list[str]:
    if con is None:
        return []
    try:
        return [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()]
    except (duckdb.Error, RuntimeError):
        return []


def _kind(default: str | None, target: str) -> str:
    """What a parameter takes, in words: from its default as the signature writes it, else
    from the type DuckDB tried to convert to."""
    if default is None or default.upper() == "NULL":
        return f"a {target} value"
    if default.lower() in ("true", "false"):
        return f"true or false (default {default})"
    if default.startswith("["):
        return f"a list (default {default})"
    if default.startswith("'"):
        return f"a string (default {default})"
    return f"a number (default {default})"


def _missing_column(key: str, sql: str, con) -> str | None:
    for call in calls(sql):
        hits = [p for p, a in call.args.items() if _literal(a) == key]
        default = [p for p in call.sig.params if p not in call.args
                   and _literal(call.sig.defaults.get(p, "")) == key]
        if not hits and not default:
            continue
        param = (hits or default)[0]
        tbl_param = call.sig.params[0]
        table = _literal(call.args.get(tbl_param, "")) or "?"
        cols = _columns(con, table) or []
        if hits:
            msg = f"{call.sig.name}({param} := '{key}'): table '{table}' has no column '{key}'"
        else:
            msg = (f"{call.sig.name}(): {param} is '{key}' by default, and table '{table}' has "
                   f"no column '{key}'")
        msg += _closest(key, cols)
        if cols:
            msg += f" (its columns: {', '.join(cols)})"
        if default and not hits:
            msg += f"; pass {param} := the name of one of its columns"
        return msg
    return None


def _rewrite(exc: BaseException, sql: str, con) -> tuple[type[CorpusqlError], str] | None:
    text = str(exc)
    m = re.search(r'Could not find key "([^"]+)" in struct(?:\s*Candidate Entries: (.*))?', text)
    if m:
        msg = _missing_column(m.group(1), sql, con)
        if msg:
            return FunctionArgumentError, msg
        cands = re.findall(r'"([^"]+)"', m.group(2) or "")
        return QueryError, f"no field '{m.group(1)}' in the struct" + _closest(m.group(1), cands)
    m = re.search(r"Table with name (\S+) does not exist!", text)
    if m:
        name = m.group(1)
        for call in calls(sql):
            params = [p for p, a in call.args.items() if _literal(a) == name]
            if params:
                return FunctionArgumentError, (
                    f"{call.sig.name}({params[0]} := '{name}'): no table or view '{name}'"
                    + (_closest(name, _tables(con)) or "; .tables (shell) lists them"))
        return None
    m = re.search(r"Macro (\w+)\(\) does not support the supplied arguments", text)
    if m:
        for call in calls(sql):
            if call.sig.name == m.group(1).lower() and call.unknown:
                bad = call.unknown[0]
                return FunctionArgumentError, (
                    f"{call.sig.name}() has no parameter '{bad}'"
                    + _closest(bad, call.sig.params)
                    + f" (its parameters: {', '.join(call.sig.params)})")
        return None
    m = re.search(r"Could not convert string '((?:[^']|'')*)' to (\w+)", text)
    if m:
        value, target = m.group(1), TYPE_NAMES.get(m.group(2), m.group(2))
        for call in calls(sql):
            for param, arg in call.args.items():
                if _literal(arg) == value and param != call.sig.params[0]:
                    return FunctionArgumentError, (
                        f"{call.sig.name}({param} := {arg}): {param} takes "
                        f"{_kind(call.sig.defaults.get(param), target)}, got the string {arg}")
        return None
    m = re.search(r"Python exception occurred while executing the UDF: (?:\w+(?:Error|Exception)"
                  r": )?(.*)", text, re.S)
    if m:
        return QueryError, m.group(1).strip()
    return None


def without_excerpt(message: str) -> str:
    """``message`` without DuckDB's quotation of the statement (``LINE n: ...`` and the caret
    line under it)."""
    lines = message.splitlines()
    kept = [line for i, line in enumerate(lines)
            if not line.startswith("LINE ") and not (i and lines[i - 1].startswith("LINE "))]
    return "\n".join(kept).rstrip()


def explain(exc: BaseException, sql: str, con: duckdb.DuckDBPyConnection | None = None) -> str:
    """The message for ``exc``, raised by running ``sql`` (on ``con``, used to list columns and
    tables for suggestions), in the user's terms."""
    rewritten = _rewrite(exc, sql, con)
    return rewritten[1] if rewritten else without_excerpt(str(exc))


def user_error(exc: BaseException, sql: str,
               con: duckdb.DuckDBPyConnection | None = None) -> CorpusqlError:
    """A :class:`CorpusqlError` for ``exc`` (raise it ``from exc``)."""
    rewritten = _rewrite(exc, sql, con)
    if rewritten:
        return rewritten[0](rewritten[1])
    return QueryError(without_excerpt(str(exc)))


def translated(exc: BaseException, sql: str,
               con: duckdb.DuckDBPyConnection | None = None) -> CorpusqlError | None:
    """A :class:`FunctionArgumentError` when ``exc`` is a mistake in a corpusql function's
    arguments (the rules above), else None: the caller re-raises ``exc`` unchanged."""
    rewritten = _rewrite(exc, sql, con)
    if rewritten and rewritten[0] is FunctionArgumentError:
        return FunctionArgumentError(rewritten[1])
    return None
