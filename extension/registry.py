"""The declarative registry of SQL-callable kernels.

A kernel is a plain function in ``corpusql.udfs``: column inputs positional (``pyarrow.Array``),
constants keyword-only (plain Python values), one ``pyarrow.Array`` out. Each SQL function is one
:class:`Function` row in :mod:`corpusql.functions`; :mod:`corpusql.binder` turns the rows into
DuckDB Arrow UDFs plus TEMP macros with real parameter names and ``:=`` defaults.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import FunctionArgumentError

REQUIRED = object()

#: How a function treats NULL in its column arguments.
#: ``"null"``: any NULL column argument gives NULL; the kernel never sees NULL rows.
#: ``"kernel"``: the kernel receives NULL rows and returns its documented value for them.
NULL_POLICIES = ("null", "kernel")


class RegistryError(FunctionArgumentError):
    """A registry row is malformed or collides with another."""


@dataclass(frozen=True)
class Param:
    """One SQL parameter.

    ``column=True`` parameters are positional and vectorized; ``column=False`` parameters are
    constants, exposed with a ``:=`` default, checked once per batch and passed to the kernel as
    keyword arguments. ``choices`` or ``low``/``high`` (inclusive) bound a constant's value.
    """

    name: str
    sql_type: str
    default: Any = REQUIRED
    column: bool = True
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    #: The macro casts the argument to ``sql_type`` (e.g. any key type to VARCHAR).
    cast: bool = False
    #: A constant that may be NULL (the kernel receives None and documents what it means).
    nullable: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def check(self, function: str, value: Any) -> None:
        """Raise a ValueError naming the function, parameter, value and allowed range."""
        if value is None:
            if self.nullable:
                return
            raise ValueError(f"{function}: parameter {self.name} must not be NULL")
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise ValueError(
                f"{function}: parameter {self.name} = {value!r} is not one of {allowed}"
            )
        if self.low is not None and value < self.low:
            raise ValueError(
                f"{function}: parameter {self.name} = {value!r} is out of range "
                f"[{self.low}, {'inf' if self.high is None else self.high}]"
            )
        if self.high is not None and value > self.high:
            raise ValueError(
                f"{function}: parameter {self.name} = {value!r} is out of range "
                f"[{'-inf' if self.low is None else self.low}, {self.high}]"
            )


@dataclass(frozen=True)
class Function:
    """One SQL function backed by a kernel."""

    name: str
    kernel: Callable[..., Any]
    params: tuple[Param, ...]
    returns: str
    null: str = "null"
    deterministic: bool = True
    validate: Callable[..., None] | None = None
    #: SQL expressions over a VARCHAR column ``text`` giving sample values for non-text column
    #: parameters, e.g. ``{"signature": "minhash_signature(text)"}``; the generic tests use them.
    examples: dict[str, str] = field(default_factory=dict, compare=False)
    where: str = field(default="", compare=False)
    #: Files shipped in corpusql/udfs/data that the kernel always reads (a bundled model); a
    #: manifest records their sha256. A constant parameter named ``model`` names the model file
    #: a call reads (a bundled model's name or a path) and is recorded the same way.
    model_files: tuple[str, ...] = ()

    @property
    def doc(self) -> str:
        """The kernel docstring, dedented."""
        return inspect.cleandoc(self.kernel.__doc__ or "")

    @property
    def summary(self) -> str:
        """First line of the kernel docstring."""
        return self.doc.splitlines()[0] if self.doc else ""

    @property
    def signature(self) -> str:
        parts = []
        for p in self.params:
            if p.required:
                parts.append(p.name)
            else:
                parts.append(f"{p.name} := {sql_literal(p.default)}")
        return f"{self.name}({', '.join(parts)})"

    @property
    def version(self) -> str:
        """Hash of the kernel's source and the registry row: changes whenever behaviour can."""
        try:
            src = inspect.getsource(self.kernel)
        except (OSError, TypeError):
            src = self.kernel.__qualname__
        params = [(p.name, p.sql_type, "REQUIRED" if p.required else repr(p.default),
                   p.column) for p in self.params]
        row = repr((self.name, params, self.returns, self.null))
        return hashlib.sha256((src + row).encode()).hexdigest()[:12]


def fn(name: str, kernel: Callable, params: Iterable[Param], returns: str, **kw: Any) -> Function:
    """Build a registry row, recording where it was declared (for duplicate-name errors).

    A constant declared without a default (``Param(..., column=False)``) takes the kernel's:
    the kernel's signature is where a parameter's default is written.
    """
    frame = inspect.stack()[1]
    where = f"{frame.filename}:{frame.lineno}"
    params = tuple(_kernel_default(name, kernel, p) for p in params)
    f = Function(name, kernel, params, returns, where=where, **kw)
    _check_row(f)
    return f


def kernel_defaults(kernel: Callable) -> dict[str, Any]:
    """The keyword parameters of ``kernel`` that have a default, with it."""
    return {n: p.default for n, p in inspect.signature(kernel).parameters.items()
            if p.default is not p.empty}


def _kernel_default(name: str, kernel: Callable, p: Param) -> Param:
    if p.column or not p.required:
        return p
    defaults = kernel_defaults(kernel)
    if p.name not in defaults:
        raise RegistryError(f"{name}: constant {p.name} needs a default, here or in "
                            f"{kernel.__qualname__}'s signature")
    return replace(p, default=as_sql_value(defaults[p.name]))


def as_sql_value(value: Any) -> Any:
    """A Python default as the registry holds it: tuples become lists (SQL lists), recursively."""
    if isinstance(value, (list, tuple)):
        return [as_sql_value(v) for v in value]
    return value


def _check_row(f: Function) -> None:
    if f.null not in NULL_POLICIES:
        raise RegistryError(f"{f.name} ({f.where}): null policy {f.null!r} not in {NULL_POLICIES}")
    seen_default = False
    for p in f.params:
        if not p.required:
            seen_default = True
        elif seen_default:
            raise RegistryError(
                f"{f.name} ({f.where}): required parameter {p.name} follows one with a default"
            )
        if not p.column and p.required:
            raise RegistryError(f"{f.name} ({f.where}): constant {p.name} needs a default")
    if not f.kernel.__doc__:
        raise RegistryError(f"{f.name} ({f.where}): kernel {f.kernel.__qualname__} has no docstring")


class Registry:
    """An ordered set of :class:`Function` rows with unique names."""

    def __init__(self, rows: Iterable[Function] = ()) -> None:
        self._rows: dict[str, Function] = {}
        for row in rows:
            self.add(row)

    def add(self, row: Function) -> None:
        old = self._rows.get(row.name)
        if old is not None:
            raise RegistryError(
                f"duplicate function name {row.name!r}: declared at {old.where} and at {row.where}"
            )
        self._rows[row.name] = row

    def __iter__(self):
        return iter(self._rows.values())

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, name: str) -> bool:
        return name in self._rows

    def __getitem__(self, name: str) -> Function:
        return self._rows[name]


def sql_literal(value: Any) -> str:
    """Render a Python default as a SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    raise TypeError(f"no SQL literal for {value!r}")
