"""The ``build`` step of a night on Spark (``customer-status run --engine spark``).

Ingestion and the import checks ran on DuckDB as on every night; then:

1. the working file's ``raw`` tables (the accepted rows, the ledger, the rejects) and the
   ``published`` billing snapshot are exported as Parquet to the lake folder (one folder
   per table; timestamps as UTC instants) and registered as the cluster's ``raw`` and
   ``published`` tables (external Parquet tables in its metastore);
2. dbt builds the same project on the ``spark`` target (dbt-spark, Thrift), incrementally
   like a DuckDB night when the last build was a Spark build of the same project
   (``pipeline.build.plan_build``): the per-customer models rewrite their table without the
   touched customers and append their new rows (plain Parquet tables have no DELETE:
   macros/cross_engine/portable.sql). A Spark build that did not finish (its marker file is
   left) makes the next one a full refresh: its tables may lack customers;
3. the marts are built into the cluster's ``marts_candidate`` database. The audits (the
   reclassification suites, ``checks.gx_reclassification``) run on the cluster, on the
   tables it built. Only what the working file needs (``COPIED_BACK``: the candidate marts,
   as ``marts``, for the atomic publish and the report, and two small tables) is written back
   to the lake as Parquet and replaces its table in the working DuckDB file;
4. in the publish step, after every check passed, ``publish_cluster_marts`` rewrites the
   cluster's own ``marts`` database from ``marts_candidate``, just before the DuckDB
   warehouse is replaced: a night that fails a check leaves both as the last good night.

The account-status fold is a recursive CTE (rules §4): Spark stops a recursion after
``spark.sql.cteRecursionLevelLimit`` levels or ``cteRecursionRowLimit`` rows. Both are set
from the data before dbt runs (``recursion_limits``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from pathlib import Path

import duckdb

from .. import pipeline_db
from ..pipeline_db import quote_ident, quote_literal
from ..settings import Paths
from . import cluster

log = logging.getLogger(__name__)

EXPORTED_SCHEMAS = ("raw", "published")
# the cluster's database the marts are built in (macros/cross_engine/portable.sql,
# engine_schema_name) and the one readers on the cluster use, rewritten when a night publishes
CANDIDATE_SCHEMA, PUBLISHED_SCHEMA = "marts_candidate", "marts"
# the schemas dbt builds on the cluster (dbt_project.yml) -> their schema in the working file
BUILT_SCHEMAS = {
    "rules": "rules",
    "staging": "staging",
    "intermediate": "intermediate",
    CANDIDATE_SCHEMA: "marts",
}
# What the working file needs of a Spark build, by cluster schema (None: every table): the
# candidate marts, which the publish step copies to the warehouse and the report reads, and
# the two small tables the report and the per-tenant publish read (``checks.dbt_relations``).
# Every other table dbt built stays on the cluster, where the audits read it; the working
# file's own copies from an earlier DuckDB build are dropped (a switch of engine is a full
# refresh: ``pipeline.build.plan_build``).
COPIED_BACK: dict[str, frozenset[str] | None] = {
    "intermediate": frozenset({"int_run_parameters", "int_tenants"}),
    CANDIDATE_SCHEMA: None,
}
# a side table of the per-customer pre-hook, left only by a build that failed in it
SIDE_TABLE_SUFFIX = "__kept"
# Spark's own defaults: never set lower than these
MIN_LEVELS, MIN_ROWS = 100, 1_000_000


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = ? order by table_name",
            [schema],
        ).fetchall()
    ]


def _instants(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """A select of ``schema.table`` whose naive timestamps (UTC, rules §1) become instants:
    Parquet then marks them as UTC-adjusted and Spark reads its own TIMESTAMP type, not
    TIMESTAMP_NTZ."""
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name = ? and table_name = ? "
        "order by column_index",
        [schema, table],
    ).fetchall()
    select = [
        f"timezone('UTC', {quote_ident(c)}) as {quote_ident(c)}"
        if t == "TIMESTAMP"
        else quote_ident(c)
        for c, t in columns
    ]
    return f"select {', '.join(select)} from {schema}.{quote_ident(table)}"


def export_inputs(con: duckdb.DuckDBPyConnection, lake: Path) -> dict[str, list[str]]:
    """Every ``raw`` and ``published`` table as ``lake/<schema>/<table>/part-0.parquet``."""
    exported: dict[str, list[str]] = {}
    for schema in EXPORTED_SCHEMAS:
        exported[schema] = []
        for table in _tables(con, schema):
            folder = lake / schema / table
            folder.mkdir(parents=True)
            con.execute(
                f"copy ({_instants(con, schema, table)}) to "
                f"{quote_literal(str(folder / 'part-0.parquet'))} (format parquet)"
            )
            exported[schema].append(table)
    return exported


def recursion_limits(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Upper bounds for the fold's recursion (levels, rows), from the raw rows it can read.

    The fold takes one level per request of a customer's history and yields one row per
    request (rules §4). Every request comes from a status action, a status-import row or a
    customer version (self-deletion, merge), so the most rows of one (tenant, customer) among
    those bounds the levels (import rows without a customer id count all together), and
    their total bounds the rows."""
    parts = [
        f"select tenant_id, customer_id from raw.{table}"
        for table in ("status_actions", "status_imports", "customers")
        if table in _tables(con, "raw")
    ]
    if not parts:
        return MIN_LEVELS, MIN_ROWS
    deepest, total = con.execute(
        "select coalesce(max(n), 0), coalesce(sum(n), 0) from ("
        "  select count(*) as n from (" + " union all ".join(parts) + ") group by all)"
    ).fetchone()
    return max(MIN_LEVELS, int(deepest) + 10), max(MIN_ROWS, 2 * int(total) + 1000)


