"""``customer-status explain`` and ``billing`` on a small hand-made published warehouse.

The warehouse holds one tenant ``shop`` with customer ``c1`` (created 2026-01-10, paid on
2026-02-01, deactivated by ann@shop on 2026-03-05 with reason 'bounced'), customer ``c2``,
the billing figures of February (complete) and March (not complete), and restatements: one of
February's month figures, one of a February day, one of a January day (not February's).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest

from customer_status.cli import main

RUN = "scheduled__2026-04-01T12:00:00+00:00"


@pytest.fixture()
def warehouse(tmp_path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.customer_status as select * from (values "
            "('shop', 'c1', date '2026-03-31', 'sleeping', 'active', 'active', 'sleeping', "
            " 'inactive', 'deactivated', false, timestamp '2026-01-10 09:00:00'), "
            "('shop', 'c2', date '2026-03-31', 'prospect', 'active', 'active', 'prospect', "
            " 'active', null, true, timestamp '2026-01-10 09:00:00')) "
            "t(tenant_id, customer_id, as_of_date, status, account_status, status_label, "
            "lifecycle_status, member_status, inactive_reason, is_billable, created_at)"
        )
        con.execute(
            "create table marts.customer_status_history as select * from (values "
            "('shop', 'c1', date '2026-01-10', date '2026-02-01', 'prospect', 'active', 'active', "
            " 'prospect', 'active', null, true), "
            "('shop', 'c1', date '2026-02-01', date '2026-03-05', 'active', 'active', 'active', "
            " 'active', 'active', null, true), "
            "('shop', 'c1', date '2026-03-05', date '2026-03-08', 'active', 'active', 'active', "
            " 'active', 'inactive', 'deactivated', false), "
            "('shop', 'c1', date '2026-03-08', null, 'sleeping', 'active', 'active', "
            " 'sleeping', 'inactive', 'deactivated', false), "
            "('shop', 'c2', date '2026-01-10', null, 'prospect', 'active', 'active', "
            " 'prospect', 'active', null, true)) "
            "t(tenant_id, customer_id, valid_from, valid_to, status, account_status, "
            "status_label, lifecycle_status, member_status, inactive_reason, is_billable)"
        )
        con.execute(
            "create table marts.status_changes as select * from (values "
            "('shop', 'c1', date '2026-02-01', 'lifecycle_status', 'prospect', 'active', "
            " 'paid order o1', 'system', 'behaviour'), "
            "('shop', 'c1', date '2026-03-05', 'member_status', 'active', 'inactive', "
            " 'bounced', 'ann@shop', 'ui'), "
            "('shop', 'c1', date '2026-03-05', 'is_billable', 'true', 'false', "
            " 'bounced', 'ann@shop', 'ui'), "
            "('shop', 'c1', date '2026-03-08', 'lifecycle_status', 'active', 'sleeping', "
            " 'no payment for 35 days', 'system', 'behaviour')) "
            "t(tenant_id, customer_id, changed_on, dimension, from_value, to_value, reason, "
            "actor, source)"
        )
        con.execute(
            "create table marts.orders as select * from (values "
            "('shop', 'o1', 'c1', timestamp '2026-02-01 10:00:00', null::timestamp, false, null)) "
            "t(tenant_id, order_id, customer_id, paid_at, refunded_at, is_outlier, invalid_reason)"
        )
        con.execute(
            "create table marts.billing_monthly as select * from (values "
            "('shop', date '2026-02-01', 'active_customers', 2, 2, date '2026-02-01', "
            " 2.000000::decimal(28,6), 28, true), "
            "('shop', date '2026-03-01', 'active_customers', 1, 2, date '2026-03-01', "
            " 1.870968::decimal(28,6), 31, false)) "
            "t(tenant_id, month, billing_basis, month_end_billable, peak_billable, peak_date, "
            "average_billable, days_computed, is_complete)"
        )
        con.execute(
            "create table marts.billing_restatements as select * from (values "
            "('shop', date '2026-02-01', 'month_end_billable', 3::decimal(28,6), "
            " 2::decimal(28,6), 'late-run', timestamp '2026-03-02 12:00:00', 'month'), "
            "('shop', date '2026-02-14', 'billable_customers', 3::decimal(28,6), "
            " 2::decimal(28,6), 'late-run', timestamp '2026-03-02 12:00:00', 'day'), "
            "('shop', date '2026-01-20', 'billable_customers', 1::decimal(28,6), "
            " 2::decimal(28,6), 'late-run', timestamp '2026-03-02 12:00:00', 'day')) "
            "t(tenant_id, period, metric, old_value, new_value, restated_by_run, restated_at, "
            "grain)"
        )
        con.execute(
            "create table marts.pipeline_runs as select * from (values "
            f"('{RUN}', date '2026-03-31', timestamp '2026-04-01 12:00:00', "
            " timestamp '2026-04-01 12:01:00', 'published')) "
            "t(run_id, as_of_date, started_at, finished_at, outcome)"
        )
    return path


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, " ".join(captured.err.split())


# --- explain --------------------------------------------------------------------------------


def test_explain_prints_the_timeline_and_the_rule_of_each_status(warehouse, capsys):
    code, out, _ = _run(
        capsys, "explain", "--tenant", "shop", "--customer", "c1", "--warehouse", str(warehouse)
    )
    assert code == 0
    lines = out.splitlines()
    assert "customer c1 of tenant shop (published up to 2026-03-31)" in lines[0]
    timeline = [line.strip() for line in lines if line.startswith("  2026-")]
    assert timeline == [
        "2026-02-01  lifecycle_status prospect -> active  'paid order o1'  by system  (behaviour)",
        "2026-03-05  is_billable      true -> false  'bounced'  by ann@shop  (ui)",
        "2026-03-05  member_status    active -> inactive  'bounced'  by ann@shop  (ui)",
        "2026-03-08  lifecycle_status active -> sleeping  'no payment for 35 days'  by system  "
        "(behaviour)",
    ]
    assert "On 2026-03-31:" in out  # the default day: the last published one
    member = next(line for line in lines if line.strip().startswith("member_status"))
    assert "inactive: rules §6.3" in member
    assert "since 2026-03-05 (from active): 'bounced' by ann@shop (ui)" in member
    lifecycle = next(line for line in lines if line.strip().startswith("lifecycle_status"))
    assert "sleeping: rules §3.4" in lifecycle and "since 2026-03-08" in lifecycle
    status = next(line for line in lines if line.strip().startswith("status "))
    assert "sleeping: rules §2: the account is active, so the lifecycle status" in status
    assert "last counting payment up to 2026-03-31: 2026-02-01" in out


def test_explain_for_an_earlier_date_shows_the_state_of_that_day(warehouse, capsys):
    code, out, _ = _run(
        capsys,
        "explain",
        "--tenant",
        "shop",
        "--customer",
        "c1",
        "--date",
        "2026-02-15",
        "--warehouse",
        str(warehouse),
    )
    assert code == 0
    assert "On 2026-02-15:" in out
    member = next(line for line in out.splitlines() if line.strip().startswith("member_status"))
    assert "active: rules §6.5" in member
    billable = next(line for line in out.splitlines() if line.strip().startswith("is_billable"))
    assert billable.split()[1] == "true:"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tenant", "nope", "--customer", "c1"], "unknown tenant 'nope'"),
        (["--tenant", "shop", "--customer", "C1"], "unknown customer 'C1' for tenant 'shop'"),
        (
            ["--tenant", "shop", "--customer", "c1", "--date", "2026-04-01"],
            "--date 2026-04-01 is after the last published day 2026-03-31",
        ),
        (
            ["--tenant", "shop", "--customer", "c1", "--date", "2026-01-09"],
            "has no status on 2026-01-09: its history starts on 2026-01-10",
        ),
    ],
)
def test_explain_refuses_unknown_input_with_exit_2(warehouse, capsys, args, message):
    code, out, err = _run(capsys, "explain", *args, "--warehouse", str(warehouse))
    assert code == 2
    assert message in err and out == ""


def test_explain_without_a_published_warehouse_exits_2(tmp_path, capsys):
    code, _, err = _run(
        capsys,
        "explain",
        "--tenant",
        "shop",
        "--customer",
        "c1",
        "--warehouse",
        str(tmp_path / "none.duckdb"),
    )
    assert code == 2 and "no published warehouse" in err


def test_explain_opens_the_warehouse_read_only(warehouse, capsys):
    """A dashboard holding the file open read-only does not block it, and it writes nothing."""
    before = warehouse.stat().st_mtime_ns
    with duckdb.connect(str(warehouse), read_only=True):
        code, _, _ = _run(
            capsys,
            "explain",
            "--tenant",
            "shop",
            "--customer",
            "c2",
            "--warehouse",
            str(warehouse),
        )
    assert code == 0 and warehouse.stat().st_mtime_ns == before


# --- billing --------------------------------------------------------------------------------


def test_billing_csv_has_the_month_figures_and_every_restatement_of_the_period(
    warehouse, tmp_path, capsys
):
    out = tmp_path / "feb.csv"
    code, _, err = _run(
        capsys,
        "billing",
        "--tenant",
        "shop",
        "--month",
        "2026-02",
        "--out",
        str(out),
        "--warehouse",
        str(warehouse),
    )
    assert code == 0, err
    assert "2026-02 (complete): 7 figures, 2 restatement(s)" in err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    figures = {r["metric"]: r["value"] for r in rows if r["section"] == "figure"}
    assert figures == {
        "billing_basis": "active_customers",
        "month_end_billable": "2",
        "peak_billable": "2",
        "peak_date": "2026-02-01",
        "average_billable": "2",
        "days_computed": "28",
        "is_complete": "true",
    }
    assert {r["run_id"] for r in rows if r["section"] == "figure"} == {RUN}
    restated = [
        (r["period"], r["grain"], r["metric"], r["old_value"], r["new_value"], r["run_id"])
        for r in rows
        if r["section"] == "restatement"
    ]
    assert restated == [  # January's restated day is not February's
        ("2026-02-01", "month", "month_end_billable", "3", "2", "late-run"),
        ("2026-02-14", "day", "billable_customers", "3", "2", "late-run"),
    ]


def test_billing_defaults_to_the_latest_complete_month(warehouse, tmp_path, capsys):
    out = tmp_path / "default.csv"
    code, _, err = _run(
        capsys, "billing", "--tenant", "shop", "--out", str(out), "--warehouse", str(warehouse)
    )
    assert code == 0, err
    months = {r["month"] for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert months == {"2026-02"}  # March is not complete yet


def test_billing_xlsx_has_a_figures_and_a_restatements_sheet(warehouse, tmp_path, capsys):
    from openpyxl import load_workbook

    out = tmp_path / "march.xlsx"
    code, _, err = _run(
        capsys,
        "billing",
        "--tenant",
        "shop",
        "--month",
        "2026-03",
        "--out",
        str(out),
        "--warehouse",
        str(warehouse),
    )
    assert code == 0, err
    book = load_workbook(out)
    assert book.sheetnames == ["figures", "restatements"]
    figures = {row[2]: row[3] for row in book["figures"].iter_rows(min_row=2, values_only=True)}
    assert figures["month_end_billable"] == 1
    assert figures["average_billable"] == pytest.approx(1.870968)
    assert figures["is_complete"] == "false"
    assert list(book["restatements"].iter_rows(min_row=2, values_only=True)) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tenant", "nope", "--out", "x.csv"], "unknown tenant 'nope'"),
        (["--tenant", "shop", "--out", "x.txt"], "must end in .csv or .xlsx"),
        (["--tenant", "shop", "--month", "2026-13", "--out", "x.csv"], "is not a month"),
        (["--tenant", "shop", "--month", "March", "--out", "x.csv"], "is not a month"),
        (
            ["--tenant", "shop", "--month", "2025-12", "--out", "x.csv"],
            "no billing figures for tenant 'shop' in 2025-12: the published months are "
            "2026-02 to 2026-03",
        ),
        (["--tenant", "shop", "--out", "no/such/folder/x.csv"], "does not exist"),
    ],
)
def test_billing_refuses_bad_input_with_exit_2_and_writes_nothing(
    warehouse, tmp_path, capsys, monkeypatch, args, message
):
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "billing", *args, "--warehouse", str(warehouse))
    assert code == 2
    assert message in err
    assert not list(tmp_path.glob("x.*"))


def test_the_finance_export_writes_each_tenants_latest_complete_month(warehouse, tmp_path):
    from customer_status.billing import export_all_tenants

    written = export_all_tenants(warehouse, tmp_path / "exports")
    assert [p.name for p in written] == ["shop-2026-02.csv"]
    assert sum(1 for _ in written[0].open()) == 1 + 7 + 2


def test_parse_month():
    from customer_status.billing import parse_month

    assert parse_month("2026-10") == date(2026, 10, 1)
