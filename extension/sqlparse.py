"""What a SQL statement reads and calls, answered by sqlglot's DuckDB dialect.

One module answers the questions the materializer, the manifest and the SQL library loader ask
of SQL text:

- :func:`reads`: the tables a statement reads (CTE names are not tables: ``WITH docs AS (...)
  SELECT * FROM docs`` reads no table ``docs``), the file literals it reads (``FROM
  'x.parquet'``, ``read_parquet(['a.parquet', 'b.parquet'])``), and the string literals that
  look like names (a table macro takes its table as text: ``near_dup_clusters('docs', 'text')``).
- :func:`calls`: the functions and macros a statement calls, lower-cased.
- :func:`macro_body`: the body of a ``CREATE MACRO name(params) AS [TABLE] body`` statement
  (sqlglot cannot read DuckDB's ``:=`` parameter defaults in the header; the body parses).

Comments and string literals are never read as SQL: ``-- quality_score(x)`` calls nothing and
``'see quality_score(text)'`` is a string. When sqlglot cannot parse a statement (DuckDB syntax
it does not know), the answers come from sqlglot's tokenizer instead: every name followed by
``(`` is a call and every other name may be a table (the safe side for a manifest: it may list a
table the query does not read, never miss one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.tokens import Token, TokenType

#: A string literal that names a data file (what DuckDB's replacement scans and readers take).
FILE_LITERAL = re.compile(r"\.(?:parquet|csv|json|jsonl|ndjson|tsv|txt)(?:\.gz|\.zst)?$",
                          re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_]\w*$")
_NAME_TOKENS = (TokenType.VAR, TokenType.IDENTIFIER)


class LibraryDuckDB(DuckDB):
    """DuckDB as corpusql's SQL library writes it: ``len`` is the size of a list."""

    class Parser(DuckDB.Parser):
        FUNCTIONS = {
            **DuckDB.Parser.FUNCTIONS,
            "LEN": lambda args: exp.ArraySize(this=args[0]),
        }


@dataclass(frozen=True)
class Reads:
    """What one SQL text reads. Names are lower-cased; ``tables`` holds unqualified names and
    ``schema.name`` for qualified ones; ``files`` the file literals, in order of appearance."""

    tables: frozenset[str]
    files: tuple[str, ...]
    names: frozenset[str]  # string literals that look like identifiers ('docs')
    parsed: bool  # False: sqlglot could not parse the text and the tokenizer answered


def tokens(sql: str) -> list[Token]:
    """sqlglot's DuckDB tokens of ``sql`` (comments dropped, literals kept whole)."""
    return LibraryDuckDB().tokenize(sql)


@lru_cache(maxsize=512)
def _parse(sql: str) -> tuple[exp.Expression, ...] | None:
    try:
        trees = sqlglot.parse(sql, read=LibraryDuckDB)
    except SqlglotError:
        return None
    return tuple(t for t in trees if t is not None)


def _table_name(t: exp.Table) -> str:
    name = t.name.lower()
    return f"{t.db.lower()}.{name}" if t.db else name


def _named_tables(tree: exp.Expression) -> set[int]:
    """ids of the Table nodes that name a table (not a CTE of an enclosing scope)."""
    try:
        scopes = traverse_scope(tree)
    except SqlglotError:
        scopes = []
    if scopes:
        return {id(src) for scope in scopes for src in scope.sources.values()
                if isinstance(src, exp.Table)}
    ctes = {c.alias.lower() for c in tree.find_all(exp.CTE)}  # CREATE, COPY, ...
    return {id(t) for t in tree.find_all(exp.Table) if t.db or t.name.lower() not in ctes}


def reads(sql: str) -> Reads:
    """The tables, file literals and name-like strings ``sql`` reads (see the module docstring).

    File literals and names are taken where a query reads from: ``FROM 'x.parquet'`` and the
    string arguments of table functions and table macros in FROM (``read_parquet('a.parquet')``,
    ``near_dup_clusters('docs', 'text')``); a string compared in WHERE or written by ``COPY ...
    TO`` is not read.
    """
    trees = _parse(sql)
    if trees is None:
        return _reads_from_tokens(sql)
    tables: set[str] = set()
    files: list[str] = []
    names: set[str] = set()
    for tree in trees:
        named = _named_tables(tree)
        for t in tree.find_all(exp.Table):
            if isinstance(t.this, exp.Identifier):
                if FILE_LITERAL.search(t.name) and not t.db:
                    if t.name not in files:
                        files.append(t.name)
                elif id(t) in named:
                    tables.add(_table_name(t))
            elif isinstance(t.this, exp.Func):
                for lit in t.this.find_all(exp.Literal):
                    if not lit.is_string:
                        continue
                    if FILE_LITERAL.search(lit.this):
                        if lit.this not in files:
                            files.append(lit.this)
                    elif _NAME.match(lit.this):
                        names.add(lit.this.lower())
    return Reads(frozenset(tables), tuple(files), frozenset(names), True)


