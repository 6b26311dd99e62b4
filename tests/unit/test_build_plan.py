"""What a nightly dbt build rebuilds (pipeline/build.py): everything on a new project, else
what is downstream of new landing files and of the as-of date."""

from __future__ import annotations

import duckdb
import pytest

from customer_status import pipeline_db
from customer_status.ingest.loader import ensure_raw_schema
from customer_status.pipeline import build
from customer_status.pipeline.build import BuildPlan, plan_build, record_build


@pytest.fixture
def con():
    con = duckdb.connect()
    ensure_raw_schema(con)
    yield con
    con.close()


def land(con, load_id: int, source: str) -> None:
    con.execute(
        "insert into raw.ingest_ledger values (?, ?, ?, 'sha', 1, 1, 1, 0, 'loaded', null, "
        "'run', date '2026-11-01', current_timestamp::timestamp)",
        [load_id, source, f"{source}/{load_id}.csv"],
    )


def test_first_build_is_a_full_refresh(con):
    land(con, 1, "orders")
    plan = plan_build(con, "v1")
    assert plan == BuildPlan("v1", True, 1, None)
    assert plan.dbt_args() == ("--full-refresh",)
    assert "full refresh" in plan.describe()


def test_next_build_selects_what_new_files_and_the_as_of_date_feed(con):
    land(con, 1, "orders")
    record_build(con, "night-1", plan_build(con, "v1"))
    land(con, 2, "orders")
    land(con, 3, "suppressions")
    land(con, 4, "orders")
    plan = plan_build(con, "v1")
    assert plan == BuildPlan("v1", False, 4, ("orders", "suppressions"))
    assert plan.dbt_args() == (
        "--select",
        "source:landing.orders+ source:landing.suppressions+ source:landing.ingest_ledger+ "
        "source:landing.import_rejects+ tag:as_of_date+ source:published+",
    )


def test_night_without_new_files_rebuilds_only_what_reads_the_as_of_date(con):
    land(con, 1, "orders")
    record_build(con, "night-1", plan_build(con, "v1"))
    plan = plan_build(con, "v1")
    assert plan.changed_sources == ()
    assert plan.dbt_args() == ("--select", "tag:as_of_date+ source:published+")
    assert "no new files" in plan.describe()


def test_a_failed_build_leaves_its_files_for_the_next_one(con):
    """Only successful builds are recorded: files of a night whose build failed count as new
    the night after."""
    land(con, 1, "orders")
    record_build(con, "night-1", plan_build(con, "v1"))
    land(con, 2, "customers")
    plan_build(con, "v1")  # night 2: planned, its build fails, nothing recorded
    land(con, 3, "orders")
    assert plan_build(con, "v1").changed_sources == ("customers", "orders")


def test_changed_project_or_operator_forces_a_full_refresh(con, monkeypatch):
    land(con, 1, "orders")
    record_build(con, "night-1", plan_build(con, "v1"))
    assert plan_build(con, "v2").full_refresh
    monkeypatch.setenv(build.FULL_REFRESH_ENV, "1")
    assert plan_build(con, "v1").full_refresh


def test_build_recorded_before_watermarks_rebuilds_everything(con):
    """A warehouse whose last build predates `through_load_id` cannot tell what is new."""
    land(con, 1, "orders")
    pipeline_db.ensure(con, pipeline_db.DBT_BUILDS)
    con.execute(
        "insert into ops.dbt_builds (run_id, built_at, fingerprint, full_refresh) "
        "values ('old', current_timestamp::timestamp, 'v1', false)"
    )
    plan = plan_build(con, "v1")
    assert plan == BuildPlan("v1", False, 1, None)
    assert plan.dbt_args() == ()


def _status_engine_table(con) -> None:
    con.execute("create schema if not exists intermediate")
    con.execute("create table intermediate.int_customer_status_segments (built_through_load_id bigint)")


def test_night_without_new_files_leaves_the_per_customer_models_out(con):
    """No new file: no customer is touched, so the status engine's per-customer models would
    delete and append nothing; the build leaves them (and their tests) out."""
    land(con, 1, "orders")
    record_build(con, "night-1", plan_build(con, "v1"))
    _status_engine_table(con)
    plan = plan_build(con, "v1")
    assert plan.skips_per_customer
    assert plan.dbt_args() == (
        "--select",
        "tag:as_of_date+ source:published+",
        "--exclude",
        "tag:per_customer",
    )
    assert "per-customer models kept" in plan.describe()


def test_per_customer_models_run_when_files_landed_or_their_tables_are_missing(con):
    land(con, 1, "orders")
    record_build(con, "night-1", plan_build(con, "v1"))
    # no table of the status engine yet (a new work file): every customer is recomputed
    assert not plan_build(con, "v1").skips_per_customer
    _status_engine_table(con)
    # on Spark the engine's tables live on the cluster: the whole selection runs
    assert not plan_build(con, "v1", engine="spark").skips_per_customer
    land(con, 2, "status_labels")  # any new file (even one with no customer of its own)
    plan = plan_build(con, "v1")
    assert plan.changed_sources == ("status_labels",) and not plan.skips_per_customer
    assert "--exclude" not in plan.dbt_args()
