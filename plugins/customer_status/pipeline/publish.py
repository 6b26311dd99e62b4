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
from datetime import datetime
from pathlib import Path

import duckdb

from ..ingest.readers import quote_ident, quote_literal
from ..settings import Paths, tune
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
    written: dict[str, list[str]] = field(default_factory=dict)  # tenant id -> marts rewritten

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


def _tenant_select(mart: published.Mart, pii: str, bare: bool = False) -> str:
    """The columns of ``mart`` in a tenant file: as published, or without personal data
    (``bare``: the expressions only, no ``as`` names, e.g. to hash them)."""
    exprs = []
    for name, data_type in mart.columns:
        column = quote_ident(name)
        if pii == "none" and name in mart.pii:
            expr = f"cast(null as {data_type})"
        elif pii == "none" and (mart.name, name) in PII_WITHHELD:
            when = PII_WITHHELD[(mart.name, name)]
            expr = (
                f"case when {column} is not null and ({when}) "
                f"then {quote_literal(PII_WITHHELD_TEXT)} else {column} end"
            )
        else:
            expr = column
        exprs.append(expr if bare or expr == column else f"{expr} as {column}")
    return ", ".join(exprs)


def _write_tenant_files(
    con: duckdb.DuckDBPyConnection, plan: TenantFiles, contracted: dict[str, published.Mart]
) -> dict[str, Path]:
    """Each planned tenant's file, written from the new warehouse open on ``con`` (its
    ``marts``) to a staging file beside its place; tenant id -> staging file.

    Like the warehouse, a tenant file starts as a copy of the tenant's current file and only
    the marts whose rows for the tenant changed (as the file shows them: ``_tenant_select``)
    are replaced; it is written whole when there is none yet, when the copy would be mostly
    free space, or when a mart of ``REWRITE_WHOLE_WHEN_CHANGED`` changed for the tenant."""
    plan.folder.mkdir(parents=True, exist_ok=True)
    for leftover in plan.folder.glob(".*.publishing"):
        leftover.unlink(missing_ok=True)
    whole = os.environ.get(FULL_PUBLISH_ENV, "").strip() in ("1", "true", "yes")
    new: dict[str, dict[str, tuple[int, int]]] = {t: {} for t in plan.tenants}
    for table, mart in contracted.items():  # one scan per mart for every tenant
        row_hash = f"hash({_tenant_select(mart, plan.pii, bare=True)})"
        for tenant_id, rows, digest in con.execute(
            f"select tenant_id, count(*), coalesce(sum({row_hash}), 0) "
            f"from marts.{quote_ident(table)} where tenant_id in (select unnest($tenants)) "
            "group by tenant_id",
            {"tenants": plan.tenants},
        ).fetchall():
            new[tenant_id][table] = (int(rows), int(digest))
    staged: dict[str, Path] = {}
    for tenant_id in plan.tenants:
        staging = plan.folder / f".{tenant_id}.duckdb.{os.getpid()}.publishing"
        staged[tenant_id] = staging
        current = plan.file(tenant_id)
        reuse = not whole and current.exists()
        if reuse:
            shutil.copyfile(current, staging)
        con.execute(f"attach {quote_literal(str(staging))} as tenant_file")
        try:
            changed = list(contracted)
            if reuse:
                changed = _tenant_changes(con, contracted, new[tenant_id])
                if changed is None:  # written whole after all
                    con.execute("detach tenant_file")
                    staging.unlink()
                    con.execute(f"attach {quote_literal(str(staging))} as tenant_file")
                    changed = list(contracted)
            con.execute("create schema if not exists tenant_file.marts")
            gone = set(_columns(con, "tenant_file")) - set(contracted) - {"pipeline_runs"}
            for table in sorted(gone):  # a mart no longer published
                con.execute(f"drop table tenant_file.marts.{quote_ident(table)}")
            plan.written[tenant_id] = changed
            for table in changed:
                con.execute(
                    f"create or replace table tenant_file.marts.{quote_ident(table)} as "
                    f"select {_tenant_select(contracted[table], plan.pii)} "
                    f"from marts.{quote_ident(table)} where tenant_id = $tenant",
                    {"tenant": tenant_id},
                )
            # the runs hold no tenant's rows, but a failure's message can name other tenants
            con.execute(
                "create or replace table tenant_file.marts.pipeline_runs as "
                "select * replace (cast(null as varchar) as message) from marts.pipeline_runs"
            )
        finally:
            con.execute("detach tenant_file")
    return staged


