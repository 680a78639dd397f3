"""``corpusql.spark.catalog_views``: catalog datasets as Spark temp views, lineage included.

Each dataset becomes a Spark temp view of the same name with the columns, column types and
``_file``/``_row`` values of its DuckDB catalog view. Its files are read by corpusql's own
readers inside the Spark executors (a Spark Python data source, one partition per file, Arrow
batches): local and cached Parquet from disk, S3 through s3fs, HTTP through fsspec, so every
source DuckDB reads, Spark reads the same way.

Credentials never enter the query plan: the data source carries the dataset's URI, its plain
options and the *name* of its secret; the executor that opens a remote file reads the values
from the secrets store itself (the driver's store path, else the executor's own
``$CORPUSQL_SECRETS``). Why not S3A: pyspark's pip package has no hadoop-aws or AWS SDK jars,
and no installable package ships ones that match its Hadoop (see docs/scale-out.md).

Access: ``role=`` (or a role connection, ``corpusql.connect(db, role=...)``) gives views of the
role's granted datasets only, read from the same files as the role's DuckDB views (masked
copies for masked datasets); asking for another dataset fails and creates nothing.
"""

from __future__ import annotations

import atexit
import difflib
import json
import logging
import os
from dataclasses import dataclass, field

import pyarrow as pa

from ..errors import CatalogError

log = logging.getLogger("corpusql.spark")

#: Rows per Arrow batch a file is read in.
BATCH_ROWS = 8192


class CatalogViewError(CatalogError, ValueError):
    """A dataset cannot become a Spark view (unknown, not granted, or unreadable)."""


@dataclass
class DatasetFiles:
    """What one dataset's view reads: ``files`` are dicts with ``path`` (what to open),
    ``size``, ``remote`` and ``lineage`` (the ``_file`` value for a file read where it lies;
    None for a copy that holds its own lineage columns). ``schema``: the DuckDB view's Arrow
    schema. ``moves``: ``(old, new)`` catalog directories rewritten in cached ``_file`` values."""

    name: str
    uri: str
    options: dict
    secret: str | None
    lineage: tuple[str, str]
    schema: pa.Schema
    files: list[dict] = field(default_factory=list)
    moves: list[tuple[str, str]] = field(default_factory=list)


# -- the driver: which files each dataset's view reads ----------------------------------------

_KEEP: list = []  # role setups whose masked copies Spark views read, removed at exit


def catalog_views(spark, lake, datasets: list[str] | None = None, *, role: str | None = None):
    """Make each catalog dataset of ``lake`` a Spark temp view; returns ``{name: DataFrame}``.

    ``lake``: a database file path (``"lake.duckdb"``) or a DuckDB/corpusql connection on one.
    ``datasets``: names to make (default: every dataset with a view). ``role``: with a path,
    only that role's granted datasets, as its role connection sees them; a role connection
    passed as ``lake`` is the same. The views have the DuckDB views' columns and ``_file``/
    ``_row`` values; the files are read when Spark runs a query, in the executors.
    """
    plans = dataset_files(lake, datasets, role=role)
    from .session import require_pyspark

    require_pyspark()
    frames = {}
    for plan in plans:
        frames[plan.name] = _frame(spark, plan)
        frames[plan.name].createOrReplaceTempView(plan.name)
    return frames


def dataset_files(lake, datasets: list[str] | None = None, *,
                  role: str | None = None) -> list[DatasetFiles]:
    """What :func:`catalog_views` reads per dataset (see there), without Spark."""
    import duckdb

    if isinstance(lake, duckdb.DuckDBPyConnection):
        from ..catalog.roles import entered

        setup = entered(lake)
        if setup is not None:
            if role is not None and role != setup.role:
                raise CatalogViewError(f"role={role!r} given with a connection of role "
                                       f"{setup.role!r}")
            return _role_files(lake, setup, datasets)
        if role is not None:
            raise CatalogViewError("role= needs the database path, not a connection: "
                                   "catalog_views(spark, 'lake.duckdb', role=...)")
        if _locked(lake):
            raise CatalogViewError("this connection is locked down but not a corpusql role "
                                   "connection; pass the database path and role=")
        return _owner_files(lake, datasets)
    path = os.fspath(lake)
    if role is not None:
        from ..catalog.roles import prepare

        setup = prepare(path, role)
        try:
            con = duckdb.connect(setup.path, read_only=True)
            try:
                setup.enter(con)
                out = _role_files(con, setup, datasets)
            finally:
                con.close()
        except BaseException:
            setup.cleanup()
            raise
        _KEEP.append(setup)  # masked copies may live in its directory
        return out
    from ..catalog.roles import _open_shared

    con = _open_shared(path)
    try:
        from ..catalog import attach

        attach(con)
        return _owner_files(con, datasets)
    finally:
        con.close()


@atexit.register
def _cleanup() -> None:
    for setup in _KEEP:
        setup.cleanup()


def _locked(con) -> bool:
    return str(con.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]
               ).lower() == "true"


