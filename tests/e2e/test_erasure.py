"""Erasure on request (rules §12), end to end: three real nights over case ``erasure`` of the
shared one-night zone ``tests/e2e/one_night/`` (files ``<source>/erasure.csv`` and
``status_imports/er1/``). Night 1 is that zone's night (fixture ``one_night``); nights 2
and 3 run on a copy of it, so its other tenants are in every night too: what must not move
for them must not move either.

The case (tenant ``er1``, UTC) holds what an erasure must not break:

- ``e1`` Erin: two versions (a new phone and a withdrawn consent on 02-25), on the email
  blocklist 02-01..02-20, deactivated by a status import keyed by **Code** on 03-10; ``e2``
  shares Erin's **email**, so a status import keyed by that email is ambiguous (rejected);
- ``e3`` Ian: ``internal`` from creation by his email's domain;
- ``e4`` Sam: his email's domain is suppressed from 02-10;
- ``e6`` Lou: active and billable until the erasure;
- ``e5``, ``e7``..``e9``: customers who stay.

Night 1 (2026-03-31) publishes; ``customer-status forget`` erases e1, e3, e4 and e6 (a
request file with an unknown customer and a missing actor lands too); night 2 runs for the
local date of the requests (today): nothing of theirs is left in any table of the published
or work file, in the night's report or Data Docs, or in earlier artefacts; every count of
the days night 1 published is the same, no restatement; from the request day they are
inactive (``erased``) and not contactable, and left out of the export. Night 3 re-lands the
customers file (rows in another order) and a second request for e1: nothing comes back,
nothing moves.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from conftest import CLI, Zone

ZONE = Path(__file__).with_name("one_night") / "landing"
NIGHT_1 = "2026-03-31"  # the one-night zone's night (fixture one_night)
ERASED = ("e1", "e3", "e4", "e6")
# every value of the erased customers' that any landing file holds
PERSONAL = [
    "erin.erased@erasure-mail.example",
    "+44 7700 900123",
    "+44 7700 900124",
    "Erin Erasedperson",
    "ERA-001",
    "ian.insider@staff.erasure.example",
    "+44 7700 900789",
    "Ian Insiderperson",
    "ERA-003",
    "sam.suppressed@blocked-erasure.example",
    "Sam Suppressedperson",
    "ERA-004",
    "lou.leaves@erasure-mail.example",
    "+44 7700 900999",
    "Lou Leavesperson",
    "ERA-006",
]
COUNT_TABLES = {
    "billable_counts_daily": "date",
    "status_counts_daily": "date",
    "billing_monthly": "month",
}
BAD_REQUESTS = (
    "tenant_id,request_id,customer_id,requested_at,reason,actor\n"
    "er1,bad-1,e404,2026-03-30T10:00:00Z,asked,dpo@erasure.example\n"
    "er1,bad-2,e5,2026-03-30T10:00:00Z,asked,\n"
)


def all_text(db: Path) -> str:
    """Every value of every column of every table of a DuckDB file, as lower-case text."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        chunks = []
        for schema, table in tables:
            for row in con.execute(f'select * from "{schema}"."{table}"').fetchall():
                chunks.append("|".join("" if v is None else str(v) for v in row))
    return "\n".join(chunks).lower()


def files_text(root: Path) -> dict[str, str]:
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and ".duckdb" not in path.name and path.suffix not in (".db", ".wal"):
            try:
                out[str(path.relative_to(root))] = path.read_text(encoding="utf-8").lower()
            except UnicodeDecodeError:
                continue
    return out


def leaks(text: str) -> list[str]:
    return [v for v in PERSONAL if v.lower() in text]


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def history_until(db: Path, day: str) -> list[tuple]:
    """The published history as it stands for the days up to ``day`` (ranges cut there)."""
    return rows(
        db,
        f"""select tenant_id, customer_id, valid_from,
               least(coalesce(valid_to, date '{day}' + 1), date '{day}' + 1) as valid_to,
               status, account_status, status_label, lifecycle_status, member_status,
               inactive_reason, is_billable
        from marts.customer_status_history where valid_from <= date '{day}' order by all""",
    )


def counts_until(db: Path, table: str, day: str) -> list[tuple]:
    """The case's counts (tenant ``er1``) of the days up to ``day``."""
    column = COUNT_TABLES[table]
    return rows(
        db,
        f"select * from marts.{table} where tenant_id = 'er1' and {column} <= date '{day}' "
        "order by all",
    )


class Nights:
    """The zone after each night: copies of the published warehouse, the forget output."""

    def __init__(self, root: Path):
        self.root = root
        self.zone = Zone.under(root)
        self.work_dir = root / "warehouse.work"

    def night(self, date: str, name: str) -> Path:
        run = self.zone.run("--date", date)
        assert run.code == 0, f"{name}: {run.output[-4000:]}"
        return shutil.copyfile(self.zone.warehouse, self.root / f"after-{name}.duckdb")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                CLI,
                *args,
                "--landing",
                str(self.zone.landing),
                "--warehouse",
                str(self.zone.warehouse),
            ],
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=300,
        )

    def last_run_id(self) -> str:
        return rows(
            self.zone.warehouse,
            "select run_id from marts.pipeline_runs order by started_at desc limit 1",
        )[0][0]


