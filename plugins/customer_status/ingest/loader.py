"""Load every new landing file into the ``raw`` schema of the working DuckDB file.

- **Ledger** (``raw.ingest_ledger``): a file whose content (SHA-256) was already loaded for
  its source is skipped, however often and under whatever name it lands again.
- **One transaction per file**: its good rows, its rejects and its ledger row commit
  together, so a killed run never leaves half a file.
- **Rejects** (``raw.import_rejects``): every bad row with file, row number and reason; a
  whole-file reject (unreadable, missing required columns, or more bad rows than the
  tenant's ``max_reject_ratio``) is one row with ``row_number`` NULL and loads nothing.
- Bad input in one file never stops the others: each file is loaded or rejected on its own.

Raw tables keep every version of every record with ``_source_file``, ``_row_number`` and
``_load_id``; the dbt staging models pick the current version of each key.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from . import rules
from .readers import FileRejected, drop_batch, quote_ident, read_batch
from .sources import (
    LOAD_ORDER,
    SOURCES,
    STATUS_IMPORT_KEYS,
    STATUS_IMPORT_OPTIONAL,
    STATUS_IMPORT_STATUS_COLUMNS,
    STATUS_IMPORT_VALUES,
    Source,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_REJECT_RATIO = 0.1
META_COLUMNS = "_source_file varchar, _row_number bigint, _load_id bigint"

DDL = [
    "create schema if not exists raw",
    """create table if not exists raw.ingest_ledger (
        load_id bigint primary key, source varchar not null, file varchar not null,
        sha256 varchar not null, bytes bigint not null, rows_in_file bigint not null,
        rows_loaded bigint not null, rows_rejected bigint not null, outcome varchar not null,
        message varchar, run_id varchar, as_of_date date, loaded_at timestamp not null)""",
    """create table if not exists raw.import_rejects (
        source varchar not null, file varchar not null, row_number bigint,
        tenant_id varchar, error varchar not null, _load_id bigint not null)""",
    f"""create table if not exists raw.status_imports (
        tenant_id varchar not null, customer_id varchar, code varchar, email varchar,
        member_status varchar not null, reason varchar, effective_at timestamp,
        loaded_for_as_of_date date not null, {META_COLUMNS})""",
]


def raw_table_ddl(source: Source) -> str:
    cols = ", ".join(f"{quote_ident(c.name)} {c.sql_type}" for c in source.columns)
    return f"create table if not exists raw.{source.name} ({cols}, {META_COLUMNS})"


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)
    for source in SOURCES.values():
        con.execute(raw_table_ddl(source))


@dataclass
class FileResult:
    source: str
    file: str
    rows_in_file: int
    rows_loaded: int
    rows_rejected: int
    outcome: str  # loaded | loaded_with_rejects | rejected | skipped
    message: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LoadContext:
    landing: Path
    run_id: str
    as_of_date: date
    started_at: datetime  # wall clock (UTC, naive) at the run's start


def ingest_landing(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> list[FileResult]:
    """Load every file of the landing zone that the ledger has not seen; return what happened."""
    con.execute("set TimeZone = 'UTC'")
    ensure_raw_schema(con)
    results = []
    for source, path in discover(ctx.landing):
        started = time.monotonic()
        result = load_file(con, ctx, source, path)
        if result.outcome != "skipped":
            log.info(
                "%-28s %-50s %9d rows, %d loaded, %d rejected (%.1fs)%s",
                result.outcome,
                result.file,
                result.rows_in_file,
                result.rows_loaded,
                result.rows_rejected,
                time.monotonic() - started,
                f": {result.message}" if result.message else "",
            )
        results.append(result)
    return results


def discover(landing: Path) -> list[tuple[str, Path]]:
    """(source, file) for every landing file, sources in load order, files in path order.

    A folder that is not a known source still yields its files (they are rejected with a
    reason), so a typo in a folder name never loses data silently.
    """
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    folders = sorted(p.name for p in landing.iterdir() if p.is_dir() and not p.name.startswith("."))
    ordered = [s for s in LOAD_ORDER if s in folders] + [f for f in folders if f not in LOAD_ORDER]
    found = []
    for source in ordered:
        for path in sorted((landing / source).rglob("*")):
            relative = path.relative_to(landing)
            if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                found.append((source, path))
    return found


# Ledger entries whose rows no published night has been checked with yet: this run's loads
# and those of earlier runs that failed or were killed after ingesting.
UNPUBLISHED_LOADS = """
    select * from raw.ingest_ledger
    where run_id not in (
        select run_id from ops.pipeline_runs where outcome = 'published'
    )