def _pick(have: list[str], wanted: list[str] | None, refuse) -> list[str]:
    if wanted is None:
        return have
    for name in wanted:
        if name not in have:
            refuse(name)
    return list(dict.fromkeys(wanted))


def _not_in_catalog(have: list[str]):
    def refuse(name: str):
        hint = difflib.get_close_matches(name, have, n=1)
        more = f"; did you mean {hint[0]!r}?" if hint else ""
        raise CatalogViewError(f"dataset {name!r} is not in the catalog (or has no view: "
                               f"add or sync it){more}")
    return refuse


def _view_schema(con, name: str) -> pa.Schema:
    from ..catalog.views import ident

    return con.sql(f"SELECT * FROM {ident(name)} LIMIT 0").to_arrow_table().schema


def _owner_files(con, datasets) -> list[DatasetFiles]:
    """Every dataset of an owner's (unrestricted) connection, as its stored view reads it."""
    from ..catalog.core import catalog_dir
    from ..catalog.schemas import lineage_of
    from ..catalog.sources import Source
    from ..catalog.views import resolve

    base = catalog_dir(con)
    rows = {n: (u, json.loads(o) if o else {}, s) for n, u, o, s in con.execute(
        "SELECT name, uri, options, secret FROM corpusql.datasets ORDER BY name").fetchall()}
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal"
                                       ).fetchall()}
    have = [n for n in rows if n in views]
    for n in rows:
        if n not in views:
            log.warning("dataset %s has no view (its add failed): no Spark view made", n)
    out = []
    for name in _pick(have, datasets, _not_in_catalog(have)):
        uri, options, secret = rows[name]
        src = Source(resolve(uri, base), options, secret)
        plan = DatasetFiles(name, src.uri, options, secret, lineage_of(options),
                            _view_schema(con, name))
        for path, cache, size in con.execute(
                "SELECT path, cache_path, size FROM corpusql.files WHERE dataset = ? "
                "AND NOT quarantined ORDER BY path", [name]).fetchall():
            if cache:
                plan.files.append({"path": resolve(cache, base), "size": None, "remote": False,
                                   "lineage": None})
            else:
                p = resolve(path, base)
                plan.files.append({"path": p, "size": size, "remote": src.remote, "lineage": p})
        if src.scheme == "file" and base is not None:
            plan.moves = [(old, base) for old in _moved_from(con, base)]
        out.append(plan)
    return out


def _moved_from(con, base: str) -> list[str]:
    """Directories the catalog was at before ``base`` (as the catalog's views rewrite them)."""
    settings = dict(con.execute("SELECT key, value FROM corpusql.settings WHERE key IN "
                                "('catalog_dir', 'catalog_dirs_before')").fetchall())
    before = json.loads(settings.get("catalog_dirs_before") or "[]")
    built = settings.get("catalog_dir")
    if built and built != base and built not in before:
        before.insert(0, built)  # a read-only connection on a moved lake rebuilt in memory
    return [d for d in before if d != base]


def _unroute(uri: str) -> str:
    """A role's local route ``file://tmp/x`` as the path ``/tmp/x``."""
    return "/" + uri[len("file://"):] if uri.startswith("file://") else uri


def _role_files(con, setup, datasets) -> list[DatasetFiles]:
    """The granted datasets of role connection ``con``, as its TEMP views read them."""
    from ..catalog.roles import RoleError
    from ..catalog.schemas import lineage_of

    have = sorted(setup.views)

    def refuse(name: str):
        raise RoleError(f"dataset {name!r} is not granted to role {setup.role!r}: no Spark view "
                        "is made for it (grant it with catalog.grant)")

    out = []
    for name in _pick(have, datasets, refuse):
        v = setup.views[name]
        src = v["source"]
        sizes = {f["path"]: f["size"] for f in v["files"]}
        plan = DatasetFiles(name, src.uri, src.options, src.secret, lineage_of(src.options),
                            _view_schema(con, name))
        for uri in v["cached"]:
            plan.files.append({"path": _unroute(uri), "size": None, "remote": False,
                               "lineage": None})
        for uri in v["live"]:
            p = uri if src.remote else _unroute(uri)
            plan.files.append({"path": p, "size": sizes.get(p), "remote": src.remote,
                               "lineage": p})
        out.append(plan)
    return out


# -- Spark: one Python data source per dataset -------------------------------------------------


def spark_arrow_type(t: pa.DataType) -> pa.DataType:
    """The Arrow type a view column travels in to Spark: unsigned integers widened (as in
    :mod:`corpusql.spark.types`), string views and large types made plain."""
    if pa.types.is_uint64(t):
        return pa.decimal128(20, 0)
    if pa.types.is_uint32(t):
        return pa.int64()
    if pa.types.is_uint16(t):
        return pa.int32()
    if pa.types.is_uint8(t):
        return pa.int16()
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t) or \
            pa.types.is_fixed_size_list(t):
        return pa.list_(spark_arrow_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, spark_arrow_type(f.type)) for f in t])
    if pa.types.is_map(t):
        return pa.map_(spark_arrow_type(t.key_type), spark_arrow_type(t.item_type))
    return t


