"""Publish atomically: the warehouse readers see is only ever replaced whole.

The new set of ``marts`` tables is written to a new DuckDB file beside the warehouse, flushed
to disk, then moved over it with ``os.replace``. A dashboard holding the old file open
read-only keeps reading the night it opened (and never blocks the run: nothing opens the
published file for writing); a new connection sees the new night; a process killed at any
instant leaves either the old file or the new one, never a mix (docs/contract.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import duckdb

from .. import pipeline_db
from ..pipeline_db import quote_ident, quote_literal
from ..settings import Paths
from . import published
from .runs import PUBLISHED_COLUMNS

log = logging.getLogger(__name__)


# Fault injection for the kill tests: CUSTOMER_STATUS_FAILPOINT=<name> makes the process
# SIGKILL itself at that point, so a test can prove a crash there leaves readers intact.
FAILPOINT_ENV = "CUSTOMER_STATUS_FAILPOINT"


class PublishError(Exception):
    """The night's tables cannot be published as the contracts promise them."""


def failpoint(name: str) -> None:
    if os.environ.get(FAILPOINT_ENV) == name:
        log.warning("failpoint %s: killing this process", name)
        os.kill(os.getpid(), signal.SIGKILL)


def _staging_file(warehouse: Path) -> Path:
    """A new file beside the warehouse; files left by a killed publish are removed first
    (only one run writes at a time, so any other staging file is a leftover)."""
    for leftover in warehouse.parent.glob(f".{warehouse.name}.*.publishing"):
        leftover.unlink(missing_ok=True)
    return warehouse.with_name(f".{warehouse.name}.{os.getpid()}.publishing")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_in(new_file: Path, warehouse: Path) -> None:
    _fsync(new_file)
    os.replace(new_file, warehouse)
    _fsync(warehouse.parent)  # make the rename itself durable


def _copy_run_log(con: duckdb.DuckDBPyConnection, publishing_run: str | None = None) -> None:
    """The run log into the new file; ``publishing_run`` is shown as published in it (the
    working log records that only once the file is in place, see ``nightly.publish``)."""
    con.execute(
        f"create or replace table marts.pipeline_runs as select * replace ("
        "  case when run_id = $run then 'published' else outcome end as outcome,"
        "  case when run_id = $run then $now else finished_at end as finished_at)"
        f" from (select {PUBLISHED_COLUMNS} from work.ops.pipeline_runs)"
        " order by started_at, run_id",
        {"run": publishing_run, "now": pipeline_db.utc_timestamp()},
    )


@contextlib.contextmanager
def _next_warehouse(paths: Paths, from_current: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a new file beside the warehouse (a copy of the current one if
    ``from_current``), with the working file attached read-only as ``work``. When the body
    succeeds the file is flushed and swapped in; whatever happens, nothing is left behind."""
    paths.warehouse.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging_file(paths.warehouse)
    try:
        if from_current and paths.warehouse.exists():
            shutil.copyfile(paths.warehouse, staging)
        with pipeline_db.connect(staging) as con:
            con.execute(f"attach {quote_literal(str(paths.work_db))} as work (read_only)")
            yield con
            con.execute("detach work")
        failpoint("publish_before_replace")
        _swap_in(staging, paths.warehouse)
    finally:
        staging.unlink(missing_ok=True)


def publish_marts(paths: Paths, run_id: str) -> dict[str, int]:
    """Replace the warehouse with the working file's ``marts`` and the run log.

    The tables and their columns, in order, are the marts' dbt contracts
    (``published.marts``): a contracted mart missing from the build stops the publish (the
    warehouse stays as it was); a table in the working file's ``marts`` that no contract names
    (left by a model renamed or removed) is not published, and the log says so."""
    contracted = published.marts(paths.dbt_project)
    counts: dict[str, int] = {}
    with _next_warehouse(paths, from_current=False) as con:
        con.execute("create schema marts")
        built = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = 'work' "
                "and schema_name = 'marts'"
            ).fetchall()
        }
        missing = sorted(set(contracted) - built)
        if missing:
            raise PublishError(
                f"the build left no table for the published mart(s) {', '.join(missing)}; "
                "nothing was published"
            )
        for leftover in sorted(built - set(contracted)):
            log.warning("marts.%s is no published mart (no contract): not published", leftover)
        for table, mart in contracted.items():
            name = quote_ident(table)
            columns = ", ".join(quote_ident(c) for c in mart.column_names)
            con.execute(f"create table marts.{name} as select {columns} from work.marts.{name}")
            counts[table] = con.execute(f"select count(*) from marts.{name}").fetchone()[0]
        _copy_run_log(con, publishing_run=run_id)
    log.info(
        "published %s: %s", paths.warehouse, ", ".join(f"{t} {n:,}" for t, n in counts.items())
    )
    return counts


def publish_run_log_only(paths: Paths) -> None:
    """After a failed run: the previous tables, unchanged, with the run log brought up to date.

    ``pipeline_runs`` is the one table a failed run adds a row to (docs/contract.md); the copy is
    swapped in atomically like any publish.
    """
    with _next_warehouse(paths, from_current=True) as con:
        con.execute("create schema if not exists marts")
        _copy_run_log(con)