def _execute(cur, sql: str) -> None:
    log.debug("spark | %s", sql)
    cur.execute(sql)


def register_inputs(address: cluster.Thrift, lake: Path, exported: dict[str, list[str]]) -> None:
    """The exported folders as the cluster's ``raw`` and ``published`` tables (Parquet)."""
    with (
        contextlib.closing(cluster.connect(address)) as con,
        contextlib.closing(con.cursor()) as cur,
    ):
        for schema, tables in exported.items():
            _execute(cur, f"create database if not exists {schema}")
            _execute(cur, f"show tables in {schema}")
            for row in cur.fetchall():
                if row[1] not in tables:  # a table that no longer exists in the work file
                    _execute(cur, f"drop table if exists {schema}.`{row[1]}`")
            for table in tables:
                location = (lake / schema / table).as_uri()
                _execute(cur, f"drop table if exists {schema}.`{table}`")
                _execute(
                    cur,
                    f"create table {schema}.`{table}` using parquet location '{location}'",
                )


def export_built(address: cluster.Thrift, out: Path) -> dict[str, list[str]]:
    """The tables of dbt's build the working file needs (``COPIED_BACK``) as Parquet under
    ``out/<working-file schema>/<table>``, by the working file's schema (the candidate marts
    become ``marts``; a built schema with nothing to copy maps to no table)."""
    built: dict[str, list[str]] = {}
    with (
        contextlib.closing(cluster.connect(address)) as con,
        contextlib.closing(con.cursor()) as cur,
    ):
        for schema, work_schema in BUILT_SCHEMAS.items():
            wanted = COPIED_BACK.get(schema, frozenset())
            if wanted == frozenset():
                built[work_schema] = []
                continue
            _execute(cur, f"show tables in {schema}")
            built[work_schema] = sorted(
                row[1]
                for row in cur.fetchall()
                if not row[2]  # no views
                and not row[1].endswith(SIDE_TABLE_SUFFIX)
                and (wanted is None or row[1] in wanted)
            )
            for table in built[work_schema]:
                _execute(
                    cur,
                    f"insert overwrite directory '{(out / work_schema / table).as_uri()}' "
                    f"using parquet select * from {schema}.`{table}`",
                )
    return built


def import_built(
    con: duckdb.DuckDBPyConnection, out: Path, built: dict[str, list[str]]
) -> dict[str, int]:
    """The cluster's tables replace the working file's (one transaction); a table of a built
    schema that is not among them is dropped (stale, or left on the cluster). Spark writes timestamps as UTC
    instants; they become the naive UTC timestamps DuckDB's models produce."""
    counts = {}
    con.execute("begin")
    try:
        for schema, tables in built.items():
            con.execute(f"create schema if not exists {schema}")
            for table in _tables(con, schema):
                if table not in tables:
                    con.execute(f"drop table {schema}.{quote_ident(table)}")
            for table in tables:
                folder = out / schema / table
                if not any(folder.glob("*.parquet")):
                    raise cluster.SparkError(
                        f"Spark wrote no Parquet file for {schema}.{table} ({folder})"
                    )
                source = f"read_parquet({quote_literal(str(folder / '*.parquet'))})"
                columns = con.execute(f"describe select * from {source}").fetchall()
                select = ", ".join(
                    f"timezone('UTC', {quote_ident(c[0])}) as {quote_ident(c[0])}"
                    if c[1] == "TIMESTAMP WITH TIME ZONE"
                    else quote_ident(c[0])
                    for c in columns
                )
                name = f"{schema}.{quote_ident(table)}"
                con.execute(f"create or replace table {name} as select {select} from {source}")
                counts[name] = con.execute(f"select count(*) from {name}").fetchone()[0]
        _alias_cluster_schemas(con, built)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return counts


def unfinished_marker(work_dir: Path) -> Path:
    """Present while a Spark build runs; left by one that failed or was killed."""
    return cluster.spark_dir(work_dir) / "build-unfinished.json"


def _alias_cluster_schemas(con: duckdb.DuckDBPyConnection, built: dict[str, list[str]]) -> None:
    """Where a cluster schema has another name in the working file (``marts_candidate`` ->
    ``marts``), views under the cluster's name: the night's dbt manifest names the tables
    as the cluster built them, and the audits and the report find them through it
    (``checks.dbt_relations``)."""
    for cluster_schema, work_schema in BUILT_SCHEMAS.items():
        if cluster_schema == work_schema or work_schema not in built:
            continue
        con.execute(f"create schema if not exists {cluster_schema}")
        for (view,) in con.execute(
            "select view_name from duckdb_views() where database_name = current_database() "
            "and schema_name = ?",
            [cluster_schema],
        ).fetchall():
            con.execute(f"drop view {cluster_schema}.{quote_ident(view)}")
        for table in built[work_schema]:
            con.execute(
                f"create view {cluster_schema}.{quote_ident(table)} as "
                f"select * from {work_schema}.{quote_ident(table)}"
            )


