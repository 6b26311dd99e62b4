"""End to end, account status (rules §4-§6 import half): a hand-written timeline landed as files,
one real ``customer-status run``, assertions on the published outcomes, orders and history.

Case ``account`` (tenant ``t1``) of the shared one-night zone ``tests/e2e/one_night/``
(fixture ``one_night``, 2026-03-31): ``tenants/account.csv``, ``customers/account.csv``,
``status_labels/account.csv``, ``status_actions/account.csv``, ``orders/account.csv`` and
``status_imports/t1/spreadsheet.csv``. The tenant's ``max_billable_swing`` is 1: this
timeline changes 1 of 2 billable customers on the as-of date."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

CLI = str(Path(sys.executable).with_name("customer-status"))

pytestmark = pytest.mark.e2e

@pytest.fixture(scope="module")
def published(one_night):
    zone, run = one_night
    assert run.code == 0, run.output[-4000:]
    con = duckdb.connect(str(zone.warehouse), read_only=True)
    yield con
    con.close()


def outcome(con, action_id: str) -> tuple:
    return con.execute(
        "select outcome, rejection_reason from marts.status_action_outcomes where action_id = ?",
        [action_id],
    ).fetchone()


def status_on(con, customer: str, day: str) -> tuple:
    """Account status and label at the end of ``day`` (UTC tenant) from the published history."""
    end = datetime.fromisoformat(day + "T23:59:59")
    return con.execute(
        "select account_status, status_label, account_status_reason, account_status_updated_by "
        "from marts.account_status_history where customer_id = ? and valid_from <= ? "
        "and (valid_to is null or valid_to > ?)",
        [customer, end, end],
    ).fetchone()


@pytest.mark.parametrize(
    ("action_id", "expected"),
    [
        ("a01", ("applied", None)),
        ("a02", ("applied", None)),
        (
            "a03",
            ("rejected", "fraud can be confirmed only after it was suspected (status is active)"),
        ),
        ("a04", ("applied", None)),
        ("a05", ("applied", None)),
        ("a06", ("applied", None)),
        ("a07", ("rejected", "archived by a merge: it cannot be reactivated or restored")),
        ("a08", ("applied", None)),
        ("a09", ("rejected", "unknown customer c9")),
        ("a10", ("applied", None)),
        ("a11", ("rejected", "missing reason")),
        ("status_imports/t1/spreadsheet.csv:1", ("no_change", None)),
        ("status_imports/t1/spreadsheet.csv:2", ("applied", None)),
        ("status_imports/t1/spreadsheet.csv:3", ("rejected", "no customer has code K-99")),
    ],
)
def test_every_action_and_import_row_has_its_outcome(published, action_id, expected):
    assert outcome(published, action_id) == expected


def test_import_rows_are_csv_import_actions_at_the_end_of_the_as_of_day(published):
    assert published.execute(
        "select customer_id, action, source, actor, requested_at::varchar from marts.status_action_outcomes "
        "where action_id = 'status_imports/t1/spreadsheet.csv:2'"
    ).fetchone() == (
        "c6",
        "deactivate",
        "csv_import",
        "import:spreadsheet.csv",
        "2026-03-31 23:59:59.999999",
    )


@pytest.mark.parametrize(
    ("customer", "day", "expected"),
    [
        ("c1", "2026-01-15", ("active", "active", "customer created", "system")),
        ("c1", "2026-02-10", ("suspended", "suspended", "lost phone", "staff:ann")),
        ("c1", "2026-02-21", ("active", "active", "new phone", "staff:ann")),
        ("c1", "2026-03-06", ("active", "regular", "loyal", "staff:ann")),
        ("c2", "2026-02-04", ("fraud_confirmed", "fraud_confirmed", "chargebacks", "staff:bo")),
        ("c3", "2026-01-01", ("internal", "internal", "internal email domain", "system")),
        ("c4", "2026-02-11", ("deleted", "deleted", "deleted by the customer", "customer")),
        ("c4", "2026-03-02", ("active", "active", "asked to come back", "staff:ann")),
        ("c5", "2026-02-16", ("archived", "archived", "merged into c6", "system")),
        ("c5", "2026-03-31", ("archived", "archived", "merged into c6", "system")),
    ],
)
def test_account_status_on_given_dates(published, customer, day, expected):
    assert status_on(published, customer, day) == expected


def test_payment_while_suspended_is_an_outlier(published):
    assert published.execute(
        "select order_id, is_outlier, outlier_reason from marts.orders where tenant_id = 't1' "
        "order by order_id"
    ).fetchall() == [("o1", True, "paid while the account was suspended"), ("o2", False, None)]


@pytest.fixture(scope="module")
def round_trip(one_night, published, tmp_path_factory):
    """Issue 3: export the status spreadsheet, flip Ann (inactive since the import) to Active,
    land only that row as a status import, and run the next night (on a copy of the shared
    zone: the other cases keep asserting on the first night)."""
    zone, _ = one_night
    root = tmp_path_factory.mktemp("account-round-trip")
    shutil.copytree(zone.landing.parent, root, dirs_exist_ok=True)
    sheet = root / "export.csv"
    exported = subprocess.run(
        [
            CLI,
            "export",
            "--tenant",
            "t1",
            "--out",
            str(sheet),
            "--warehouse",
            str(root / "warehouse.duckdb"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    lines = sheet.read_text(encoding="utf-8").splitlines()
    header, ann = lines[0], next(line for line in lines if line.startswith("K-1,"))
    assert ann.endswith(",Inactive"), ann
    edited = root / "landing" / "status_imports" / "t1" / "edited.csv"
    edited.write_text(header + "\n" + ann.replace(",Inactive", ",Active") + "\n", encoding="utf-8")
    night = subprocess.run(
        [
            CLI,
            "run",
            "--date",
            "2026-04-01",
            "--landing",
            str(root / "landing"),
            "--warehouse",
            str(root / "warehouse.duckdb"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert night.returncode == 0, (night.stdout + night.stderr)[-4000:]
    after = root / "warehouse.duckdb"
    with duckdb.connect(str(after), read_only=True) as con:
        return {
            "header": header,
            "ann": con.execute(
                "select member_status, inactive_reason from marts.customer_status "
                "where tenant_id = 't1' and customer_id = 'c1'"
            ).fetchone(),
            "outcome": con.execute(
                "select outcome, actor from marts.status_action_outcomes "
                "where action_id = 'status_imports/t1/edited.csv:1'"
            ).fetchone(),
        }


def test_exported_sheet_flipped_to_active_reactivates_on_import(round_trip):
    """Issue 3 / the contract export: export, flip a row to Active, import it: the customer is active."""
    assert round_trip["header"] == "Code,Name,Email,Customer Status"
    assert round_trip["outcome"] == ("applied", "import:edited.csv")
    assert round_trip["ann"] == ("active", None)
