"""What the night's report shows, aggregated in DuckDB: small frames only reach Python.

Read from the working file (the candidate ``marts``, ``staging``, ``raw`` and ``ops``), which
a published night has just copied to the warehouse and a failed night left as far as it got.
Every query is guarded by the table's existence: a night that failed before its build still
gets a report of what it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb

from ..checks.dbt_relations import Relations
from ..pipeline_db import has_table
from ..seeds import tenant_default

# The charts show at most this many days up to the as-of date (a tenant's history can go
# back decades; the tables hold it all).
CHART_DAYS = 366
TOP = 50  # rows per "what changed" table


@dataclass
class TenantView:
    tenant_id: str
    status_mix: dict[str, list] = field(default_factory=dict)  # status -> [(date, n)]
    billable: list[tuple] = field(default_factory=list)  # (date, n, low, high)
    swing_limit: float = 0.0  # the tenant's max_billable_swing (int_tenants)
    changes: list[tuple] = field(default_factory=list)  # (dimension, from, to, reason, n)
    restatements: list[tuple] = field(default_factory=list)


@dataclass
class NightView:
    run: dict
    as_of: date | None
    since: date | None  # the as-of date of the previous published night
    built_by_this_run: bool
    tenants: list[TenantView] = field(default_factory=list)
    rejects: list[tuple] = field(default_factory=list)  # (source, scope, error, rows, files)
    held: list[tuple] = field(default_factory=list)  # (tenant, source, files, rows)
    skipped: list[tuple] = field(default_factory=list)  # (source, file, reason)
    files: dict[str, int] = field(default_factory=dict)  # outcome -> files this night


def _run_row(con: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    if not has_table(con, "ops", "pipeline_runs"):
        return {"run_id": run_id}
    cur = con.execute("select * from ops.pipeline_runs where run_id = ?", [run_id])
    row = cur.fetchone()
    return (
        dict(zip([d[0] for d in cur.description], row, strict=True)) if row else {"run_id": run_id}
    )


def _previous_published(con, run_id: str, as_of: date | None) -> date | None:
    if as_of is None or not has_table(con, "ops", "pipeline_runs"):
        return None
    return con.execute(
        "select max(as_of_date) from ops.pipeline_runs where outcome = 'published' "
        "and run_id <> ? and as_of_date < ?",
        [run_id, as_of],
    ).fetchone()[0]


def _relation(con, relations: Relations, name: str) -> str | None:
    """The relation of dbt model ``name`` when the build made it and it is in this file."""
    if name not in relations.by_name:
        return None
    relation = relations.ref(name)
    try:
        con.execute(f"select 1 from {relation} limit 0")
    except duckdb.Error:
        return None
    return relation


def gather(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    built_by_this_run: bool,
    relations: Relations | None = None,
) -> NightView:
    relations = relations or Relations({})
    run = _run_row(con, run_id)
    as_of = run.get("as_of_date")
    run_parameters = _relation(con, relations, "int_run_parameters")
    if as_of is None and run_parameters:
        as_of = con.execute(f"select max(as_of_date) from {run_parameters}").fetchone()[0]
    since = _previous_published(con, run_id, as_of)
    view = NightView(run=run, as_of=as_of, since=since, built_by_this_run=built_by_this_run)
    _landing(con, run_id, view)
    if as_of is not None and has_table(con, "marts", "billable_counts_daily"):
        _tenants(con, run_id, view, _relation(con, relations, "int_tenants"))
    return view


def _landing(con, run_id: str, view: NightView) -> None:
    if has_table(con, "raw", "ingest_ledger"):
        view.files = dict(
            con.execute(
                "select outcome, count(*) from raw.ingest_ledger where run_id = ? "
                "group by outcome order by outcome",
                [run_id],
            ).fetchall()
        )
    rejects = "marts.import_rejects" if has_table(con, "marts", "import_rejects") else None
    if rejects is None and has_table(con, "raw", "import_rejects"):
        rejects = "raw.import_rejects"
    if rejects and has_table(con, "raw", "ingest_ledger"):
        scope = "scope" if rejects.startswith("marts") else "'row'"
        # rejected rows and files of the files this night read; the reason without its
        # row-specific details would merge too much, so it is grouped as written
        view.rejects = con.execute(
            f"""
            select r.source, {scope} as scope,
                   case when r.row_number is null then 'whole file' else 'row' end as what,
                   r.error, count(*) as n, count(distinct r.file) as files
            from {rejects} r
            where r.file in (select file from raw.ingest_ledger where run_id = ?)
              and coalesce({scope}, 'row') not in ('held')
            group by all order by n desc, r.source, r.error limit {TOP}
            """,
            [run_id],
        ).fetchall()
        if rejects.startswith("marts"):
            view.held = con.execute(
                f"""
                select tenant_id, source, count(distinct file) as files, sum(held_rows) as n
                from {rejects} where scope = 'held'
                group by all order by tenant_id, source limit {TOP}
                """
            ).fetchall()
    if has_table(con, "marts", "landing_files"):
        view.skipped = con.execute(
            f"select source, file, reason from marts.landing_files where outcome = 'skipped' "
            f"order by source, file limit {TOP}"
        ).fetchall()


def _tenants(con, run_id: str, view: NightView, tenant_settings: str | None) -> None:
    as_of = view.as_of
    first = as_of - timedelta(days=CHART_DAYS - 1)
    # a first night has no earlier published one: everything it computed is new
    changed_from = (view.since + timedelta(days=1)) if view.since else date(1900, 1, 1)
    tenants = [
        t
        for (t,) in con.execute(
            "select distinct tenant_id from marts.billable_counts_daily order by 1"
        ).fetchall()
    ]
    limits = {}
    if tenant_settings:  # every tenant's limit, the default applied (int_tenants)
        limits = dict(
            con.execute(f"select tenant_id, max_billable_swing from {tenant_settings}").fetchall()
        )
    default = float(tenant_default("max_billable_swing"))
    by_tenant = {t: TenantView(t, swing_limit=float(limits.get(t) or default)) for t in tenants}
    if has_table(con, "marts", "status_counts_daily"):
        for tenant, status, day, n in con.execute(
            "select tenant_id, value, date, customers from marts.status_counts_daily "
            "where dimension = 'status' and date between ? and ? order by 1, 2, 3",
            [first, as_of],
        ).fetchall():
            if tenant in by_tenant:
                by_tenant[tenant].status_mix.setdefault(status, []).append((day, n))
    for tenant, day, n, before in con.execute(
        """
        select tenant_id, date, billable_customers,
               lag(billable_customers) over (partition by tenant_id order by date)
        from marts.billable_counts_daily
        where date between ? and ?
        order by 1, 2
        """,
        [first - timedelta(days=1), as_of],
    ).fetchall():
        t = by_tenant[tenant]
        if day < first:
            continue
        low = high = None
        if before is not None:
            low, high = before * (1 - t.swing_limit), before * (1 + t.swing_limit)
        t.billable.append((day, n, low, high))
    if has_table(con, "marts", "status_changes"):
        for tenant, *row in con.execute(
            f"""
            select tenant_id, dimension, from_value, to_value, reason, count(*) as n
            from marts.status_changes where changed_on between ? and ?
            group by tenant_id, dimension, from_value, to_value, reason
            qualify row_number() over (partition by tenant_id order by n desc, dimension,
                                       from_value, to_value, reason) <= {TOP}
            order by tenant_id, n desc, dimension, from_value, to_value, reason
            """,
            [changed_from, as_of],
        ).fetchall():
            by_tenant[tenant].changes.append(tuple(row))
    if has_table(con, "marts", "billing_restatements"):
        for tenant, *row in con.execute(
            f"""
            select tenant_id, grain, period, metric, old_value, new_value
            from marts.billing_restatements where restated_by_run = ?
            qualify row_number() over (partition by tenant_id order by period, metric) <= {TOP}
            order by tenant_id, period, metric
            """,
            [run_id],
        ).fetchall():
            if tenant in by_tenant:
                by_tenant[tenant].restatements.append(tuple(row))
    view.tenants = [by_tenant[t] for t in tenants]
