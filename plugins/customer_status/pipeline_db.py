"""The pipeline's DuckDB helpers, in one place: connections opened with the project's session
settings, SQL quoting, the clock, and the pipeline's own tables.

- **Connections**: ``connect`` opens a DuckDB file and applies ``tune`` (UTC, the memory
  limit); ``has_table`` asks whether its database has a table. The settings are SET on the session, not given as connect-time config: a process
  may open one file only with one configuration, and dbt-duckdb keeps its own connection open
  in the process that ran it (docs/stack-notes.md).
- **Quoting**: ``quote_ident`` and ``quote_literal`` for names and texts built into SQL.
- **The clock**: ``utc_now`` is the timezone-aware wall clock; ``utc_timestamp`` is the same
  instant as the pipeline's ``timestamp`` columns store it (UTC, naive, to the second).
  Nothing calls the deprecated ``datetime.utcnow``.
- **The pipeline's own tables** (``OWN_TABLES``): the run log (``ops.pipeline_runs``), the dbt
  build record (``ops.dbt_builds``), the ingest ledger and its meanings
  (``raw.ingest_ledger``, ``raw.ingest_ledger_meaning``), the rejects (``raw.import_rejects``)
  and the status imports (``raw.status_imports``). ``ensure`` creates each one if it is
  missing and migrates a work file made by an older version to today's shape, here and
  nowhere else. The landing sources' raw tables are not among them: their columns are the
  sources' declarations (``ingest/sources.py``, ``loader.raw_table_ddl``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from .settings import duckdb_memory_limit

# ---------------------------------------------------------------- quoting


def quote_ident(name: str) -> str:
    """A name as a SQL identifier: ``"my ""odd"" column"``."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A text as a SQL string literal: ``'it''s'``."""
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------- the clock


def utc_now() -> datetime:
    """The wall clock, timezone-aware, in UTC."""
    return datetime.now(UTC)


def utc_timestamp() -> datetime:
    """Now as the pipeline's ``timestamp`` columns store it: UTC, naive, to the second."""
    return utc_now().replace(tzinfo=None, microsecond=0)


# ---------------------------------------------------------------- connections


def tune(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Session settings for every DuckDB connection of a run: UTC, and the memory limit.

    Set with SET, not as connect-time config: a process may open a file only with one
    configuration (docs/stack-notes.md)."""
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"set memory_limit = '{duckdb_memory_limit()}'")
    return con


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file ``path`` with the project's session settings (``tune``)."""
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        return tune(con)
    except BaseException:
        con.close()
        raise


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether the connection's own database has the table ``schema.table``."""
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


# ---------------------------------------------------------------- the pipeline's own tables

#: the bookkeeping columns every raw table has after its own
META_COLUMNS = "_source_file varchar, _row_number bigint, _load_id bigint"

RUN_LOG = "ops.pipeline_runs"
DBT_BUILDS = "ops.dbt_builds"
INGEST_LEDGER = "raw.ingest_ledger"
INGEST_LEDGER_MEANING = "raw.ingest_ledger_meaning"
IMPORT_REJECTS = "raw.import_rejects"
STATUS_IMPORTS = "raw.status_imports"
IMPORT_REJECT_KEYS = "raw.import_reject_keys"
ERASURE_KEY = "ops.erasure_key"
ERASURE_CHECKED = "ops.erasure_checked"
ERASURE_SCRUBS = "ops.erasure_scrubs"


@dataclass(frozen=True)
class OwnTable:
    """A table the pipeline itself writes: its ``create table if not exists`` statement, and
    the statements that bring a table made by an older version to this shape (each one a
    no-op on a table that already has it)."""

    name: str  # schema.table
    ddl: str
    migrations: tuple[str, ...] = ()

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]


