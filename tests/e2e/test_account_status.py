"""End to end, account status (rules §4-§6 import half): a hand-written timeline landed as files,
one real ``customer-status run``, assertions on the published outcomes, orders and history."""

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

FILES = {
    # max_billable_swing 1: this timeline changes 1 of 2 billable customers on the as-of date
    "tenants/tenants.csv": """tenant_id,name,timezone,deleted_can_be_restored,internal_email_domains,max_billable_swing
t1,Shop,UTC,true,staff.acme.com,1
""",
    "customers/customers.csv": """tenant_id,customer_id,code,email,full_name,created_at,deleted_at,merged_into,merged_at
t1,c1,K-1,ann@mail.com,Ann,2026-01-01T00:00:00Z,,,
t1,c2,K-2,bob@mail.com,Bob,2026-01-01T00:00:00Z,,,
t1,c3,K-3,cy@staff.acme.com,Cy,2026-01-01T00:00:00Z,,,
t1,c4,K-4,dee@mail.com,Dee,2026-01-01T00:00:00Z,2026-02-10T12:00:00Z,,
t1,c5,K-5,eve@mail.com,Eve,2026-01-01T00:00:00Z,,c6,2026-02-15T00:00:00Z
t1,c6,K-6,eve.new@mail.com,Eve,2026-01-05T00:00:00Z,,,
""",
    "status_labels/labels.csv": "tenant_id,label,status\nt1,Regular,active\n",
    "status_actions/actions.csv": """tenant_id,action_id,customer_id,action,status,reason,actor,requested_at,source
t1,a01,c1,set_status,suspended,lost phone,staff:ann,2026-02-01T00:00:00Z,ui
t1,a02,c1,set_status,active,new phone,staff:ann,2026-02-20T00:00:00Z,ui
t1,a03,c2,set_status,fraud_confirmed,chargebacks,staff:bo,2026-02-01T00:00:00Z,ui
t1,a04,c2,set_status,fraud_suspected,chargebacks,staff:bo,2026-02-02T00:00:00Z,ui
t1,a05,c2,set_status,fraud_confirmed,chargebacks,staff:bo,2026-02-03T00:00:00Z,api
t1,a06,c4,restore,,asked to come back,staff:ann,2026-03-01T00:00:00Z,ui
t1,a07,c5,set_status,active,mistake,staff:ann,2026-03-01T00:00:00Z,ui
t1,a08,c1,set_status,REGULAR,loyal,staff:ann,2026-03-05T00:00:00Z,ui
t1,a09,c9,set_status,suspended,typo,staff:ann,2026-03-05T00:00:00Z,bulk
t1,a10,c1,deactivate,,asked for no mail,staff:ann,2026-03-10T00:00:00Z,ui
t1,a11,c2,set_status,active,,staff:bo,2026-03-11T00:00:00Z,ui
""",
    "orders/orders.csv": """tenant_id,order_id,customer_id,created_at,paid_at,amount,currency
t1,o1,c1,2026-02-05T10:00:00Z,2026-02-05T10:01:00Z,20.00,EUR
t1,o2,c1,2026-02-25T10:00:00Z,2026-02-25T10:01:00Z,30.00,EUR
""",
    "status_imports/t1/spreadsheet.csv": """Code,Name,Email,Customer Status
K-1,Ann,ann@mail.com,Inactive
K-6,Eve,eve.new@mail.com,inactive
K-99,Nobody,,Active
""",
}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("account")
    for relative, content in FILES.items():
        path = root / "landing" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    proc = subprocess.run(
        [
            CLI,
            "run",
            "--date",
            "2026-03-31",
            "--landing",
            str(root / "landing"),
            "--warehouse",
            str(root / "warehouse.duckdb"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
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
        "select order_id, is_outlier, outlier_reason from marts.orders order by order_id"
    ).fetchall() == [("o1", True, "paid while the account was suspended"), ("o2", False, None)]


@pytest.fixture(scope="module")
def round_trip(published, tmp_path_factory):
    """Issue 3: export the status spreadsheet, flip Ann (inactive since the import) to Active,
    land only that row as a status import, and run the next night."""
    root = Path(
        published.execute(
            "select file from pragma_database_list where name = current_database()"
        ).fetchone()[0]
    ).parent
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
    # this process still holds the first night open (fixture `published`), and DuckDB hands
    # out that same instance for the same path: read the new night from a copy
    after = root / "after-round-trip.duckdb"
    shutil.copyfile(root / "warehouse.duckdb", after)
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
