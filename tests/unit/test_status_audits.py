"""The status reclassification checks (rules §11; the suites of the candidate marts in
``expectations/reclassification/``, run by Great Expectations on the candidate tables) fail,
per tenant and with sample rows, when the candidate tables break a rule, and pass on clean
candidates. Each check is forced to fail here on a hand-built candidate database;
tests/e2e/test_billable_swing.py shows a failing night publishing nothing and
``--accept-swing`` publishing it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from reclassification_harness import Candidates

from customer_status.checks import gx_reclassification

D = date(2026, 3, 31)
PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
CHECKS = (
    "one_row_per_customer_per_day",
    "statuses_add_up",
    "every_status_change_has_reason_and_actor",
    "daily_counts_reach_the_as_of_date",
)
SWING = "billable_swing_within_limit"


@pytest.fixture
def con(tmp_path):
    return Candidates(
        tmp_path,
        """
        create schema intermediate; create schema staging; create schema marts;
        create table intermediate.int_customers_enriched (
            tenant_id varchar, customer_id varchar, created_date date);
        create table intermediate.int_tenants (tenant_id varchar, max_billable_swing double);
        create table marts.customer_status (tenant_id varchar, customer_id varchar, as_of_date date);
        create table marts.customer_status_history (
            tenant_id varchar, customer_id varchar, valid_from date, valid_to date);
        create table marts.status_counts_daily (
            tenant_id varchar, date date, dimension varchar, value varchar, customers bigint);
        create table marts.billable_counts_daily (
            tenant_id varchar, date date, billable_customers bigint, customers bigint);
        create table marts.status_changes (
            tenant_id varchar, customer_id varchar, changed_on date, dimension varchar,
            to_value varchar, reason varchar, actor varchar);
        create table intermediate.int_run_parameters as select date '2026-03-31' as as_of_date;
        insert into intermediate.int_tenants values ('t1', 0.25), ('t2', null);
        insert into intermediate.int_customers_enriched values
            ('t1', 'c1', '2026-03-01'), ('t1', 'c2', '2026-03-10'), ('t2', 'c3', '2026-03-01');
        insert into marts.customer_status values
            ('t1', 'c1', '2026-03-31'), ('t1', 'c2', '2026-03-31'), ('t2', 'c3', '2026-03-31');
        insert into marts.customer_status_history values
            ('t1', 'c1', '2026-03-01', '2026-03-20'), ('t1', 'c1', '2026-03-20', null),
            ('t1', 'c2', '2026-03-10', null), ('t2', 'c3', '2026-03-01', null);
        insert into marts.status_counts_daily values
            ('t1', '2026-03-30', 'status', 'active', 2), ('t1', '2026-03-30', 'member_status', 'active', 2),
            ('t1', '2026-03-31', 'status', 'active', 2), ('t1', '2026-03-31', 'member_status', 'active', 2);
        insert into marts.billable_counts_daily values
            ('t1', '2026-03-30', 2, 2), ('t1', '2026-03-31', 2, 2);
        insert into marts.status_changes values
            ('t1', 'c1', '2026-03-20', 'lifecycle_status', 'sleeping', 'no payment for 60 days', 'system');
    """,
    )


def test_clean_candidates_pass(con):
    results = con.check(*CHECKS, SWING)
    assert all(r.passed for r in results), [r.describe() for r in results]


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (
            "update marts.customer_status_history set valid_from = '2026-03-21' "
            "where customer_id = 'c1' and valid_from = '2026-03-20'",
            "gap or overlap",
        ),
        (
            "update marts.customer_status_history set valid_from = '2026-03-02' "
            "where customer_id = 'c1' and valid_from = '2026-03-01'",
            "does not start on the creation day",
        ),
        (
            "update marts.customer_status_history set valid_to = '2026-03-25' "
            "where customer_id = 'c2'",
            "last range ends before the as-of date",
        ),
        (
            "insert into marts.customer_status values ('t1', 'c2', '2026-03-31')",
            "customer_status has 2 rows",
        ),
        (
            "delete from marts.customer_status where customer_id = 'c2'",
            "customer_status has 0 rows",
        ),
    ],
)
def test_one_row_per_customer_per_day_fails_for_its_tenant(con, statement, problem):
    con.execute(statement)
    failed = [r for r in con.check("one_row_per_customer_per_day") if not r.passed]
    assert [r.tenant_id for r in failed] == ["t1"], [r.describe() for r in failed]
    assert any(problem in str(row) for row in failed[0].sample), failed[0].sample


def test_statuses_that_do_not_add_up_fail(con):
    con.execute(
        "update marts.status_counts_daily set customers = 1 "
        "where date = '2026-03-31' and dimension = 'member_status'"
    )
    [result] = con.check("statuses_add_up")
    assert not result.passed and result.tenant_id == "t1"
    assert result.sample == [(date(2026, 3, 31), "member_status", 1, 2)]


def test_a_change_without_reason_or_actor_fails(con):
    """Blank reasons and actors; a NULL one is dbt's not_null test's to find (checked once,
    ``test_null_reasons_and_actors_are_dbt_s_to_find``)."""
    con.execute(
        "insert into marts.status_changes values "
        "('t1', 'c2', '2026-03-15', 'member_status', 'inactive', '', 'staff:ann'), "
        "('t1', 'c2', '2026-03-16', 'member_status', 'active', 'lifted', ' ')"
    )
    [result] = con.check("every_status_change_has_reason_and_actor")
    assert not result.passed and result.tenant_id == "t1" and len(result.sample) == 2


def test_a_billable_swing_beyond_the_limit_fails_unless_accepted(con):
    con.execute(
        "update marts.billable_counts_daily set billable_customers = 1 where date = '2026-03-31'"
    )
    [refused] = con.check(SWING, accept_swing=False)
    assert not refused.passed and refused.tenant_id == "t1"
    assert "2 -> 1" in refused.detail and "--accept-swing" in refused.detail
    [accepted] = con.check(SWING, accept_swing=True)
    assert accepted.passed and "accepted by the operator" in accepted.detail


def test_a_date_before_any_customer_exists_passes(con):
    """A backfill night before the first customer: no statuses, nothing missing."""
    con.execute("update intermediate.int_run_parameters set as_of_date = '2026-02-01'")
    con.execute("delete from marts.customer_status")
    con.execute("delete from marts.customer_status_history")
    results = con.check("one_row_per_customer_per_day") + con.check(SWING)
    assert all(r.passed for r in results), [r.describe() for r in results]


def test_a_swing_within_the_limit_or_from_zero_passes(con):
    con.execute(
        "insert into marts.billable_counts_daily values "
        "('t2', '2026-03-30', 0, 1), ('t2', '2026-03-31', 5, 5)"
    )
    assert all(r.passed for r in con.check(SWING, accept_swing=False))


def test_daily_counts_that_stop_before_the_as_of_date_fail(con):
    """Issue 14.2: a spine counted forward from a 1970 creation ended in 1989; every 2026
    figure was missing and every other audit passed."""
    con.execute(
        "insert into marts.billable_counts_daily values "
        "('t2', '1989-12-30', 1, 1), ('t2', '1989-12-31', 1, 1)"
    )
    con.execute(
        "insert into marts.status_counts_daily values "
        "('t2', '1989-12-30', 'status', 'active', 1), ('t2', '1989-12-31', 'status', 'active', 1)"
    )
    [result] = con.check("daily_counts_reach_the_as_of_date")
    assert not result.passed and result.tenant_id == "t2"
    assert result.sample == [
        ("billable_counts_daily", date(1989, 12, 30), date(1989, 12, 31), 2, D),
        ("status_counts_daily", date(1989, 12, 30), date(1989, 12, 31), 2, D),
    ]
    assert "do not reach the as-of date" in result.detail


def test_daily_counts_with_a_missing_day_or_past_the_as_of_date_fail(con):
    con.execute("delete from marts.billable_counts_daily where date = '2026-03-30'")
    con.execute(
        "insert into marts.billable_counts_daily values "
        "('t1', '2026-03-29', 2, 2), ('t1', '2026-04-01', 2, 2)"
    )
    [result] = con.check("daily_counts_reach_the_as_of_date")
    assert not result.passed and result.tenant_id == "t1"
    assert result.sample == [("billable_counts_daily", date(2026, 3, 29), date(2026, 4, 1), 3, D)]


def test_daily_counts_that_reach_the_as_of_date_pass(con):
    [result] = con.check("daily_counts_reach_the_as_of_date")
    assert result.passed, result.describe()
    suites = [gx_reclassification.read_suite(p) for p in gx_reclassification.suite_files()]
    checks = {e["meta"]["check"] for suite in suites for e in suite["expectations"]}
    assert "daily_counts_reach_the_as_of_date" in checks


def test_null_reasons_and_actors_are_dbt_s_to_find():
    """Checked once: dbt's not_null tests reject NULL reasons and actors in ``dbt build``,
    before the audit; the reclassification suites look only for blank ones."""
    import yaml

    models = {}
    for path in (PROJECT / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            models[model["name"]] = {
                c["name"]: c.get("data_tests") or c.get("tests") or []
                for c in model.get("columns", [])
            }
    for model, columns in {
        "status_changes": ("reason", "actor"),
        "account_status_history": ("account_status_reason", "account_status_updated_by"),
    }.items():
        for column in columns:
            assert "not_null" in models[model][column], (model, column)
    queries = [
        e["kwargs"]["unexpected_rows_query"]
        for p in gx_reclassification.suite_files()
        for e in gx_reclassification.read_suite(p)["expectations"]
        if e["meta"]["check"].endswith("has_reason_and_actor")
    ]
    assert len(queries) == 2 and not any("is null" in q for q in queries), queries