def _reads_from_tokens(sql: str) -> Reads:
    toks = tokens(sql)
    tables: set[str] = set()
    files: list[str] = []
    names: set[str] = set()
    for i, tok in enumerate(toks):
        if tok.token_type == TokenType.STRING:
            if FILE_LITERAL.search(tok.text) and tok.text not in files:
                files.append(tok.text)
            elif _NAME.match(tok.text):
                names.add(tok.text.lower())
        elif tok.token_type in _NAME_TOKENS:
            follows = toks[i + 1].token_type if i + 1 < len(toks) else None
            if follows == TokenType.L_PAREN:
                continue
            if tok.token_type == TokenType.IDENTIFIER and FILE_LITERAL.search(tok.text):
                if tok.text not in files:
                    files.append(tok.text)
                continue
            tables.add(tok.text.lower())
    return Reads(frozenset(tables), tuple(files), frozenset(names), False)


def calls(sql: str) -> set[str]:
    """Lower-cased names of the functions and macros ``sql`` calls (never inside a comment or a
    string literal)."""
    trees = _parse(sql)
    if trees is None:
        toks = tokens(sql)
        return {t.text.lower() for t, nxt in zip(toks, toks[1:])
                if nxt.token_type == TokenType.L_PAREN and t.token_type in _NAME_TOKENS}
    out: set[str] = set()
    for tree in trees:
        for f in tree.find_all(exp.Func):
            if isinstance(f, exp.Anonymous):
                out.add(f.name.lower())
            else:
                out.add(f.sql_name().lower())
    return out


@dataclass(frozen=True)
class Call:
    """One call of a function in SQL text: its constant text arguments, positional and named
    (``f(x, 'a', n := 'b')`` -> ``positional=(None, 'a')``, ``named={'n': 'b'}``; a non-literal
    argument is None)."""

    name: str
    positional: tuple[str | None, ...]
    named: dict[str, str | None]


def _literal(node: exp.Expression) -> str | None:
    return node.this if isinstance(node, exp.Literal) and node.is_string else None


def call_sites(sql: str, names: set[str]) -> list[Call]:
    """Every call of a function in ``names`` (lower-case) in ``sql``, with its text arguments.
    Raises ValueError when sqlglot cannot parse ``sql``."""
    trees = _parse(sql)
    if trees is None:
        raise ValueError("sqlglot cannot parse this SQL")
    out = []
    for tree in trees:
        for f in tree.find_all(exp.Anonymous):
            if f.name.lower() not in names:
                continue
            positional, named = [], {}
            for a in f.expressions:
                if isinstance(a, (exp.PropertyEQ, exp.Kwarg)):
                    named[a.this.name.lower()] = _literal(a.expression)
                else:
                    positional.append(_literal(a))
            out.append(Call(f.name.lower(), tuple(positional), named))
    return out


def split_args(text: str) -> list[str]:
    """Split an argument or parameter list at its top-level commas (not inside parentheses,
    brackets, braces or quotes); parts are stripped."""
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def strip_comments(sql: str) -> str:
    """``sql`` without its comments: the text between two tokens becomes one space (a newline
    when it held one); tokens, string literals included, are kept byte for byte."""
    toks = tokens(sql)
    if not toks:
        return ""
    parts = [sql[toks[0].start:toks[0].end + 1]]
    for prev, tok in zip(toks, toks[1:]):
        gap = sql[prev.end + 1:tok.start]
        parts.append("\n" if "\n" in gap else (" " if gap else ""))
        parts.append(sql[tok.start:tok.end + 1])
    return "".join(parts)


def macro_body(create_sql: str) -> str:
    """The body of ``CREATE [OR REPLACE] [TEMP] MACRO name(params) AS [TABLE] body``: the text
    after ``AS`` (``TABLE`` kept) without comments, found by tokens so comments and parameter
    defaults cannot mislead it."""
    text = strip_comments(create_sql)
    toks = tokens(text)
    kinds = [t.token_type for t in toks]
    try:
        start = next(i for i, t in enumerate(toks) if t.text.upper() == "MACRO")
        open_at = kinds.index(TokenType.L_PAREN, start)
    except (StopIteration, ValueError):
        raise ValueError("not a CREATE MACRO statement with a parameter list") from None
    depth = 0
    for i in range(open_at, len(toks)):
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(kinds[i], 0)
        if depth == 0:
            break
    else:
        raise ValueError("the macro's parameter list is not closed")
    if i + 1 >= len(toks) or kinds[i + 1] != TokenType.ALIAS:
        raise ValueError("expected AS after the macro's parameter list")
    return text[toks[i + 1].end + 1:].strip().rstrip(";").strip()