def run_build(paths: Paths, as_of_date: str, env: dict[str, str], dbt_args: list[str]) -> None:
    """Export, build on the cluster, bring the marts back. ``env``/``dbt_args``: dbt's
    environment and ``dbt build`` arguments as a DuckDB night would use them
    (``pipeline.build``), without the target."""
    from ..pipeline import build

    address = cluster.thrift_address(paths.work_dir)
    marker = unfinished_marker(paths.work_dir)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"as_of_date": as_of_date, "args": dbt_args}))
    lake = cluster.lake_dir(paths.work_dir)
    started = time.monotonic()
    inputs, out = lake / "inputs", lake / "built"
    for folder in (inputs, out):
        shutil.rmtree(folder, ignore_errors=True)
    with pipeline_db.connect(paths.work_db) as con:
        exported = export_inputs(con, inputs)
        levels, rows = recursion_limits(con)
    register_inputs(address, inputs, exported)
    log.info(
        "spark %s: raw tables registered from %s in %.1fs (recursion limits: %d levels, %d rows)",
        address,
        inputs,
        time.monotonic() - started,
        levels,
        rows,
    )
    env = {
        **env,
        "CUSTOMER_STATUS_SPARK_HOST": address.host,
        "CUSTOMER_STATUS_SPARK_PORT": str(address.port),
        "CUSTOMER_STATUS_SPARK_CTE_LEVELS": str(levels),
        "CUSTOMER_STATUS_SPARK_CTE_ROWS": str(rows),
    }
    build.run_dbt(paths, as_of_date, [*dbt_args, "--target", "spark"], env, engine="spark")
    started = time.monotonic()
    built = export_built(address, out)
    with pipeline_db.connect(paths.work_db) as con:
        counts = import_built(con, out, built)
    marker.unlink()
    log.info(
        "spark %s: %d tables copied into the working file in %.1fs (marts: %s)",
        address,
        len(counts),
        time.monotonic() - started,
        ", ".join(f"{t} {n:,}" for t, n in counts.items() if t.startswith("marts.")),
    )


def _columns(cur, relation: str) -> list[tuple[str, str]]:
    _execute(cur, f"describe {relation}")
    columns = []
    for name, data_type, *_ in cur.fetchall():
        if not name or name.startswith("#"):  # partition information follows
            break
        columns.append((name, data_type))
    return columns


def built_on_spark(paths: Paths, run_id: str) -> bool:
    """True when run ``run_id``'s dbt build ran on Spark (``ops.dbt_builds``)."""
    if not paths.work_db.exists():
        return False
    with pipeline_db.connect(paths.work_db) as con:
        pipeline_db.ensure(con, pipeline_db.DBT_BUILDS)
        row = con.execute(
            "select fingerprint from ops.dbt_builds where run_id = ? order by built_at desc",
            [run_id],
        ).fetchone()
    return row is not None and row[0].startswith("spark:")


def publish_cluster_marts(paths: Paths, run_id: str) -> list[str]:
    """After every check passed: the cluster's ``marts`` database becomes the night's
    candidate marts (each contracted mart rewritten from ``marts_candidate``; a table no
    contract names is dropped). Nothing to do for a night built on DuckDB. Returns the
    marts written."""
    from ..pipeline import published

    if not built_on_spark(paths, run_id):
        return []
    address = cluster.thrift_address(paths.work_dir)
    marts = published.marts(paths.dbt_project)
    started = time.monotonic()
    with (
        contextlib.closing(cluster.connect(address)) as con,
        contextlib.closing(con.cursor()) as cur,
    ):
        _execute(cur, f"create database if not exists {PUBLISHED_SCHEMA}")
        _execute(cur, f"show tables in {PUBLISHED_SCHEMA}")
        existing = {row[1] for row in cur.fetchall() if not row[2]}
        for name in marts:
            source = f"{CANDIDATE_SCHEMA}.`{name}`"
            target = f"{PUBLISHED_SCHEMA}.`{name}`"
            if name in existing and _columns(cur, target) == _columns(cur, source):
                _execute(cur, f"insert overwrite table {target} select * from {source}")
            else:  # new, or its columns changed (a mart gained a column)
                _execute(cur, f"drop table if exists {target}")
                _execute(cur, f"create table {target} using parquet as select * from {source}")
        for stale in sorted(existing - set(marts)):
            _execute(cur, f"drop table {PUBLISHED_SCHEMA}.`{stale}`")
    log.info(
        "spark %s: the cluster's %s database is tonight's %d marts (%.1fs)",
        address,
        PUBLISHED_SCHEMA,
        len(marts),
        time.monotonic() - started,
    )
    return sorted(marts)
