"""``customer-status forget`` (rules §12) and the export's exclusion of erased customers,
against a hand-built published warehouse."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from customer_status import bulk, cli
from customer_status.ingest.sources import SOURCES

NOW = datetime(2026, 11, 2, 5, 30, 0, 123456, tzinfo=UTC)  # before the fixture's run start

# tenant_id, customer_id, status, member_status, code, email, full_name, phone
CUSTOMERS = [
    ("t1", "c1", "active", "active", "K-1", "ann@example.com", "Ann Example", "+33 1 11"),
    ("t1", "c2", "sleeping", "inactive", "K-2", "ann@example.com", "Ann Twice", None),
    ("t1", "c3", "active", "active", "K-3", "bob@example.com", "Bob Builder", "+33 3 33"),
    ("t1", "c4", "active", "inactive", "K-4", "cy@example.com", "Cy Gone", None),
    ("t2", "c1", "active", "active", "Z-1", "zed@example.com", "Zed", None),
]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            """create table marts.customer_status (
                tenant_id varchar, customer_id varchar, as_of_date date, status varchar,
                member_status varchar, code varchar, email varchar, full_name varchar,
                phone varchar)"""
        )
        con.executemany(
            "insert into marts.customer_status values (?, ?, date '2026-11-01', ?, ?, ?, ?, ?, ?)",
            [list(row) for row in CUSTOMERS],
        )
        con.execute(
            """create table marts.erasures as select 't1' as tenant_id, 'c4' as customer_id,
            'r0' as request_id"""
        )
    return path


@pytest.fixture
def out(monkeypatch) -> io.StringIO:
    buffer = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=buffer, width=300, highlight=False))
    monkeypatch.setattr(bulk, "utcnow", lambda: NOW)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    return buffer


def forget(landing: Path, warehouse: Path, *args: str) -> int:
    return cli.main(["forget", *args, "--landing", str(landing), "--warehouse", str(warehouse)])


def request_files(landing: Path) -> list[Path]:
    folder = landing / "erasure_requests"
    return sorted(folder.iterdir()) if folder.exists() else []


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_forget_by_email_writes_a_request_per_customer_that_loads(warehouse, landing, out):
    landing.write(
        "customers/a.csv",
        "tenant_id,customer_id,code,email,created_at\nt1,c1,K-1,ann@example.com,2026-01-01\n",
    )
    landing.write("customers/unrelated.csv", "tenant_id,customer_id,created_at\nt1,c3,2026-01-01\n")
    landing.write(
        "suppressions/s.csv", "tenant_id,kind,value,added_at\nt1,email,ANN@example.com,2026-01-01\n"
    )
    code = forget(
        landing.root, warehouse, "--tenant", "t1", "--email", "Ann@Example.com",
        "--reason", "asked by mail", "--actor", "dpo@shop", "--yes",
    )  # fmt: skip
    assert code == 0
    [path] = request_files(landing.root)
    assert path.name == "forget-20261102T053000123456Z-t1.csv"
    assert tuple(read_csv(path)[0]) == SOURCES["erasure_requests"].column_names
    result = landing.ingest()[f"erasure_requests/{path.name}"]
    assert (result.outcome, result.rows_loaded, result.rows_rejected) == ("loaded", 2, 0)
    assert landing.rows(
        "select tenant_id, request_id, customer_id, requested_at, reason, actor "
        "from raw.erasure_requests order by request_id"
    ) == [
        ("t1", f"forget-20261102T053000123456Z-00000{n}", customer,
         datetime(2026, 11, 2, 5, 30, 0, 123456), "asked by mail", "dpo@shop")
        for n, customer in ((1, "c1"), (2, "c2"))
    ]  # fmt: skip
    printed = out.getvalue()
    assert "2 customer(s) of tenant t1 with the email ann@example.com" in printed
    assert "The landing files are yours: the pipeline does not edit or delete them" in printed
    assert "customers/a.csv" in printed and "suppressions/s.csv" in printed
    assert "customers/unrelated.csv" not in printed


def test_forget_one_customer_dry_run_writes_nothing(warehouse, landing, out):
    code = forget(
        landing.root, warehouse, "--tenant", "t1", "--customer", "c3",
        "--reason", "asked", "--actor", "dpo", "--dry-run",
    )  # fmt: skip
    assert code == 0
    assert request_files(landing.root) == []
    printed = out.getvalue()
    assert "1 customer(s) of tenant t1 with id c3" in printed
    assert "bob@example.com" in printed and "Bob Builder" in printed  # whom
    assert "dry run: nothing written" in printed


def test_unknown_and_already_erased_customers_are_left_out(warehouse, landing, out, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("c3\nc404\nc4\n")
    code = forget(
        landing.root, warehouse, "--tenant", "t1", "--customers", str(ids),
        "--reason", "asked", "--actor", "dpo", "--yes",
    )  # fmt: skip
    assert code == 0
    [path] = request_files(landing.root)
    assert [row[2] for row in read_csv(path)[1:]] == ["c3"]
    printed = out.getvalue()
    assert "1 id(s) are not customers of tenant t1" in printed and "c404" in printed
    assert "1 customer(s) already erased, left out" in printed and "c4" in printed


def test_only_already_erased_is_nothing_to_do(warehouse, landing, out):
    code = forget(
        landing.root, warehouse, "--tenant", "t1", "--customer", "c4",
        "--reason", "asked", "--actor", "dpo", "--yes",
    )  # fmt: skip
    assert code == 0
    assert request_files(landing.root) == []
    assert "nothing to do" in out.getvalue()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "code", "files"), [("y\n", 0, 1), ("n\n", 1, 0), ("\n", 1, 0)])
def test_confirmation_on_a_terminal(warehouse, landing, out, monkeypatch, answer, code, files):
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    assert forget(
        landing.root, warehouse, "--tenant", "t1", "--customer", "c1",
        "--reason", "asked", "--actor", "dpo",
    ) == code  # fmt: skip
    assert len(request_files(landing.root)) == files
    assert "This cannot be undone" in out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "t9", "--customer", "c1"], "unknown tenant 't9'"),
        (["--tenant", "t1", "--email", "not-an-email"], "is not an email address"),
        (["--tenant", "t1", "--customer", " "], "--customer is empty"),
        (["--tenant", "t1", "--customer", "c1", "--reason", " "], "--reason is empty"),
        (["--tenant", "t1", "--customer", "c1", "--actor", ""], "--actor is empty"),
    ],
)
def test_bad_requests_exit_2_and_write_nothing(warehouse, landing, out, capsys, args, message):
    full = [*args]
    if "--reason" not in full:
        full += ["--reason", "asked"]
    if "--actor" not in full:
        full += ["--actor", "dpo"]
    assert forget(landing.root, warehouse, *full, "--yes") == 2
    assert request_files(landing.root) == []
    assert message in out.getvalue() + capsys.readouterr().err


def test_no_terminal_and_no_yes_is_refused(warehouse, landing, out):
    code = forget(
        landing.root, warehouse, "--tenant", "t1", "--customer", "c1",
        "--reason", "asked", "--actor", "dpo",
    )  # fmt: skip
    assert code == 2
    assert request_files(landing.root) == []


def test_export_leaves_erased_customers_out(warehouse, tmp_path, out):
    path = tmp_path / "sheet.csv"
    assert (
        cli.main(["export", "--tenant", "t1", "--out", str(path), "--warehouse", str(warehouse)])
        == 0
    )
    codes = [row[0] for row in read_csv(path)[1:]]
    assert codes == ["K-1", "K-2", "K-3"]  # c4 is erased
