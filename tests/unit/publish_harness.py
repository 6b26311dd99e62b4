"""A working file made by hand for the publish tests: every contracted mart filled with rows
of three declared tenants (``t1``, ``t2`` and ``../evil``), rows of no tenant and rows of an
undeclared one; ``intermediate.int_tenants`` and ``ops.pipeline_runs`` beside them."""

from __future__ import annotations

import duckdb

from customer_status.pipeline import published
from customer_status.settings import PROJECT_ROOT, resolve_paths

PROJECT = PROJECT_ROOT / "dbt_project"
DECLARED = ["t1", "t2", "../evil"]
ROW_TENANTS = ["t1", "t2", "../evil", "undeclared", None]  # rows of each, in every mart
ROWS_PER_TENANT = 4


def _value(mart: published.Mart, name: str, data_type: str) -> str:
    """A SQL expression for column ``name`` of row ``i`` (``tenant`` is the row's tenant)."""
    if name == "tenant_id":
        return "tenant"
    if name == "email":
        return "'person' || i || '.' || coalesce(tenant, 'x') || '@mail.test'"
    if name in mart.pii:
        return f"'{name}-' || i || '-' || coalesce(tenant, 'x')"
    if name == "source":  # makes some texts quote personal values (publish.PII_WITHHELD)
        return "case when i % 2 = 0 then 'customers' else 'orders' end"
    kind = data_type.lower()
    if kind == "varchar":
        return f"'{name} ' || i || ' of ' || coalesce(tenant, 'x')"
    if kind in ("bigint", "integer") or kind.startswith("decimal"):
        return f"cast(i as {data_type})"
    if kind == "date":
        return "date '2026-01-01' + cast(i as integer)"
    if kind == "timestamp":
        return "timestamp '2026-01-01 10:00:00' + to_days(cast(i as integer))"
    if kind == "boolean":
        return "i % 2 = 0"
    raise AssertionError(f"no test value for {data_type}")


def fill_work_file(paths, run_id: str = "r1") -> dict[str, published.Mart]:
    marts = published.marts(PROJECT)
    with duckdb.connect(str(paths.work_db)) as con:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists ops")
        con.execute("create schema if not exists intermediate")
        con.execute(
            "create or replace table intermediate.int_tenants as "
            "select unnest($ids) as tenant_id", {"ids": DECLARED}
        )
        tenants = ", ".join("null" if t is None else f"'{t}'" for t in ROW_TENANTS)
        for mart in marts.values():
            values = ", ".join(
                f"{_value(mart, n, t)} as \"{n}\"" for n, t in mart.columns
            )
            con.execute(
                f"create or replace table marts.{mart.name} as select {values} "
                f"from (select unnest([{tenants}]) as tenant) as tenants, "
                f"range({ROWS_PER_TENANT}) as r(i)"
            )
        con.execute(
            "create table if not exists ops.pipeline_runs (run_id varchar, as_of_date date, "
            "started_at timestamp, finished_at timestamp, outcome varchar, "
            "checks_passed integer, checks_failed integer, accepted_swing boolean, "
            "failed_step varchar, message varchar)"
        )
        con.execute(
            "insert into ops.pipeline_runs values "
            "('r0', date '2026-03-30', timestamp '2026-03-31 01:00:00', null, 'failed', 1, 1, "
            "false, 'audit', 'billable swing of tenant t2: person0.t2@mail.test'), "
            "(?, date '2026-03-31', timestamp '2026-04-01 01:00:00', null, 'running', 1, 0, "
            "false, null, null)",
            [run_id],
        )
    return marts


def work_area(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMER_STATUS_DBT_PROJECT", str(PROJECT))
    paths = resolve_paths(tmp_path / "landing", tmp_path / "out" / "warehouse.duckdb")
    paths.work_dir.mkdir(parents=True)
    return paths