def _frame(spark, plan: DatasetFiles):
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = pa.schema([pa.field(f.name, spark_arrow_type(f.type)) for f in plan.schema])
    try:
        struct = from_arrow_schema(schema)
    except TypeError as exc:
        raise CatalogViewError(f"dataset {plan.name!r}: a column type has no Spark form: "
                               f"{exc}") from None
    spec = {"name": plan.name, "uri": plan.uri, "options": plan.options, "secret": plan.secret,
            "secrets_path": _store_path(), "lineage": plan.lineage, "files": plan.files,
            "moves": plan.moves}
    fmt = f"corpusql_catalog_{plan.name}"
    spark.dataSource.register(_source_class(fmt, spec))
    return spark.read.format(fmt).schema(struct).load()


def _store_path() -> str:
    from ..catalog.secrets import store_path

    return str(store_path())


def _source_class(fmt: str, spec: dict):
    """A data source class holding ``spec`` (file list, secret *name*): nothing of it is a
    query option, so a Spark user cannot point it at other files or secrets."""
    from pyspark.sql.datasource import DataSource

    class CatalogSource(DataSource):
        @classmethod
        def name(cls) -> str:
            return fmt

        def schema(self):
            raise CatalogViewError(f"dataset {spec['name']!r}: read it through "
                                   "corpusql.spark.catalog_views, which gives the schema")

        def reader(self, schema):
            return _reader(spec, schema)

    CatalogSource.__qualname__ = CatalogSource.__name__ = f"CatalogSource_{spec['name']}"
    return CatalogSource


def _reader(spec: dict, schema):
    from pyspark.sql.datasource import DataSourceReader, InputPartition

    class Reader(DataSourceReader):
        def partitions(self):
            return [InputPartition(i) for i in range(len(spec["files"]))]

        def read(self, partition):
            yield from read_file(spec, schema, partition.value)

    return Reader()


# -- the executor: one file as Arrow batches ---------------------------------------------------

_BACKENDS: dict = {}


def _backend(spec: dict):
    """The dataset's remote backend in this executor, credentials read from the secrets
    store here (never from the plan)."""
    key = (spec["name"], spec["uri"], spec["secret"])
    backend = _BACKENDS.get(key)
    if backend is None:
        from ..catalog.sources import Source

        if spec["secret"] and os.path.exists(spec["secrets_path"]):
            os.environ["CORPUSQL_SECRETS"] = spec["secrets_path"]
        try:
            backend = Source(spec["uri"], spec["options"], spec["secret"]).backend()
        except Exception as exc:
            raise CatalogViewError(
                f"dataset {spec['name']!r}: cannot reach {spec['uri']} from this executor: "
                f"{exc} (the executors read secret {spec['secret']!r} from the secrets store "
                f"{spec['secrets_path']} or their own CORPUSQL_SECRETS: set "
                "spark.executorEnv.CORPUSQL_SECRETS)") from exc
        _BACKENDS[key] = backend
    return backend


def _moved(col: pa.Array, moves: list) -> pa.Array:
    import pyarrow.compute as pc

    for old, new in moves:
        prefix = old + "/"
        hit = pc.starts_with(col, prefix)
        col = pc.if_else(hit, pc.binary_join_element_wise(
            new, pc.utf8_slice_codeunits(col, len(old)), ""), col)
    return col


def read_file(spec: dict, schema, index: int):
    """File ``index`` of ``spec`` as Arrow record batches in the view's column order and
    Spark's types: missing columns NULL, lineage added to files read where they lie."""
    import pyarrow.parquet as pq
    from pyspark.sql.pandas.types import to_arrow_schema

    f = spec["files"][index]
    target = to_arrow_schema(schema)
    lin_file, lin_row = spec["lineage"]
    handle = _backend(spec).open(f["path"], f["size"]) if f["remote"] else open(f["path"], "rb")
    try:
        pf = pq.ParquetFile(handle)
        row = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            n = batch.num_rows
            have = dict(zip(batch.schema.names, batch.columns))
            if f["lineage"] is not None:
                have[lin_file] = pa.array([f["lineage"]] * n, pa.string())
                have[lin_row] = pa.array(range(row + 1, row + n + 1), pa.int64())
            elif spec["moves"] and lin_file in have:
                have[lin_file] = _moved(have[lin_file], spec["moves"])
            row += n
            cols = []
            for fld in target:
                col = have.get(fld.name)
                if col is None:
                    cols.append(pa.nulls(n, fld.type))
                    continue
                try:
                    cols.append(col.cast(fld.type))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise CatalogViewError(
                        f"dataset {spec['name']!r}: file {f['lineage'] or f['path']}: column "
                        f"{fld.name} ({col.type}) cannot be read as {fld.type}: {exc}") from exc
            yield pa.RecordBatch.from_arrays(cols, schema=target)
    finally:
        handle.close()
