"""A publish writes only what changed (``publish.plan_publish``): the new warehouse starts as a
copy of the current one and only the marts whose rows or columns differ are replaced; the
result is always exactly the working file's marts. On a hand-made working file
(``publish_harness``), no dbt."""

from __future__ import annotations

import duckdb
import pytest
from publish_harness import PROJECT, fill_work_file, work_area

from customer_status.pipeline import publish, published


@pytest.fixture
def paths(tmp_path, monkeypatch):
    monkeypatch.delenv(publish.FULL_PUBLISH_ENV, raising=False)
    return work_area(tmp_path, monkeypatch)


def _next_run(paths, run_id: str) -> None:
    with duckdb.connect(str(paths.work_db)) as con:
        con.execute("update ops.pipeline_runs set outcome = 'published' where outcome = 'running'")
        con.execute(
            "insert into ops.pipeline_runs values (?, date '2026-04-01', "
            "timestamp '2026-04-02 01:00:00', null, 'running', 1, 0, false, null, null)",
            [run_id],
        )


def _work(paths, sql: str) -> None:
    with duckdb.connect(str(paths.work_db)) as con:
        con.execute(sql)


def _published_equals_work(paths, marts: dict[str, published.Mart]) -> None:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        con.execute(f"attach '{paths.work_db}' as work (read_only)")
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = "
                "current_database() and schema_name = 'marts'"
            ).fetchall()
        }
        assert tables == set(marts) | {"pipeline_runs"}
        for mart in marts.values():
            cols = ", ".join(f'"{c}"' for c in mart.column_names)
            a = f"select {cols} from marts.{mart.name}"
            b = f"select {cols} from work.marts.{mart.name}"
            for x, y in ((a, b), (b, a)):
                assert con.execute(f"select count(*) from ({x} except all {y})").fetchone() == (
                    0,
                ), mart.name
            got = con.execute(
                "select column_name, lower(data_type) from duckdb_columns() where "
                "database_name = current_database() and table_name = ? order by column_index",
                [mart.name],
            ).fetchall()
            assert got == list(mart.columns), mart.name


def test_a_first_publish_writes_every_mart_then_an_unchanged_night_writes_none(paths):
    marts = fill_work_file(paths)
    first = publish.plan_publish(paths, marts)
    assert first.whole and first.why == "no warehouse yet"
    publish.publish_marts(paths, "r1")
    _next_run(paths, "r2")
    again = publish.plan_publish(paths, marts)
    assert (again.whole, again.changed) == (False, [])
    publish.publish_marts(paths, "r2")
    _published_equals_work(paths, marts)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:  # the run log is new
        assert con.execute(
            "select run_id, outcome from marts.pipeline_runs order by run_id"
        ).fetchall() == [("r0", "failed"), ("r1", "published"), ("r2", "published")]


def test_only_the_marts_whose_rows_changed_are_replaced(paths):
    marts = fill_work_file(paths)
    publish.publish_marts(paths, "r1")
    _next_run(paths, "r2")
    # one value of one row, a deleted row, and an added row that repeats an existing one
    _work(paths, "update marts.billing_monthly set peak_billable = 99 where tenant_id = 't2' "
          "and days_computed = 1")
    _work(paths, "delete from marts.orders where tenant_id = 't1' and amount = 2")
    _work(paths, "insert into marts.status_counts_daily select * from marts.status_counts_daily "
          "where tenant_id = 't1' and customers = 3")
    plan = publish.plan_publish(paths, marts)
    assert (plan.whole, plan.changed) == (
        False, ["billing_monthly", "orders", "status_counts_daily"]
    )
    assert plan.counts["orders"] == 19 and plan.counts["status_counts_daily"] == 21
    publish.publish_marts(paths, "r2")
    _published_equals_work(paths, marts)


def test_a_mart_whose_columns_changed_is_replaced_and_a_mart_no_longer_published_dropped(
    paths,
):
    marts = fill_work_file(paths)
    publish.publish_marts(paths, "r1")
    with duckdb.connect(str(paths.warehouse)) as con:  # as an older night published them
        con.execute("alter table marts.orders drop column invalid_reason")
        con.execute("create table marts.old_mart as select 1 as x")
    _next_run(paths, "r2")
    plan = publish.plan_publish(paths, marts)
    assert plan.changed == ["orders"]
    publish.publish_marts(paths, "r2")
    _published_equals_work(paths, marts)  # no old_mart, orders with every column


def test_a_missing_mart_stops_the_publish_before_anything_is_copied(paths):
    fill_work_file(paths)
    publish.publish_marts(paths, "r1")
    before = paths.warehouse.read_bytes()
    _work(paths, "drop table marts.orders")
    _next_run(paths, "r2")
    with pytest.raises(publish.PublishError, match="orders"):
        publish.publish_marts(paths, "r2")
    assert paths.warehouse.read_bytes() == before
    assert not list(paths.warehouse.parent.glob(".*.publishing"))