@pytest.fixture(scope="module")
def nights(one_night, tmp_path_factory):
    n = Nights(tmp_path_factory.mktemp("erasure"))
    # night 1 is the shared one-night zone's night (fixture ``one_night``): a copy of it
    zone, run = one_night
    assert run.code == 0, f"night-1: {run.output[-4000:]}"
    shutil.copytree(zone.landing.parent, n.root, dirs_exist_ok=True)
    n.after_1 = shutil.copyfile(n.zone.warehouse, n.root / "after-night-1.duckdb")
    ids = n.root / "forget.txt"
    ids.write_text("\n".join(ERASED) + "\n")
    n.forget = n.cli(
        "forget", "--tenant", "er1", "--customers", str(ids),
        "--reason", "asked by email", "--actor", "dpo@erasure.example", "--yes",
    )  # fmt: skip
    assert n.forget.returncode == 0, n.forget.stderr
    [request_file] = sorted((n.zone.landing / "erasure_requests").iterdir())
    with request_file.open(newline="") as handle:
        n.requests = list(csv.DictReader(handle))
    (n.zone.landing / "erasure_requests" / "erasure-bad.csv").write_text(BAD_REQUESTS)
    # the tenant is on UTC: the requests count from the UTC date they were made
    n.day = n.requests[0]["requested_at"][:10]
    n.after_2 = n.night(n.day, "night-2")
    n.run_2 = n.last_run_id()
    n.artefacts_2 = files_text(n.work_dir / "runs") | {
        f"gx/{k}": v for k, v in files_text(n.work_dir / "gx").items()
    }
    n.work_2 = all_text(n.zone.work_db)
    n.export = subprocess.run(
        [CLI, "export", "--tenant", "er1", "--out", str(n.root / "er1.csv"),
         "--warehouse", str(n.zone.warehouse)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # night 3: the user lands the old customers file again (rows in another order) and asks
    # again for Erin
    header, *lines = (ZONE / "customers" / "erasure.csv").read_text().splitlines(keepends=True)
    (n.zone.landing / "customers" / "erasure-relanded.csv").write_text(
        header + "".join(reversed(lines))
    )
    again = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    (n.zone.landing / "erasure_requests" / "erasure-again.csv").write_text(
        "tenant_id,request_id,customer_id,requested_at,reason,actor\n"
        f"er1,again-1,e1,{again},asked again,dpo@erasure.example\n"
    )
    n.after_3 = n.night(n.day, "night-3")
    return n


def test_the_person_was_everywhere_before(nights):
    # all but Erin's first phone, replaced by her second version (only the raw tables had it)
    assert leaks(all_text(nights.after_1)) == [v for v in PERSONAL if v != "+44 7700 900123"]


def test_forget_says_whom_and_which_landing_files_still_hold_them(nights):
    printed = nights.forget.stderr + nights.forget.stdout
    assert "4 customer(s) of tenant er1" in printed
    assert "The landing files are yours: the pipeline does not edit or delete them" in printed
    for file in (
        "customers/erasure.csv",
        "suppressions/erasure.csv",
        "status_imports/er1/erasure-by-code.csv",
        "status_imports/er1/erasure-by-email.csv",
    ):
        assert file in printed
    assert sorted(r["customer_id"] for r in nights.requests) == list(ERASED)
    # the user's files are untouched
    assert (nights.zone.landing / "customers" / "erasure.csv").read_bytes() == (
        ZONE / "customers" / "erasure.csv"
    ).read_bytes()


@pytest.mark.parametrize("night", ["after_2", "after_3"])
def test_no_table_of_the_published_file_holds_the_person(nights, night):
    assert leaks(all_text(getattr(nights, night))) == []


def test_no_table_of_the_work_file_holds_the_person(nights):
    assert leaks(nights.work_2) == []
    assert leaks(all_text(nights.zone.work_db)) == []  # after night 3's re-landed file


def test_no_report_data_docs_or_earlier_artefact_holds_the_person(nights):
    pages = [k for k in nights.artefacts_2 if k.endswith("report.html")]
    assert len(pages) == 2  # night 1's (scrubbed) and night 2's
    assert any(k.startswith("gx/") and k.endswith(".html") for k in nights.artefacts_2)
    assert {k: leaks(v) for k, v in nights.artefacts_2.items() if leaks(v)} == {}
    after_3 = files_text(nights.work_dir / "runs") | files_text(nights.work_dir / "gx")
    assert {k: leaks(v) for k, v in after_3.items() if leaks(v)} == {}


@pytest.mark.parametrize("table", sorted(COUNT_TABLES))
def test_every_count_of_the_days_night_1_published_is_unchanged(nights, table):
    assert counts_until(nights.after_2, table, NIGHT_1) == counts_until(
        nights.after_1, table, NIGHT_1
    )


def test_no_restatement(nights):
    sql = "select * from marts.billing_restatements order by all"
    assert rows(nights.after_2, sql) == rows(nights.after_1, sql)
    assert rows(nights.after_3, sql) == rows(nights.after_1, sql)


def test_history_before_the_request_day_is_unchanged(nights):
    assert history_until(nights.after_2, NIGHT_1) == history_until(nights.after_1, NIGHT_1)
    day_before = rows(nights.after_2, f"select cast(date '{nights.day}' - 1 as varchar)")[0][0]
    night_2 = history_until(nights.after_2, day_before)
    assert all(r[9] != "erased" for r in night_2)


def test_from_the_request_day_erased_members_are_inactive_and_not_contactable(nights):
    got = rows(
        nights.after_2,
        "select customer_id, as_of_date, member_status, inactive_reason, can_email, can_sms, "
        "can_push, code, email, full_name, phone from marts.customer_status "
        "where customer_id in ('e1', 'e2', 'e3', 'e4', 'e6') order by customer_id",
    )
    by_id = {r[0]: r for r in got}
    day = datetime.fromisoformat(nights.day).date()
    for customer, reason in (
        ("e1", "erased"),
        ("e3", "internal"),
        ("e4", "erased"),
        ("e6", "erased"),
    ):
        _, as_of, member, inactive, can_email, can_sms, can_push, code, email, name, phone = by_id[
            customer
        ]
        assert (as_of, member, inactive) == (day, "inactive", reason), customer
        assert (can_email, can_sms, can_push) == (False, False, False), customer
        assert code.startswith("erased-") and email.startswith("erased-") and name is None
    assert by_id["e1"][8].endswith("@erasure-mail.example")  # the domain stays
    assert by_id["e6"][10].startswith("erased-")  # "has a phone" stays, the number goes
    assert by_id["e2"][8] == by_id["e1"][8]  # e2 shared e1's address: it shares the pseudonym
    assert by_id["e2"][9] == "Erin Sharesmail"  # but keeps its own name
    changes = rows(
        nights.after_2,
        "select customer_id, from_value, to_value, reason, actor, source from marts.status_changes "
        f"where changed_on = date '{nights.day}' and dimension = 'member_status' order by all",
    )
    assert changes == [
        ("e6", "active", "inactive", f"erased on request {_request_of(nights, 'e6')}: asked by email",
         "dpo@erasure.example", "erasure_requests"),
    ]  # fmt: skip


def _request_of(nights, customer: str) -> str:
    return next(r["request_id"] for r in nights.requests if r["customer_id"] == customer)


def test_erasures_are_published_without_personal_data(nights):
    got = rows(
        nights.after_2,
        "select tenant_id, customer_id, request_id, erased_by_run, actor, reason, "
        "cast(erased_from_date as varchar), later_requests from marts.erasures order by all",
    )
    assert got == [
        ("er1", c, _request_of(nights, c), nights.run_2, "dpo@erasure.example",
         "asked by email", nights.day, 0)
        for c in ERASED
    ]  # fmt: skip
    night_3 = rows(
        nights.after_3, "select customer_id, request_id, later_requests from marts.erasures"
    )
    assert ("e1", _request_of(nights, "e1"), 1) in night_3  # asked again: no change


def test_bad_requests_are_rejected_with_why(nights):
    got = rows(
        nights.after_2,
        "select row_number, scope, error from marts.import_rejects "
        "where file = 'erasure_requests/erasure-bad.csv' order by row_number",
    )
    assert got == [
        (1, "erasure", "unknown customer e404; nothing was erased"),
        (2, "row", "actor is missing"),
    ]


def test_erased_customers_are_left_out_of_the_export(nights):
    assert nights.export.returncode == 0, nights.export.stderr
    with (nights.root / "er1.csv").open(newline="") as handle:
        codes = [row["Code"] for row in csv.DictReader(handle)]
    assert codes == ["ERA-002", "ERA-005", "ERA-007", "ERA-008", "ERA-009"]


def test_a_relanded_file_brings_nothing_back_and_moves_nothing(nights):
    for table in (*COUNT_TABLES, "customer_status_history", "customer_status", "status_changes"):
        sql = f"select * exclude ({'as_of_date' if table == 'customer_status' else 'tenant_id'}) "
        sql += f"from marts.{table} order by all"
        assert rows(nights.after_3, sql) == rows(nights.after_2, sql), table
    landed = rows(
        nights.zone.work_db,
        "select outcome from raw.ingest_ledger where file = 'customers/erasure-relanded.csv'",
    )
    assert landed == [("loaded",)]