OWN_TABLES: dict[str, OwnTable] = {
    t.name: t
    for t in (
        # a run is running from its first step; it ends published, failed or abandoned
        OwnTable(
            RUN_LOG,
            """create table if not exists ops.pipeline_runs (
                run_id varchar primary key,
                as_of_date date,  -- NULL only for a run refused for want of a date (context.RunDateError)
                started_at timestamp not null,
                finished_at timestamp,
                outcome varchar not null,
                checks_passed integer,
                checks_failed integer,
                accepted_swing boolean not null,
                failed_step varchar,
                message varchar
            )""",
            # work files made before as_of_date could be NULL
            ("alter table ops.pipeline_runs alter column as_of_date drop not null",),
        ),
        # one row per successful dbt build: the project's fingerprint and the ledger watermark
        OwnTable(
            DBT_BUILDS,
            """create table if not exists ops.dbt_builds (
                run_id varchar, built_at timestamp, fingerprint varchar, full_refresh boolean
            )""",
            ("alter table ops.dbt_builds add column if not exists through_load_id bigint",),
        ),
        # one row per file version the pipeline evaluated (and per file it did not read)
        OwnTable(
            INGEST_LEDGER,
            """create table if not exists raw.ingest_ledger (
                load_id bigint primary key, source varchar not null, file varchar not null,
                sha256 varchar not null, bytes bigint not null, rows_in_file bigint not null,
                rows_loaded bigint not null, rows_rejected bigint not null,
                outcome varchar not null, message varchar, run_id varchar, as_of_date date,
                loaded_at timestamp not null
            )""",
        ),
        # what each ledger row's file means and how many rows it physically has: beside the
        # ledger, so the ledger's shape (and every insert into it) stays as it was
        # (``by_settings``: a whole-file verdict that tenant settings decided, the
        # max_reject_ratio, so new settings can change it)
        OwnTable(
            INGEST_LEDGER_MEANING,
            """create table if not exists raw.ingest_ledger_meaning (
                load_id bigint primary key, meaning varchar, physical_rows bigint,
                by_settings boolean not null default false
            )""",
            # the file's stat when it was hashed (``file_stat``): an unchanged file is not
            # read again (ingest/loader.py)
            ("alter table raw.ingest_ledger_meaning add column if not exists file_stat varchar",),
        ),
        # every rejected row (row_number NULL: the whole file), with file and reason
        OwnTable(
            IMPORT_REJECTS,
            """create table if not exists raw.import_rejects (
                source varchar not null, file varchar not null, row_number bigint,
                tenant_id varchar, error varchar not null, _load_id bigint not null
            )""",
        ),
        # the customer of each rejected row that names one, so that an erasure (rules §12,
        # ingest/erasure.py) finds the reject messages quoting that customer's values
        OwnTable(
            IMPORT_REJECT_KEYS,
            """create table if not exists raw.import_reject_keys (
                _load_id bigint not null, row_number bigint not null, tenant_id varchar,
                customer_id varchar not null
            )""",
        ),
        # the erasure scrub's key (never published), the ledger watermark it has checked
        # and one row per night that scrubbed something (ingest/erasure.py)
        OwnTable(ERASURE_KEY, "create table if not exists ops.erasure_key (key varchar not null)"),
        OwnTable(
            ERASURE_CHECKED,
            "create table if not exists ops.erasure_checked (through_load_id bigint)",
        ),
        OwnTable(
            ERASURE_SCRUBS,
            """create table if not exists ops.erasure_scrubs (
                run_id varchar, scrubbed_at timestamp, through_load_id bigint, customers bigint,
                rows_changed bigint, files_changed bigint
            )""",
        ),
        # the tenants' member-status imports (a folder per tenant, not a landing source)
        OwnTable(
            STATUS_IMPORTS,
            f"""create table if not exists raw.status_imports (
                tenant_id varchar not null, customer_id varchar, code varchar, email varchar,
                member_status varchar not null, reason varchar, effective_at timestamp,
                loaded_for_as_of_date date not null, {META_COLUMNS}
            )""",
        ),
    )
}

#: the tables ingestion writes
INGEST_TABLES = (
    INGEST_LEDGER,
    INGEST_LEDGER_MEANING,
    IMPORT_REJECTS,
    IMPORT_REJECT_KEYS,
    STATUS_IMPORTS,
)
#: the tables the erasure scrub writes
ERASURE_TABLES = (ERASURE_KEY, ERASURE_CHECKED, ERASURE_SCRUBS, IMPORT_REJECT_KEYS)


def ensure(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    """Create each of the pipeline's own ``tables`` (names in ``OWN_TABLES``) that is missing,
    with its schema, and migrate one made by an older version to today's shape."""
    unknown = [t for t in tables if t not in OWN_TABLES]
    if unknown:
        raise KeyError(f"not a table of the pipeline's own: {', '.join(unknown)}")
    for name in tables:
        table = OWN_TABLES[name]
        con.execute(f"create schema if not exists {table.schema}")
        con.execute(table.ddl)
        for statement in table.migrations:
            con.execute(statement)