def test_the_file_is_written_whole_when_asked_or_mostly_free_space(paths, monkeypatch):
    marts = fill_work_file(paths)
    publish.publish_marts(paths, "r1")
    monkeypatch.setenv(publish.FULL_PUBLISH_ENV, "1")
    assert publish.plan_publish(paths, marts).whole
    monkeypatch.delenv(publish.FULL_PUBLISH_ENV)
    monkeypatch.setattr(publish, "MAX_FREE_SHARE", -1.0)  # any file is "mostly free" now
    plan = publish.plan_publish(paths, marts)
    assert plan.whole and "free space" in plan.why


SECRET = "erased-person-0123456789-abcdefghij@mail.test"


def _file_holds(path, text: str) -> bool:
    return text.encode() in path.read_bytes()


def test_a_change_to_the_erasures_mart_rewrites_the_file_so_no_old_bytes_stay(
    paths, monkeypatch
):
    """A freed block keeps the bytes it held: after an erasure the published file is written
    whole. (``erasures`` is stood in for by customer_status here.)"""
    fill_work_file(paths)
    # enough distinct rows that DuckDB stores the value as it is (not in a dictionary)
    _work(paths, f"update marts.customer_status set email = '{SECRET}' || customer_id")
    publish.publish_marts(paths, "r1")
    assert _file_holds(paths.warehouse, SECRET)  # the check below can see the bytes
    _work(paths, "update marts.customer_status set email = null")
    _next_run(paths, "r2")
    monkeypatch.setattr(publish, "REWRITE_WHOLE_WHEN_CHANGED", ("customer_status",))
    plan = publish.plan_publish(paths, published.marts(PROJECT))
    assert plan.whole and plan.why == "customer_status changed"
    publish.publish_marts(paths, "r2")
    assert not _file_holds(paths.warehouse, SECRET)



# --- tenant files -------------------------------------------------------------------------


def _tenant_plan(paths, pii: str = "full") -> publish.TenantFiles:
    with duckdb.connect(str(paths.work_db), read_only=True) as con:
        return publish.plan_tenant_files(con, "intermediate.int_tenants", paths.warehouse, pii)


def _tenant_file_is(paths, tenant_id: str, marts, pii: str) -> None:
    """The tenant file holds what a file written whole would hold."""
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        con.execute(f"attach '{paths.warehouse.parent / 'tenants' / tenant_id}.duckdb' as tf")
        for mart in marts.values():
            expected = (
                f"select {publish._tenant_select(mart, pii)} from marts.{mart.name} "
                f"where tenant_id = '{tenant_id}'"
            )
            got = f"select * from tf.marts.{mart.name}"
            for x, y in ((expected, got), (got, expected)):
                assert con.execute(f"select count(*) from ({x} except all {y})").fetchone() == (
                    0,
                ), (tenant_id, mart.name)


def test_tenant_files_rewrite_only_the_marts_that_changed_for_their_tenant(paths):
    marts = fill_work_file(paths)
    first = _tenant_plan(paths, "none")
    publish.publish_marts(paths, "r1", tenant_files=first)
    assert first.written == {"t1": sorted(marts), "t2": sorted(marts)}
    _next_run(paths, "r2")
    unchanged = _tenant_plan(paths, "none")
    publish.publish_marts(paths, "r2", tenant_files=unchanged)
    assert unchanged.written == {"t1": [], "t2": []}  # only the run log is new
    _next_run(paths, "r3")
    _work(paths, "update marts.customer_status set email = 'new@mail.test' where tenant_id = 't1'")
    _work(paths, "update marts.orders set amount = 7 where tenant_id = 't2' and amount = 1")
    changed = _tenant_plan(paths, "none")
    publish.publish_marts(paths, "r3", tenant_files=changed)
    # with pii none an email is not in t1's file: nothing of it changed
    assert changed.written == {"t1": [], "t2": ["orders"]}
    for tenant_id in ("t1", "t2"):
        _tenant_file_is(paths, tenant_id, marts, "none")
    _next_run(paths, "r4")
    full = _tenant_plan(paths, "full")  # now with personal data: what holds it is rewritten
    publish.publish_marts(paths, "r4", tenant_files=full)
    # (the harness's status_action_outcomes have no csv_import rows: nothing withheld there)
    assert full.written == {
        "t1": ["customer_status", "import_rejects", "status_changes"],
        "t2": ["customer_status", "import_rejects", "status_changes"],
    }
    for tenant_id in ("t1", "t2"):
        _tenant_file_is(paths, tenant_id, marts, "full")
        with duckdb.connect(
            str(paths.warehouse.parent / "tenants" / f"{tenant_id}.duckdb"), read_only=True
        ) as con:
            assert con.execute("select count(*) from marts.pipeline_runs").fetchone()[0] == 5
