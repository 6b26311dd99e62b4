"""Bulk status actions and the status spreadsheet, against a hand-built published warehouse."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from customer_status import bulk, cli
from customer_status.export import guard
from customer_status.ingest.loader import _unformula
from customer_status.ingest.sources import SOURCES

NOW = datetime(2026, 11, 2, 5, 30, 0, 123456, tzinfo=UTC)  # before the fixture's run start

# tenant_id, customer_id, status, account_status, member_status, code, email, full_name
CUSTOMERS = [
    ("t1", "c01", "active", "active", "active", "K-1", "ann@example.com", "Ann"),
    ("t1", "c02", "sleeping", "active", "inactive", "K-2", "bob@eu.example.com", "Bob"),
    ("t1", "c03", "active", "active", "active", "=K-3", "Cy@Shop.EXAMPLE.COM", "Cy"),
    ("t1", "c04", "active", "active", "active", "K-4", "dee@notexample.com", "Dee"),
    ("t1", "c05", "suspended", "suspended", "active", "-007", "eve@other.org", "-Dash Rivera"),
    ("t1", "c06", "sleeping", "active", "inactive", "+44", "+fay@other.org", "+Anna Plus"),
    ("t1", "c07", "prospect", "active", "active", "@home", "gus@other.org", "@Maya Handle"),
    ("t1", "c08", "prospect", "active", "active", "\tTAB", "hal@other.org", '=HYPERLINK("x")'),
    ("t1", "c09", "prospect", "active", "active", "\rCR", "ivy@other.org", "\rIvy"),
    ("t1", "c10", "deleted", "deleted", "inactive", None, "-jo@other.org", "\tJo"),
    ("t1", "c11", "prospect", "active", "active", "A-1", "kim@other.org", "Kim, 'the' \"K\""),
    ("t2", "c01", "sleeping", "active", "inactive", "K-1", "zed@example.com", "Zed"),
]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            """create table marts.customer_status (
                tenant_id varchar, customer_id varchar, as_of_date date, status varchar,
                account_status varchar, member_status varchar, code varchar, email varchar,
                full_name varchar, is_billable boolean)"""
        )
        con.executemany(
            "insert into marts.customer_status values "
            "(?, ?, date '2026-11-01', ?, ?, ?, ?, ?, ?, true)",
            [list(row) for row in CUSTOMERS],
        )
    return path


@pytest.fixture
def out(monkeypatch) -> io.StringIO:
    """What the command prints; also fixes the clock and gives stdin no terminal."""
    buffer = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=buffer, width=300, highlight=False))
    monkeypatch.setattr(bulk, "utcnow", lambda: NOW)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    return buffer


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def selected(warehouse: Path, **selector) -> list[str]:
    request = bulk.Request("t1", "deactivate", "why", "me", **selector).checked()
    with bulk.open_published(warehouse) as con:
        return bulk.select(con, request).customer_ids


def action(landing: Path, warehouse: Path, *args: str) -> int:
    return cli.main(["action", *args, "--landing", str(landing), "--warehouse", str(warehouse)])


def action_files(landing: Path) -> list[Path]:
    folder = landing / "status_actions"
    return sorted(folder.iterdir()) if folder.exists() else []


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


# --- selectors --------------------------------------------------------------------------------


def test_customers_file_plain_list(warehouse, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("# to close\nc02\n\n c01 \nc02\nnobody\n", encoding="utf-8")
    assert selected(warehouse, customers_file=ids) == ["c01", "c02"]
    request = bulk.Request("t1", "activate", "r", "a", customers_file=ids).checked()
    with bulk.open_published(warehouse) as con:
        assert bulk.select(con, request).unknown_ids == ["nobody"]


@pytest.mark.parametrize("header", ["customer_id", "Customer ID", " CUSTOMER ID "])
def test_customers_file_csv_with_an_id_column(warehouse, tmp_path, header):
    ids = tmp_path / "ids.csv"
    ids.write_text(f'\ufeffCode,{header},Note\nK-3,c03,x\nK-5,c05,"a, b"\n', encoding="utf-8")
    assert selected(warehouse, customers_file=ids) == ["c03", "c05"]


def test_customers_csv_without_an_id_column_is_refused(warehouse, tmp_path):
    ids = tmp_path / "ids.csv"
    ids.write_text("Code,Email\nK-1,ann@example.com\n", encoding="utf-8")
    with pytest.raises(bulk.BulkError, match="no customer_id or Customer ID column"):
        selected(warehouse, customers_file=ids)


@pytest.mark.parametrize("domain", ["example.com", "EXAMPLE.COM", " @Example.com. "])
def test_email_domain_takes_sub_domains_not_look_alikes(warehouse, domain):
    # not dee@notexample.com, not tenant t2's zed@example.com
    assert selected(warehouse, email_domain=domain) == ["c01", "c02", "c03"]


def test_email_domain_sub_domain_only(warehouse):
    assert selected(warehouse, email_domain="eu.example.com") == ["c02"]


def test_where_status_is_the_headline_status(warehouse):
    assert selected(warehouse, where_status="Sleeping") == ["c02", "c06"]
    assert selected(warehouse, where_status="suspended") == ["c05"]
    with pytest.raises(bulk.BulkError, match="not a headline status"):
        selected(warehouse, where_status="inactive")


# --- the command ----------------------------------------------------------------------------


def test_dry_run_writes_nothing(warehouse, tmp_path, out):
    landing = tmp_path / "landing"
    landing.mkdir()
    code = action(
        landing, warehouse, "deactivate", "--tenant", "t1", "--email-domain", "example.com",
        "--reason", "bounced", "--actor", "ops@shop", "--dry-run", "--yes",
    )  # fmt: skip
    assert code == 0
    assert action_files(landing) == []
    printed = out.getvalue()
    assert "3 customer(s) of tenant t1" in printed
    assert "active 2, inactive 1" in printed  # current member status
    assert "c01" in printed and "bob@eu.example.com" in printed  # the sample
    assert "dry run: nothing written" in printed


def test_yes_writes_one_file_that_loads_without_rejects(warehouse, landing, out):
    code = action(
        landing.root, warehouse, "deactivate", "--tenant", "t1", "--where-status", "sleeping",
        "--reason", "winback ended", "--actor", "ann@shop", "--yes",
    )  # fmt: skip
    assert code == 0
    [path] = action_files(landing.root)
    assert path.name == "bulk-20261102T053000123456Z-t1-deactivate.csv"
    assert tuple(read_csv(path)[0]) == SOURCES["status_actions"].column_names
    result = landing.ingest()[f"status_actions/{path.name}"]
    assert (result.outcome, result.rows_loaded, result.rows_rejected) == ("loaded", 2, 0)
    assert landing.rows(
        "select tenant_id, action_id, customer_id, action, status, reason, actor, "
        "requested_at, source from raw.status_actions order by action_id"
    ) == [
        ("t1", f"bulk-20261102T053000123456Z-00000{n}", customer, "deactivate", None,
         "winback ended", "ann@shop", datetime(2026, 11, 2, 5, 30, 0, 123456), "bulk")
        for n, customer in ((1, "c02"), (2, "c06"))
    ]  # fmt: skip
    assert str(path) in out.getvalue()


def test_set_status_writes_set_status_rows(warehouse, landing, out):
    ids = landing.root.parent / "ids.txt"
    ids.write_text("c01\nc04\n", encoding="utf-8")
    code = action(
        landing.root, warehouse, "set-status", "--tenant", "t1", "--customers", str(ids),
        "--status", " Suspended ", "--reason", "chargebacks", "--actor", "risk", "--yes",
    )  # fmt: skip
    assert code == 0
    [path] = action_files(landing.root)
    assert path.name.endswith("-t1-set_status.csv")
    assert landing.ingest()[f"status_actions/{path.name}"].rows_rejected == 0
    assert landing.rows("select customer_id, action, status from raw.status_actions") == [
        ("c01", "set_status", "suspended"),
        ("c04", "set_status", "suspended"),
    ]


def test_two_files_in_the_same_instant_get_distinct_names_and_ids(warehouse, landing, out):
    args = ["--tenant", "t1", "--where-status", "sleeping", "--reason", "r", "--actor", "a"]
    assert action(landing.root, warehouse, "deactivate", *args, "--yes") == 0
    assert action(landing.root, warehouse, "deactivate", *args, "--yes") == 0
    first, second = action_files(landing.root)
    assert first.name < second.name
    ids = [row[1] for path in (first, second) for row in read_csv(path)[1:]]
    assert len(set(ids)) == 4 and ids == sorted(ids)  # unique, and in the order written
    results = landing.ingest()
    assert [results[f"status_actions/{p.name}"].rows_loaded for p in (first, second)] == [2, 2]


@pytest.mark.parametrize(("answer", "code", "files"), [("y\n", 0, 1), ("n\n", 1, 0), ("", 1, 0)])
def test_confirmation_on_a_terminal(warehouse, tmp_path, out, monkeypatch, answer, code, files):
    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    got = action(
        landing, warehouse, "activate", "--tenant", "t1", "--where-status", "sleeping",
        "--reason", "r", "--actor", "a",
    )  # fmt: skip
    assert got == code
    assert len(action_files(landing)) == files
    assert "Write 2 activate action(s)? [y/N]" in out.getvalue()
    if not files:
        assert "not confirmed: nothing written" in out.getvalue()


def test_no_terminal_and_no_yes_is_refused_not_a_hang(warehouse, tmp_path, out):
    landing = tmp_path / "landing"
    landing.mkdir()
    code = action(
        landing, warehouse, "activate", "--tenant", "t1", "--where-status", "sleeping",
        "--reason", "r", "--actor", "a",
    )  # fmt: skip
    assert code == 2
    assert action_files(landing) == []
    assert "stdin is not a terminal" in out.getvalue() and "--yes" in out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set-status", "--reason", "r", "--actor", "a"], "set-status needs --status"),
        (["activate", "--status", "active", "--reason", "r", "--actor", "a"],
         "--status is only for set-status"),
        (["activate", "--reason", " ", "--actor", "a"], "--reason is empty"),
        (["activate", "--reason", "r", "--actor", ""], "--actor is empty"),
        (["activate", "--tenant", "t9", "--reason", "r", "--actor", "a"], "unknown tenant 't9'"),
    ],
    ids=["set_status_without_status", "status_not_for_activate", "empty_reason",
         "empty_actor", "unknown_tenant"],
)  # fmt: skip
def test_bad_requests_exit_2_and_write_nothing(warehouse, tmp_path, out, args, message):
    landing = tmp_path / "landing"
    landing.mkdir()
    tenant = [] if "--tenant" in args else ["--tenant", "t1"]
    code = action(landing, warehouse, *args, *tenant, "--where-status", "sleeping", "--yes")
    assert code == 2
    assert message in out.getvalue()
    assert action_files(landing) == []


def test_missing_reason_or_actor_is_a_usage_error(warehouse, tmp_path, out, capsys):
    for missing in ("--reason", "--actor"):
        args = {"--reason": "r", "--actor": "a"}
        del args[missing]
        with pytest.raises(SystemExit) as exit_:
            action(
                tmp_path, warehouse, "activate", "--tenant", "t1", "--where-status", "active",
                *(x for kv in args.items() for x in kv),
            )  # fmt: skip
        assert exit_.value.code == 2
        assert missing in capsys.readouterr().err


def test_no_published_warehouse_yet(tmp_path, out):
    code = action(
        tmp_path, tmp_path / "none.duckdb", "activate", "--tenant", "t1", "--where-status",
        "active", "--reason", "r", "--actor", "a", "--yes",
    )  # fmt: skip
    assert code == 2
    assert "no published warehouse" in out.getvalue()


def test_nothing_matched_is_nothing_to_do(warehouse, tmp_path, out):
    landing = tmp_path / "landing"
    landing.mkdir()
    code = action(
        landing, warehouse, "activate", "--tenant", "t1", "--email-domain", "nowhere.test",
        "--reason", "r", "--actor", "a", "--yes",
    )  # fmt: skip
    assert code == 0
    assert "nothing to do" in out.getvalue()
    assert action_files(landing) == []


# --- export ---------------------------------------------------------------------------------


def export(warehouse: Path, tenant: str, path: Path) -> int:
    return cli.main(
        ["export", "--tenant", tenant, "--out", str(path), "--warehouse", str(warehouse)]
    )


def test_export_columns_order_and_formula_guard(warehouse, tmp_path, out):
    path = tmp_path / "sheet.csv"
    assert export(warehouse, "t1", path) == 0
    rows = read_csv(path)
    assert rows[0] == ["Code", "Name", "Email", "Customer Status"]
    assert rows[1:] == [
        ["'\tTAB", '\'=HYPERLINK("x")', "hal@other.org", "Active"],
        ["'\rCR", "'\rIvy", "ivy@other.org", "Active"],
        ["'+44", "'+Anna Plus", "'+fay@other.org", "Inactive"],
        ["'-007", "'-Dash Rivera", "eve@other.org", "Active"],
        ["'=K-3", "Cy", "Cy@Shop.EXAMPLE.COM", "Active"],
        ["'@home", "'@Maya Handle", "gus@other.org", "Active"],
        ["A-1", "Kim, 'the' \"K\"", "kim@other.org", "Active"],
        ["K-1", "Ann", "ann@example.com", "Active"],
        ["K-2", "Bob", "bob@eu.example.com", "Inactive"],
        ["K-4", "Dee", "dee@notexample.com", "Active"],
        ["", "'\tJo", "'-jo@other.org", "Inactive"],  # no code: last
    ]  # code order is DuckDB's (byte) order; t2's customer is not there
    assert "wrote 11 customers of tenant t1" in out.getvalue()
    assert "1 have no code: an import matches them by email" in out.getvalue()
    assert not list(tmp_path.glob(".sheet.csv*"))  # no temp file left


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_guard_and_import_strip_round_trip(first):
    con = duckdb.connect()
    for value in (f"{first}x", f"{first}", f"a{first}", "'quoted'", "plain", ""):
        cell = guard(value)
        assert cell == ("'" + value if value.startswith(first) else value)
        assert con.execute(f"select {_unformula('?')}", [cell]).fetchone()[0] == value


def test_export_then_import_gives_back_codes_emails_and_statuses(warehouse, landing, out):
    sheet = landing.root / "status_imports" / "t1" / "sheet.csv"
    sheet.parent.mkdir(parents=True)
    assert export(warehouse, "t1", sheet) == 0
    result = landing.ingest()["status_imports/t1/sheet.csv"]
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (11, 11, 0)
    loaded = landing.rows(
        "select code, email, member_status from raw.status_imports order by _row_number"
    )
    expected = sorted(
        ((code, email.lower(), member) for t, _, _, _, member, code, email, _ in CUSTOMERS
         if t == "t1"),
        key=lambda r: (r[0] is None, r[0] or ""),
    )  # fmt: skip
    assert loaded == expected


def test_export_refuses_unknown_tenant_and_missing_warehouse(warehouse, tmp_path, out):
    assert export(warehouse, "t9", tmp_path / "x.csv") == 2
    assert "unknown tenant 't9'" in out.getvalue()
    assert export(tmp_path / "none.duckdb", "t1", tmp_path / "x.csv") == 2
    assert "no published warehouse" in out.getvalue()
    assert export(warehouse, "t1", tmp_path / "no" / "x.csv") == 2
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("value", ["'=X", "''+1", "'-", "'@a", "'\tT", "'abc", "''"])
def test_a_value_that_itself_starts_with_a_quote_survives_the_round_trip(value):
    con = duckdb.connect()
    cell = guard(value)
    assert con.execute(f"select {_unformula('?')}", [cell]).fetchone()[0] == value
    # a cell still never starts with a formula character
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_export_then_import_keeps_a_code_starting_with_quote_equals(warehouse, landing, out):
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into marts.customer_status values "
            "('t1', 'c12', date '2026-11-01', 'active', 'active', 'active', '''=X', "
            "'q@other.org', 'Quote', true), "
            "('t1', 'c13', date '2026-11-01', 'active', 'active', 'inactive', '''''+1', "
            "'''=r@other.org', '''@Name', true)"
        )
    sheet = landing.root / "status_imports" / "t1" / "sheet.csv"
    sheet.parent.mkdir(parents=True)
    assert export(warehouse, "t1", sheet) == 0
    cells = {row[0]: row for row in read_csv(sheet)[1:]}
    assert cells["''=X"][1:3] == ["Quote", "q@other.org"]
    assert cells["'''+1"][2] == "''=r@other.org"
    result = landing.ingest()["status_imports/t1/sheet.csv"]
    assert (result.rows_loaded, result.rows_rejected) == (13, 0)
    assert landing.rows(
        "select code, email, member_status from raw.status_imports "
        "where code in ('''=X', '''''+1') order by code"
    ) == [("''+1", "'=r@other.org", "inactive"), ("'=X", "q@other.org", "active")]