def _tenant_changes(
    con: duckdb.DuckDBPyConnection,
    contracted: dict[str, published.Mart],
    new: dict[str, tuple[int, int]],
) -> list[str] | None:
    """The marts of the copy attached as ``tenant_file`` that differ from tonight's (``new``:
    rows and hash per mart); None when the file must be written whole instead."""
    free, total = con.execute(
        "select free_blocks, total_blocks from pragma_database_size() "
        "where database_name = 'tenant_file'"
    ).fetchone()
    if total and free > MAX_FREE_SHARE * total:
        return None
    present = _columns(con, "tenant_file")
    changed = [
        table
        for table, mart in contracted.items()
        if present.get(table) != [(n, d.lower()) for n, d in mart.columns]
        or _fingerprint(con, f"tenant_file.marts.{quote_ident(table)}", mart)
        != new.get(table, (0, 0))
    ]
    if any(t in REWRITE_WHOLE_WHEN_CHANGED for t in changed):
        return None
    return changed


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
        {"run": publishing_run, "now": datetime.utcnow().replace(microsecond=0), "note": note},
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
        with duckdb.connect(str(staging)) as con:
            tune(con)
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


# A new warehouse is written whole, not from a copy of the current one, when the copy would
# be mostly free space (DuckDB reuses a dropped table's blocks but never shrinks a file), or
# when one of these marts changed: a freed block still holds the bytes of the rows it held,
# and an erasure must leave none of the person's data in the published file.
MAX_FREE_SHARE = 0.5
REWRITE_WHOLE_WHEN_CHANGED = ("erasures",)
FULL_PUBLISH_ENV = "CUSTOMER_STATUS_PUBLISH_WHOLE"  # =1: always write the warehouse whole


@dataclass
class PublishPlan:
    """What tonight's publish writes: ``whole`` (a new file) or, from a copy of the current
    warehouse, only the marts in ``changed``; ``counts``: rows per mart (from the new side);
    ``why``: why the file is written whole."""

    whole: bool
    changed: list[str]
    counts: dict[str, int]
    why: str = ""


def _fingerprint(con, relation: str, mart: published.Mart) -> tuple[int, int]:
    """Rows and an order-free hash of every row of ``mart``'s contracted columns."""
    columns = ", ".join(quote_ident(c) for c in mart.column_names)
    rows, digest = con.execute(
        f"select count(*), coalesce(sum(hash({columns})), 0) from {relation}"
    ).fetchone()
    return int(rows), int(digest)


def _columns(con, catalog: str | None) -> dict[str, list[tuple[str, str]]]:
    """The tables of ``catalog``'s ``marts`` (None: the connection's own file) and their
    columns ``(name, lower-case type)`` in order."""
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, lower(data_type) from duckdb_columns() "
        "where database_name = coalesce(?, current_database()) and schema_name = 'marts' "
        "order by table_name, column_index",
        [catalog],
    ).fetchall():
        found.setdefault(table, []).append((column, data_type))
    return found


