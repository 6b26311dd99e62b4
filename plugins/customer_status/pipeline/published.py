"""What readers saw before this run: the published billing figures, copied into the working
file (schema ``published``) before dbt runs, so ``billing_restatements`` can record every
figure this run changes (SPEC §7).

The published warehouse is only ever opened read-only here, which never blocks a dashboard
(readers share a read-only file) and never blocks the run (nothing writes to that file: a
publish replaces it whole).
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from ..ingest.readers import quote_literal

log = logging.getLogger(__name__)

# The columns billing_restatements compares; the shape dbt's `published` source expects.
TABLES = {
    "billable_counts_daily": (
        "tenant_id varchar, date date, billable_customers bigint, active_members bigint, "
        "inactive_members bigint, customers bigint"
    ),
    "billing_monthly": (
        "tenant_id varchar, month date, billing_basis varchar, month_end_billable bigint, "
        "peak_billable bigint, peak_date date, average_billable decimal(28,6), days_computed bigint, "
        "is_complete boolean"
    ),
    "billing_restatements": (
        "tenant_id varchar, period date, metric varchar, old_value decimal(28,6), new_value decimal(28,6), "
        "restated_by_run varchar, restated_at timestamp, grain varchar"
    ),
}


def create_empty(con: duckdb.DuckDBPyConnection) -> None:
    """The ``published`` schema with empty tables (a new warehouse; dbt's test harness)."""
    con.execute("create schema if not exists published")
    for table, columns in TABLES.items():
        con.execute(f"create or replace table published.{table} ({columns})")


def snapshot(con: duckdb.DuckDBPyConnection, warehouse: Path) -> dict[str, int]:
    """Replace ``published.*`` in the working file with the warehouse's current figures."""
    create_empty(con)
    counts = dict.fromkeys(TABLES, 0)
    if not warehouse.exists():
        return counts
    con.execute(f"attach {quote_literal(str(warehouse))} as current_warehouse (read_only)")
    try:
        present = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = "
                "'current_warehouse' and schema_name = 'marts'"
            ).fetchall()
        }
        for table, columns in TABLES.items():
            if table not in present:
                continue
            names = ", ".join(c.split()[0] for c in columns.split(", "))
            con.execute(
                f"insert into published.{table} by name "
                f"select {names} from current_warehouse.marts.{table}"
            )
            counts[table] = con.execute(f"select count(*) from published.{table}").fetchone()[0]
    finally:
        con.execute("detach current_warehouse")
    log.info("published figures before this run: %s", counts)
    return counts
