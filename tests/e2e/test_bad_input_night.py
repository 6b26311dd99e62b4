"""End to end: one night with every kind of bad landing file beside good ones. Each bad file or
row is published in ``import_rejects`` with its reason, nothing else is lost, and the other
files and tenants of the same night are published."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e
CLI = str(Path(sys.executable).with_name("customer-status"))

ORDERS = "tenant_id,order_id,customer_id,created_at,paid_at,amount,currency\n"


def good_orders(tenant: str, n: int = 30) -> str:
    return ORDERS + "".join(
        f"{tenant},{tenant}-o{i},{tenant}-c1,2026-10-0{1 + i % 9}T10:00:00Z,2026-10-0{1 + i % 9}T10:05:00Z,10.00,EUR\n"
        for i in range(n)
    )


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "orders/t1/zero-bytes.csv": (b"", "the file is empty (0 bytes)"),
    "orders/t1/header-only.csv": (ORDERS.encode(), "header but no data rows"),
    "orders/t1/garbage.csv": (bytes(range(128, 256)) * 8, "not UTF-8 text"),
    "orders/t1/semicolons.csv": (
        ORDERS.replace(",", ";").encode() + b"t1;x;c;2026-10-01;;1;EUR\n",
        "semicolon-delimited",
    ),
    "orders/t1/no-customer-column.csv": (
        b"tenant_id,order_id,created_at\nt1,o1,2026-10-01\n",
        "missing required column(s) customer_id",
    ),
    "orders/t1/broken.parquet": (b"PAR1 not really parquet PAR1", "not a readable Parquet file"),
    "orders/t1/mostly-bad.csv": (
        (ORDERS + "t1,b1,c1,yesterday,,1,EUR\n" * 5 + "t1,g1,t1-c1,2026-10-01,,1,EUR\n").encode(),
        "max_reject_ratio",
    ),
}
BAD_ROWS: dict[int, str] = {  # row number in orders/t1/mixed.csv -> reason (4 of 64: under 10 %)
    61: "created_at 'not-a-date' is not an ISO 8601 timestamp",
    62: "amount -3.00 is negative",
    63: "customer_id is missing",
    64: "the row has 3 fields but the header has 7",
}


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-night")
    landing = root / "landing"
    files = {
        "tenants/tenants.csv": b"tenant_id,name,timezone\nt1,One,UTC\nt2,Two,Europe/Paris\n",
        "customers/all.csv": b"tenant_id,customer_id,email,created_at\nt1,t1-c1,a@one.com,2026-01-01\nt2,t2-c1,b@two.com,2026-01-01\n",
        "orders/t2/good.csv": good_orders("t2").encode(),
        "orders/t1/mixed.csv": (
            good_orders("t1", 60)
            + "t1,m1,t1-c1,not-a-date,,1.00,EUR\n"
            + "t1,m2,t1-c1,2026-10-01,,-3.00,EUR\n"
            + "t1,m3,,2026-10-01,,1.00,EUR\n"
            + "t1,m4,t1-c1\n"
        ).encode(),
        "engagement_events/t1/e.jsonl": (
            b'{"tenant_id":"t1","event_id":"e1","customer_id":"t1-c1","occurred_at":"2026-10-01T00:00:00Z"}\n'
            + b"{oops\n"
            + b"".join(
                f'{{"tenant_id":"t1","event_id":"e{i}","customer_id":"t1-c1","occurred_at":"2026-10-02"}}\n'.encode()
                for i in range(2, 20)
            )
        ),
        **{path: content for path, (content, _) in BAD_FILES.items()},
    }
    for relative, content in files.items():
        path = landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    warehouse = root / "warehouse.duckdb"
    proc = subprocess.run(
        [
            CLI,
            "run",
            "--date",
            "2026-11-01",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    published = duckdb.connect(str(warehouse), read_only=True)
    work = duckdb.connect(str(root / "warehouse.work" / "work.duckdb"), read_only=True)
    yield published, work
    published.close()
    work.close()


@pytest.mark.parametrize("file", sorted(BAD_FILES))
def test_each_bad_file_is_rejected_whole_with_its_reason(night, file):
    published, _ = night
    rows = published.execute(
        "select row_number, error from marts.import_rejects where file = ?", [file]
    ).fetchall()
    assert len(rows) == 1 and rows[0][0] is None, rows
    assert BAD_FILES[file][1] in rows[0][1]


def test_each_bad_row_is_rejected_and_the_rest_of_its_file_loads(night):
    published, _ = night
    rejects = dict(
        published.execute(
            "select row_number, error from marts.import_rejects where file = 'orders/t1/mixed.csv'"
        ).fetchall()
    )
    assert rejects.keys() == BAD_ROWS.keys()
    for row, reason in BAD_ROWS.items():
        assert reason in rejects[row]
    assert published.execute(
        "select count(*) from marts.orders where tenant_id = 't1' and order_id like 't1-o%'"
    ).fetchone() == (60,)
    assert published.execute(
        "select row_number from marts.import_rejects where file = 'engagement_events/t1/e.jsonl'"
    ).fetchall() == [(2,)]


def test_nothing_is_lost(night):
    _, work = night
    for file, rows, loaded, rejected in work.execute(
        "select file, rows_in_file, rows_loaded, rows_rejected from raw.ingest_ledger"
    ).fetchall():
        assert loaded + rejected == rows, file


def test_the_other_tenant_is_published(night):
    published, _ = night
    assert published.execute(
        "select count(*), count(*) filter (where not is_outlier) from marts.orders where tenant_id = 't2'"
    ).fetchone() == (30, 30)
    assert published.execute("select outcome from marts.pipeline_runs").fetchall() == [
        ("published",)
    ]