"""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_file(
    con: duckdb.DuckDBPyConnection, ctx: LoadContext, source: str, path: Path
) -> FileResult:
    relative = path.relative_to(ctx.landing).as_posix()
    sha = file_sha256(path)
    seen = con.execute(
        "select file from raw.ingest_ledger where source = ? and sha256 = ? limit 1", [source, sha]
    ).fetchone()
    if seen:
        return FileResult(source, relative, 0, 0, 0, "skipped", f"same content as {seen[0]}")
    load_id = con.execute("select coalesce(max(load_id), 0) + 1 from raw.ingest_ledger").fetchone()[
        0
    ]
    con.begin()
    try:
        if source in SOURCES:
            result = _load_source_file(con, ctx, SOURCES[source], path, relative, load_id)
        elif source == "status_imports":
            result = _load_status_import(con, ctx, path, relative, load_id)
        else:
            raise FileRejected(
                f"'{source}' is not a landing source (expected one of {', '.join(LOAD_ORDER)})"
            )
    except (FileRejected, duckdb.Error) as exc:
        con.rollback()
        con.begin()
        rows = getattr(exc, "rows", 0)
        result = FileResult(source, relative, rows, 0, rows, "rejected", str(exc).strip())
        _record_reject(con, source, relative, None, None, result.message, load_id)
    _record_ledger(con, ctx, result, sha, path.stat().st_size, load_id)
    con.commit()
    drop_batch(con)
    con.execute("drop table if exists checked")
    return result


def _load_source_file(
    con, ctx: LoadContext, source: Source, path: Path, relative: str, load_id: int
) -> FileResult:
    present = read_batch(con, path, [c.name for c in source.columns])
    missing = [c for c in source.required if c not in present]
    if missing:
        raise FileRejected(
            f"missing required column(s) {', '.join(missing)}; the header has "
            f"{', '.join(present) or 'no known columns'}",
            rows=_batch_rows(con),
        )
    types = dict(con.execute("select column_name, column_type from (describe batch)").fetchall())
    query = rules.checked_query(source, {c: types[c] for c in present}, ctx.started_at)
    con.execute(f"create or replace temp table checked as {query}")
    return _commit_checked(
        con,
        ctx,
        source.name,
        relative,
        load_id,
        [c.name for c in source.columns],
        f"raw.{source.name}",
    )


def _load_status_import(
    con, ctx: LoadContext, path: Path, relative: str, load_id: int
) -> FileResult:
    parts = Path(relative).parts
    if len(parts) < 3:
        raise FileRejected("status import files must be under status_imports/<tenant_id>/")
    if path.suffix.lower() != ".csv":
        raise FileRejected("status imports must be .csv files (a shop or spreadsheet export)")
    wanted = [*STATUS_IMPORT_KEYS, *STATUS_IMPORT_STATUS_COLUMNS, *STATUS_IMPORT_OPTIONAL]
    present = read_batch(con, path, wanted)
    keys = [k for k in STATUS_IMPORT_KEYS if k in present]
    status_col = next((c for c in STATUS_IMPORT_STATUS_COLUMNS if c in present), None)
    if not keys or not status_col:
        raise FileRejected(
            "a status import needs a key column (Customer ID, Code or Email) and a status "
            f"column (Customer Status or Active/Inactive); the header has {', '.join(present)}",
            rows=_batch_rows(con),
        )
    con.execute(
        f"create or replace temp table checked as "
        f"{_status_import_query(present, keys, status_col, parts[1], ctx)}"
    )
    columns = [
        "tenant_id",
        "customer_id",
        "code",
        "email",
        "member_status",
        "reason",
        "effective_at",
        "loaded_for_as_of_date",
    ]
    return _commit_checked(
        con, ctx, "status_imports", relative, load_id, columns, "raw.status_imports"
    )


def _unformula(expr: str) -> str:
    """Undo the export's formula guard: a leading ' before = + - @ tab or CR is dropped."""
    return f"regexp_replace({expr}, '^''([=+\\-@\\t\\r])', '\\1')"


def _status_import_query(present, keys, status_col, tenant_id, ctx: LoadContext) -> str:
    def text(name: str) -> str:
        return (
            _unformula(rules.raw_text(name, name in present))
            if name in present
            else "cast(null as varchar)"
        )

    status = f"lower({text(status_col)})"
    effective = f"timezone('UTC', try_cast({text('effective at')} as timestamptz))"
    key_exprs = {col: text(name) for name, col in STATUS_IMPORT_KEYS.items()}
    key_exprs["email"] = f"lower({key_exprs['email']})"
    shown_status = status_col.title()
    errors = [
        "_read_error",
        "case when "
        + " and ".join(f"{key_exprs[STATUS_IMPORT_KEYS[k]]} is null" for k in keys)
        + " then 'no "
        + " or ".join(k.title() for k in keys)
        + " on this row' end",
        f"case when {status} is null then '{shown_status} is missing' "
        f"when {status} not in ('{STATUS_IMPORT_VALUES[0]}', '{STATUS_IMPORT_VALUES[1]}') then "
        f"'{shown_status} ''' || left({text(status_col)}, 60) || ''' is not active or inactive' end",
        f"case when {text('effective at')} is not null and {effective} is null then "
        f"'Effective At ''' || left({text('effective at')}, 60) || ''' is not an ISO 8601 timestamp' end",
    ]
    return f"""
        select '{tenant_id.replace("'", "''")}' as tenant_id,
               {key_exprs["customer_id"]} as customer_id, {key_exprs["code"]} as code,
               {key_exprs["email"]} as email, {status} as member_status,
               {text("reason")} as reason, {effective} as effective_at,
               date '{ctx.as_of_date.isoformat()}' as loaded_for_as_of_date,
               _row_number,
               nullif(concat_ws('; ', {", ".join(errors)}), '') as _error
        from batch
    """


def _commit_checked(
    con, ctx: LoadContext, source: str, relative: str, load_id: int, columns: list[str], target: str
) -> FileResult:
    total, bad, tenants = con.execute(
        "select count(*), count(_error), list(distinct tenant_id order by tenant_id) "
        "filter (where tenant_id is not null) from checked"
    ).fetchone()
    tenants = tenants or []
    if total == 0:
        raise FileRejected("the file has a header but no data rows: nothing to load")
    ratio = _max_reject_ratio(con, tenants)
    if bad and bad / total > ratio:
        first = con.execute(
            "select 'row ' || _row_number || ': ' || _error from checked "
            "where _error is not null order by _row_number limit 3"
        ).fetchall()
        raise FileRejected(
            f"{bad} of {total} rows are bad ({bad / total:.1%}, more than the "
            f"max_reject_ratio of {ratio:.0%}); nothing of this file was loaded. First: "
            + " | ".join(r[0] for r in first),
            rows=total,
        )
    cols = ", ".join(quote_ident(c) for c in columns)
    con.execute(
        f"insert into {target} ({cols}, _source_file, _row_number, _load_id) "
        f"select {cols}, ?, _row_number, ? from checked where _error is null order by _row_number",
        [relative, load_id],
    )
    con.execute(
        "insert into raw.import_rejects select ?, ?, _row_number, tenant_id, _error, ? "
        "from checked where _error is not null order by _row_number",
        [source, relative, load_id],
    )
    outcome = "loaded_with_rejects" if bad else "loaded"
    return FileResult(source, relative, total, total - bad, bad, outcome)


def _max_reject_ratio(con, tenants: list[str]) -> float:
    """The strictest ``max_reject_ratio`` among the file's tenants (current settings)."""
    if not tenants:
        return DEFAULT_MAX_REJECT_RATIO
    row = con.execute(
        """
        with latest as (
            select tenant_id, max_reject_ratio,
                   row_number() over (partition by tenant_id
                       order by updated_at desc nulls last, _load_id desc, _row_number desc) as rn
            from raw.tenants
        )
        select min(coalesce(l.max_reject_ratio, ?))
        from unnest(?::varchar[]) as t(tenant_id)
        left join latest l on l.tenant_id = t.tenant_id and l.rn = 1
        """,
        [DEFAULT_MAX_REJECT_RATIO, tenants],
    ).fetchone()
    return DEFAULT_MAX_REJECT_RATIO if row[0] is None else float(row[0])


def _batch_rows(con) -> int:
    return con.execute("select count(*) from batch").fetchone()[0]


def _record_reject(con, source, relative, row_number, tenant_id, error, load_id) -> None:
    con.execute(
        "insert into raw.import_rejects values (?, ?, ?, ?, ?, ?)",
        [source, relative, row_number, tenant_id, error, load_id],
    )


def _record_ledger(
    con, ctx: LoadContext, result: FileResult, sha: str, size: int, load_id: int
) -> None:
    con.execute(
        "insert into raw.ingest_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            result.source,
            result.file,
            sha,
            size,
            result.rows_in_file,
            result.rows_loaded,
            result.rows_rejected,
            result.outcome,
            result.message,
            ctx.run_id,
            ctx.as_of_date,
            datetime.utcnow().replace(microsecond=0),
        ],
    )
