"""Publish atomically: the warehouse readers see is only ever replaced whole.

The new set of ``marts`` tables is written to a new DuckDB file beside the warehouse, flushed
to disk, then moved over it with ``os.replace``. A dashboard holding the old file open
read-only keeps reading the night it opened (and never blocks the run: nothing opens the
published file for writing); a new connection sees the new night; a process killed at any
instant leaves either the old file or the new one, never a mix (docs/contract.md).

**Per-tenant files** (``--publish-per-tenant``, ``CUSTOMER_STATUS_PUBLISH_PER_TENANT``): besides
the warehouse, one file per declared tenant, ``<warehouse dir>/tenants/<tenant_id>.duckdb``,
with only that tenant's rows of every published mart, so a store's dashboard can be given its
own file and nothing else. Each is written beside its place and swapped in with ``os.replace``
like the warehouse, in the same publish (after every check passed); all files of the night
are written before the first is swapped in. ``pipeline_runs`` (no tenant_id) is in every
tenant file with its ``message`` NULL (a failure's message can name other tenants or quote
their values). With ``--publish-pii none`` the tenant files carry the same tables and columns
with every personal column NULL and the texts that can quote a personal value withheld
(``PII_WITHHELD``); the warehouse keeps them. A tenant id becomes a file name only when it is
a plain identifier (``unsafe_tenant_id``); any other tenant gets no file, the night says so
and publishes the rest. The file of a tenant no longer declared is removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
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


PER_TENANT_ENV = "CUSTOMER_STATUS_PUBLISH_PER_TENANT"
PII_ENV = "CUSTOMER_STATUS_PUBLISH_PII"
PII_MODES = ("full", "none")
TENANTS_FOLDER = "tenants"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")

# A tenant id is a file name only when it is a plain identifier: ASCII letters, digits, '_' and
# '-', starting with a letter or digit, at most 64 characters, and no name Windows reserves.
_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{d}{n}" for d in ("COM", "LPT") for n in "0123456789"]
)

# With --publish-pii none, texts the pipeline writes by quoting a landed value that can be
# personal are withheld on the rows where they can: (mart, column) -> when (SQL on that row).
PII_WITHHELD_TEXT = "withheld: may quote personal data (see the main warehouse)"
PII_WITHHELD = {
    # a rejected row's reason quotes its values ("email 'x' is not an email address")
    ("import_rejects", "error"): "source in ('customers', 'suppressions', 'status_imports', "
    "'erasure_requests')",
    # an import row that matches no customer, or several, is named by its code or email
    ("status_action_outcomes", "rejection_reason"): "source = 'csv_import'",
    # a suppression's changes quote the suppressed email ("email on the blocklist (x@y)")
    ("status_changes", "reason"): "source in ('suppressions', 'customers')",
}


@dataclass(frozen=True)
class TenantPublishing:
    """Whether a night publishes per-tenant files, and with which personal data."""

    enabled: bool = False
    pii: str = "full"


def tenant_publishing(
    per_tenant: bool | str | None = None, pii: str | None = None
) -> TenantPublishing:
    """The per-tenant publishing of a night: ``per_tenant`` / ``pii`` (flags, DAG params),
    else ``CUSTOMER_STATUS_PUBLISH_PER_TENANT`` / ``CUSTOMER_STATUS_PUBLISH_PII``, else off and
    ``full``. Raises ``ValueError`` on a value that means neither."""
    if per_tenant is None:
        per_tenant = os.environ.get(PER_TENANT_ENV)
    if not isinstance(per_tenant, bool):
        word = (per_tenant or "").strip().lower()
        if word not in _TRUE + _FALSE:
            raise ValueError(
                f"{PER_TENANT_ENV}={per_tenant!r}: expected 1/true/yes or 0/false/no"
            )
        per_tenant = word in _TRUE
    mode = (pii if pii is not None else os.environ.get(PII_ENV) or "full").strip().lower()
    if mode not in PII_MODES:
        raise ValueError(f"publish pii {mode!r}: expected one of {', '.join(PII_MODES)}")
    return TenantPublishing(per_tenant, mode)


def unsafe_tenant_id(tenant_id: str | None) -> str | None:
    """Why ``tenant_id`` cannot be a file name in the tenants folder (None: it can)."""
    if tenant_id is None or tenant_id == "":
        return "the tenant id is empty"
    if not _PLAIN_ID.fullmatch(tenant_id):
        return (
            "the tenant id is not a plain identifier (ASCII letters, digits, '_' and '-', "
            "starting with a letter or digit, at most 64 characters)"
        )
    if tenant_id.upper() in _WINDOWS_RESERVED:
        return "the tenant id is a reserved file name on Windows"
    return None


def _shown(tenant_id: str | None) -> str:
    """A tenant id as a message shows it: quoted, escaped, cut short."""
    text = repr(tenant_id)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass
class TenantFiles:
    """The per-tenant files of one publish: which tenants get one, which are refused and why."""

    folder: Path
    pii: str
    tenants: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # tenant id -> why

    def file(self, tenant_id: str) -> Path:
        return self.folder / f"{tenant_id}.duckdb"

    def note(self) -> str:
        """One sentence for the run log: what was written, what was refused."""
        text = (
            f"tenant files: {len(self.tenants)} written to {self.folder} "
            f"(personal data: {self.pii})"
        )
        if self.refused:
            text += "; no file for " + "; ".join(
                f"tenant {_shown(t)}: {why}" for t, why in sorted(self.refused.items())
            )
        return text


def plan_tenant_files(
    con: duckdb.DuckDBPyConnection, tenants_relation: str, warehouse: Path, pii: str
) -> TenantFiles:
    """Which declared tenants (``tenants_relation``: dbt's ``int_tenants``) get a file.

    A tenant id that is not a plain identifier gets none (``unsafe_tenant_id``), nor do two
    ids that differ only by case (one file on a case-insensitive file system): each is
    refused with the reason, and the night logs a warning for it."""
    ids = [r[0] for r in con.execute(
        f"select distinct tenant_id from {tenants_relation} order by tenant_id"
    ).fetchall()]
    plan = TenantFiles(warehouse.parent / TENANTS_FOLDER, pii)
    by_folded: dict[str, list[str]] = {}
    for tenant_id in ids:
        why = unsafe_tenant_id(tenant_id)
        if why:
            plan.refused[tenant_id] = why
        else:
            by_folded.setdefault(tenant_id.lower(), []).append(tenant_id)
    for same in by_folded.values():
        if len(same) > 1:
            for tenant_id in same:
                others = ", ".join(_shown(t) for t in same if t != tenant_id)
                plan.refused[tenant_id] = (
                    f"the tenant id differs from {others} only by case (one file name on a "
                    "case-insensitive file system)"
                )
        else:
            plan.tenants.append(same[0])
    for tenant_id, why in sorted(plan.refused.items(), key=lambda kv: str(kv[0])):
        log.warning(
            "no per-tenant file for tenant %s: %s; the warehouse has its rows",
            _shown(tenant_id), why,
        )
    return plan


def _tenant_select(mart: published.Mart, pii: str) -> str:
    """The columns of ``mart`` in a tenant file: as published, or without personal data."""
    exprs = []
    for name, data_type in mart.columns:
        column = quote_ident(name)
        if pii == "none" and name in mart.pii:
            exprs.append(f"cast(null as {data_type}) as {column}")
        elif pii == "none" and (mart.name, name) in PII_WITHHELD:
            when = PII_WITHHELD[(mart.name, name)]
            exprs.append(
                f"case when {column} is not null and ({when}) "
                f"then {quote_literal(PII_WITHHELD_TEXT)} else {column} end as {column}"
            )
        else:
            exprs.append(column)
    return ", ".join(exprs)


def _write_tenant_files(
    con: duckdb.DuckDBPyConnection, plan: TenantFiles, contracted: dict[str, published.Mart]
) -> dict[str, Path]:
    """Each planned tenant's file, written from the new warehouse open on ``con`` (its
    ``marts``) to a staging file beside its place; tenant id -> staging file."""
    plan.folder.mkdir(parents=True, exist_ok=True)
    for leftover in plan.folder.glob(".*.publishing"):
        leftover.unlink(missing_ok=True)
    staged: dict[str, Path] = {}
    for tenant_id in plan.tenants:
        staging = plan.folder / f".{tenant_id}.duckdb.{os.getpid()}.publishing"
        staged[tenant_id] = staging
        con.execute(f"attach {quote_literal(str(staging))} as tenant_file")
        try:
            con.execute("create schema tenant_file.marts")
            for table, mart in contracted.items():
                con.execute(
                    f"create table tenant_file.marts.{quote_ident(table)} as "
                    f"select {_tenant_select(mart, plan.pii)} from marts.{quote_ident(table)} "
                    "where tenant_id = $tenant",
                    {"tenant": tenant_id},
                )
            # the runs hold no tenant's rows, but a failure's message can name other tenants
            con.execute(
                "create table tenant_file.marts.pipeline_runs as "
                "select * replace (cast(null as varchar) as message) from marts.pipeline_runs"
            )
        finally:
            con.execute("detach tenant_file")
    return staged


def _swap_in_tenant_files(plan: TenantFiles, staged: dict[str, Path]) -> None:
    """Move the night's tenant files in; remove the file of a tenant that has none tonight
    (no longer declared, or refused): it holds rows the warehouse no longer publishes."""
    for tenant_id, staging in staged.items():
        _swap_in(staging, plan.file(tenant_id))
    current = {plan.file(t).name for t in plan.tenants}
    for old in plan.folder.glob("*.duckdb"):
        if old.name not in current:
            log.warning("removed %s: its tenant has no file tonight", old)
            old.unlink(missing_ok=True)


def stale_tenant_files(warehouse: Path) -> list[Path]:
    """Tenant files left by nights that published them, when tonight does not."""
    folder = warehouse.parent / TENANTS_FOLDER
    return sorted(folder.glob("*.duckdb")) if folder.is_dir() else []


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


def _copy_run_log(
    con: duckdb.DuckDBPyConnection, publishing_run: str | None = None, note: str | None = None
) -> None:
    """The run log into the new file; ``publishing_run`` is shown as published in it, with
    ``note`` as its message (the working log records both only once the file is in place, see
    ``nightly.publish``)."""
    con.execute(
        f"create or replace table marts.pipeline_runs as select * replace ("
        "  case when run_id = $run then 'published' else outcome end as outcome,"
        "  case when run_id = $run then $now else finished_at end as finished_at,"
        "  case when run_id = $run then coalesce($note, message) else message end as message)"
        f" from (select {PUBLISHED_COLUMNS} from work.ops.pipeline_runs)"
        " order by started_at, run_id",
        {"run": publishing_run, "now": pipeline_db.utc_timestamp(), "note": note},
    )


@contextlib.contextmanager
def _next_warehouse(
    paths: Paths, from_current: bool, tenant_files: TenantFiles | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a new file beside the warehouse (a copy of the current one if
    ``from_current``), with the working file attached read-only as ``work``. When the body
    succeeds, the tenant files of ``tenant_files`` are written from the new file, every file
    is flushed and swapped in (the warehouse first); whatever happens, nothing is left behind."""
    paths.warehouse.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging_file(paths.warehouse)
    staged: dict[str, Path] = {}
    try:
        if from_current and paths.warehouse.exists():
            shutil.copyfile(paths.warehouse, staging)
        with pipeline_db.connect(staging) as con:
            con.execute(f"attach {quote_literal(str(paths.work_db))} as work (read_only)")
            yield con
            con.execute("detach work")
            if tenant_files is not None:
                staged = _write_tenant_files(
                    con, tenant_files, published.marts(paths.dbt_project)
                )
        failpoint("publish_before_replace")
        _swap_in(staging, paths.warehouse)
        if tenant_files is not None:
            _swap_in_tenant_files(tenant_files, staged)
    finally:
        staging.unlink(missing_ok=True)
        for file in staged.values():
            file.unlink(missing_ok=True)


def publish_marts(
    paths: Paths, run_id: str, tenant_files: TenantFiles | None = None
) -> dict[str, int]:
    """Replace the warehouse with the working file's ``marts`` and the run log (and, with
    ``tenant_files``, every tenant's file: ``plan_tenant_files``).

    The tables and their columns, in order, are the marts' dbt contracts
    (``published.marts``): a contracted mart missing from the build stops the publish (the
    warehouse stays as it was); a table in the working file's ``marts`` that no contract names
    (left by a model renamed or removed) is not published, and the log says so."""
    contracted = published.marts(paths.dbt_project)
    counts: dict[str, int] = {}
    with _next_warehouse(paths, from_current=False, tenant_files=tenant_files) as con:
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
        _copy_run_log(
            con, publishing_run=run_id, note=tenant_files.note() if tenant_files else None
        )
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