def plan_publish(paths: Paths, contracted: dict[str, published.Mart]) -> PublishPlan:
    """Compare every contracted mart of the working file with the current warehouse's (same
    columns and types, same rows: count and hash of every row) to find what tonight changes.

    Both files are only read (the warehouse read-only, as a dashboard does). Raises
    ``PublishError`` when a contracted mart is missing from the build."""
    with duckdb.connect() as con:
        tune(con)
        con.execute(f"attach {quote_literal(str(paths.work_db))} as work (read_only)")
        built = _columns(con, "work")
        missing = sorted(set(contracted) - set(built))
        if missing:
            raise PublishError(
                f"the build left no table for the published mart(s) {', '.join(missing)}; "
                "nothing was published"
            )
        for leftover in sorted(set(built) - set(contracted)):
            log.warning("marts.%s is no published mart (no contract): not published", leftover)
        new = {
            t: _fingerprint(con, f"work.marts.{quote_ident(t)}", m) for t, m in contracted.items()
        }
        counts = {t: rows for t, (rows, _) in new.items()}
        if os.environ.get(FULL_PUBLISH_ENV, "").strip() in ("1", "true", "yes"):
            return PublishPlan(True, sorted(contracted), counts, f"{FULL_PUBLISH_ENV} is set")
        if not paths.warehouse.exists():
            return PublishPlan(True, sorted(contracted), counts, "no warehouse yet")
        con.execute(f"attach {quote_literal(str(paths.warehouse))} as current (read_only)")
        free, total = con.execute(
            "select free_blocks, total_blocks from pragma_database_size() "
            "where database_name = 'current'"
        ).fetchone()
        if total and free > MAX_FREE_SHARE * total:
            return PublishPlan(
                True, sorted(contracted), counts,
                f"the current file is {free / total:.0%} free space",
            )
        present = _columns(con, "current")
        changed = [
            t
            for t, mart in contracted.items()
            if present.get(t) != [(n, d.lower()) for n, d in mart.columns]
            or _fingerprint(con, f"current.marts.{quote_ident(t)}", mart) != new[t]
        ]
        con.execute("detach current")
    erased = [t for t in changed if t in REWRITE_WHOLE_WHEN_CHANGED]
    if erased:
        return PublishPlan(True, sorted(contracted), counts, f"{', '.join(erased)} changed")
    return PublishPlan(False, changed, counts)


def publish_marts(
    paths: Paths, run_id: str, tenant_files: TenantFiles | None = None
) -> dict[str, int]:
    """Replace the warehouse with the working file's ``marts`` and the run log (and, with
    ``tenant_files``, every tenant's file: ``plan_tenant_files``).

    The tables and their columns, in order, are the marts' dbt contracts
    (``published.marts``): a contracted mart missing from the build stops the publish (the
    warehouse stays as it was); a table in the working file's ``marts`` that no contract names
    (left by a model renamed or removed) is not published, and the log says so.

    Only what changed is written (``plan_publish``): the new file starts as a copy of the
    current warehouse and only the marts whose rows or columns differ are replaced in it
    (a normal night changes a few marts; every mart is copied whole only on a first night,
    when the copy would be mostly free space, or after an erasure). Either way the new file
    is complete before it replaces the old one, as before."""
    contracted = published.marts(paths.dbt_project)
    plan = plan_publish(paths, contracted)
    with _next_warehouse(paths, from_current=not plan.whole, tenant_files=tenant_files) as con:
        con.execute("create schema if not exists marts")
        for table in sorted(set(_columns(con, None)) - set(contracted) - {"pipeline_runs"}):
            con.execute(f"drop table marts.{quote_ident(table)}")  # a mart no longer published
        for table in plan.changed:
            name = quote_ident(table)
            columns = ", ".join(quote_ident(c) for c in contracted[table].column_names)
            con.execute(
                f"create or replace table marts.{name} as select {columns} from work.marts.{name}"
            )
        _copy_run_log(
            con, publishing_run=run_id, note=tenant_files.note() if tenant_files else None
        )
    log.info(
        "published %s (%s): %s",
        paths.warehouse,
        f"written whole: {plan.why}" if plan.whole
        else f"{len(plan.changed)} of {len(contracted)} marts changed: "
        + (", ".join(plan.changed) or "none"),
        ", ".join(f"{t} {n:,}" for t, n in plan.counts.items()),
    )
    return plan.counts


def publish_run_log_only(paths: Paths) -> None:
    """After a failed run: the previous tables, unchanged, with the run log brought up to date.

    ``pipeline_runs`` is the one table a failed run adds a row to (docs/contract.md); the copy is
    swapped in atomically like any publish.
    """
    with _next_warehouse(paths, from_current=True) as con:
        con.execute("create schema if not exists marts")
        _copy_run_log(con)
