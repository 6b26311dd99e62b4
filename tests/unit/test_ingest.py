"""Ingestion: every landed row is loaded or rejected with a reason; files load once."""

from __future__ import annotations

import pytest

ORDERS_HEADER = "tenant_id,order_id,customer_id,created_at,paid_at,refunded_at,amount,currency\n"
GOOD_ORDER = "t1,o{n},c1,2026-10-01T10:00:00Z,2026-10-01T10:05:00+02:00,,12.50,eur\n"


def orders_file(*bad_rows: str, good: int = 20) -> str:
    return ORDERS_HEADER + "".join(GOOD_ORDER.format(n=n) for n in range(good)) + "".join(bad_rows)


def assert_reconciles(landing, file: str) -> None:
    result = landing.rows(
        "select rows_in_file, rows_loaded, rows_rejected from raw.ingest_ledger where file = ?",
        file,
    )[0]
    in_raw = landing.rows(
        "select count(*) from raw.orders o join raw.ingest_ledger l on o._load_id = l.load_id "
        "where l.file = ?",
        file,
    )[0][0]
    assert result[0] == result[1] + result[2]
    assert in_raw == result[1]


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        (
            "t1,o90,c1,31/10/2026,,,1.00,eur\n",
            "created_at '31/10/2026' is not an ISO 8601 timestamp",
        ),
        (",o91,c1,2026-10-01,,,1.00,eur\n", "tenant_id is missing"),
        ("t1,o92,,2026-10-01,,,1.00,eur\n", "customer_id is missing"),
        ("t1,o93,c1,2026-10-01,,,-5.00,eur\n", "amount -5.00 is negative"),
        ("t1,o94,c1,2026-10-01,,,twelve,eur\n", "amount 'twelve' is not a number"),
        (
            "t1,o95,c1,2099-01-01T00:00:00Z,,,1.00,eur\n",
            "created_at 2099-01-01 00:00:00 UTC is later than the start of this run",
        ),
        ("t1,o96,c1,2026-10-01\n", "the row has 4 fields but the header has 8"),
        (
            "t1,o0,c2,2026-10-02T00:00:00Z,,,9.99,eur\n",
            "duplicate key (tenant_id=t1, order_id=o0) with other values than row 1",
        ),
    ],
    ids=[
        "bad_timestamp",
        "null_tenant",
        "null_key",
        "negative_amount",
        "wrong_type",
        "future",
        "field_count",
        "duplicate_key",
    ],
)
def test_each_bad_row_is_rejected_with_its_reason(landing, bad_row, reason):
    landing.write("orders/t1/day.csv", orders_file(bad_row))
    result = landing.ingest()["orders/t1/day.csv"]
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (21, 20, 1)
    [(row_number, error)] = landing.rejects("orders/t1/day.csv")
    assert row_number == 21
    assert reason in error
    assert_reconciles(landing, "orders/t1/day.csv")


@pytest.mark.parametrize(
    ("source", "content", "reason"),
    [
        (
            "customers",
            "tenant_id,customer_id,email,created_at\nt1,c1,not-an-email,2026-10-01\n"
            + "t1,c{},a@b.com,2026-10-01\n" * 0,
            "email 'not-an-email' is not an email address",
        ),
        (
            "subscription_events",
            "tenant_id,subscription_id,customer_id,status,changed_at\nt1,s1,c1,paused,2026-10-01\n",
            "status 'paused' is not one of in_progress, suspended, terminated",
        ),
        (
            "customers",
            "tenant_id,customer_id,accepts_marketing,created_at\nt1,c1,maybe,2026-10-01\n",
            "accepts_marketing 'maybe' is not a boolean",
        ),
        (
            "tenants",
            "tenant_id,timezone\nt9,Mars/Olympus\n",
            "timezone 'Mars/Olympus' is not a known time zone",
        ),
        (
            "tenants",
            "tenant_id,activity_window_days\nt9,2.5\n",
            "activity_window_days '2.5' is not a whole number",
        ),
    ],
    ids=["bad_email", "unknown_enum", "bad_boolean", "bad_timezone", "fraction_for_whole_number"],
)
def test_rule_violations_in_other_sources(landing, source, content, reason):
    landing.write(f"{source}/x.csv", content)
    result = landing.ingest()[f"{source}/x.csv"]
    assert result.rows_rejected == 1
    assert any(reason in error for _, error in landing.rejects(f"{source}/x.csv"))


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.csv", b"", "the file is empty (0 bytes)"),
        ("header_only.csv", ORDERS_HEADER.encode(), "header but no data rows"),
        ("garbage.csv", bytes(range(128, 256)) * 4, "not UTF-8 text"),
        ("nul.csv", b"tenant_id,order_id\x00\x01\x02\n", "contains NUL bytes"),
        (
            "semicolons.csv",
            b"tenant_id;order_id;customer_id;created_at\nt1;o1;c1;2026-10-01\n",
            "semicolon-delimited",
        ),
        (
            "missing_column.csv",
            b"tenant_id,order_id,created_at\nt1,o1,2026-10-01\n",
            "missing required column(s) customer_id",
        ),
        ("broken.parquet", b"PAR1 this is not parquet PAR1", "not a readable Parquet file"),
        ("orders.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'"),
    ],
)
def test_bad_files_are_rejected_whole(landing, name, content, reason):
    landing.write(f"orders/t1/{name}", content)
    landing.write("orders/t1/good.csv", orders_file())
    results = landing.ingest()
    result = results[f"orders/t1/{name}"]
    assert result.outcome == "rejected"
    assert result.rows_loaded == 0
    [(row_number, error)] = landing.rejects(f"orders/t1/{name}")
    assert row_number is None and reason in error
    # the bad file stopped nothing else
    assert results["orders/t1/good.csv"].rows_loaded == 20


def test_file_over_the_reject_ratio_loads_nothing(landing):
    bad = "t1,o9{n},c1,yesterday,,,1.00,eur\n"
    landing.write(
        "orders/t1/mostly_bad.csv", orders_file(*(bad.format(n=n) for n in range(25)), good=20)
    )
    result = landing.ingest()["orders/t1/mostly_bad.csv"]
    assert (result.outcome, result.rows_in_file, result.rows_loaded, result.rows_rejected) == (
        "rejected",
        45,
        0,
        45,
    )
    [(row_number, error)] = landing.rejects("orders/t1/mostly_bad.csv")
    assert row_number is None
    assert "25 of 45 rows are bad" in error and "max_reject_ratio of 50%" in error
    assert landing.rows("select count(*) from raw.orders") == [(0,)]


def test_bom_odd_header_case_and_extra_columns(landing):
    landing.write(
        "orders/t1/export.csv",
        "\ufeff Tenant_ID ,ORDER_ID,Customer_Id,Created_At,Amount,Notes\n"
        "t1,o1,c1,2026-10-01T10:00:00,3.10,hello\n",
    )
    assert landing.ingest()["orders/t1/export.csv"].rows_loaded == 1
    assert landing.rows(
        "select tenant_id, order_id, amount::varchar, created_at::varchar from raw.orders"
    ) == [("t1", "o1", "3.10", "2026-10-01 10:00:00")]


def test_timestamps_with_offsets_are_stored_in_utc(landing):
    landing.write(
        "orders/t1/tz.csv",
        ORDERS_HEADER + "t1,o1,c1,2026-10-01T10:00:00+02:00,2026-10-01T08:30:00Z,,1,eur\n",
    )
    landing.ingest()
    assert landing.rows("select created_at::varchar, paid_at::varchar from raw.orders") == [
        ("2026-10-01 08:00:00", "2026-10-01 08:30:00")
    ]


def test_jsonl_bad_line_is_a_row_reject(landing):
    landing.write(
        "engagement_events/t1/e.jsonl",
        '{"tenant_id": "t1", "event_id": "e1", "customer_id": "c1", "occurred_at": "2026-10-01T00:00:00Z"}\n'
        "{this is not json\n"
        + "".join(
            f'{{"tenant_id": "t1", "event_id": "e{n}", "customer_id": "c1", "occurred_at": "2026-10-02"}}\n'
            for n in range(2, 12)
        ),
    )
    result = landing.ingest()["engagement_events/t1/e.jsonl"]
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (12, 11, 1)
    [(row_number, error)] = landing.rejects("engagement_events/t1/e.jsonl")
    assert row_number == 2 and "not valid JSON" in error


def test_parquet_rows_are_numbered_and_typed(landing, tmp_path):
    path = landing.root / "orders" / "t1" / "part.parquet"
    path.parent.mkdir(parents=True)
    landing.db.execute(
        f"copy (select 't1' as tenant_id, 'o' || i as order_id, 'c1' as customer_id, "
        f"timestamptz '2026-10-01 00:00:00+00' + i * interval 1 hour as created_at, "
        f"case when i = 7 then -1.0 else 2.5 end as amount from range(10) t(i)) to '{path}' (format parquet)"
    )
    result = landing.ingest()["orders/t1/part.parquet"]
    assert (result.rows_loaded, result.rows_rejected) == (9, 1)
    assert landing.rejects("orders/t1/part.parquet") == [(8, "amount -1.0 is negative")]


def test_a_relanded_file_loads_once(landing):
    landing.write("orders/t1/day1.csv", orders_file())
    assert landing.ingest()["orders/t1/day1.csv"].rows_loaded == 20
    # the same file again, and the same content under another name
    landing.write("orders/t1/copy-of-day1.csv", orders_file())
    second = landing.ingest()
    assert second["orders/t1/day1.csv"].outcome == "skipped"
    assert second["orders/t1/copy-of-day1.csv"].outcome == "skipped"
    assert landing.rows("select count(*) from raw.orders") == [(20,)]
    # one evaluation; the copy is recorded once, as already loaded (it loads nothing)
    assert landing.rows(
        "select file, outcome, rows_in_file from raw.ingest_ledger where source = 'orders' "
        "order by load_id"
    ) == [("orders/t1/day1.csv", "loaded", 20), ("orders/t1/copy-of-day1.csv", "already_loaded", 0)]
    landing.ingest()
    assert landing.rows("select count(*) from raw.ingest_ledger where source = 'orders'") == [(2,)]


def test_a_changed_file_loads_again_as_new_versions(landing):
    landing.write("orders/t1/day1.csv", orders_file(good=2))
    landing.ingest()
    landing.write("orders/t1/day1.csv", orders_file(good=3))
    assert landing.ingest()["orders/t1/day1.csv"].rows_loaded == 3
    # every version is kept in raw; staging picks the current one (dbt unit tests)
    assert landing.rows("select count(*), count(distinct _load_id) from raw.orders") == [(5, 2)]


def test_unknown_landing_folder_is_rejected_not_ignored(landing):
    landing.write("oders/t1/day.csv", orders_file())
    result = landing.ingest()["oders/t1/day.csv"]
    assert result.outcome == "rejected"
    assert "'oders' is not a landing source" in landing.rejects("oders/t1/day.csv")[0][1]


def test_status_import_rows(landing):
    landing.write(
        "status_imports/t1/export.csv",
        "Code,Name,Email,Customer Status\n"
        "'=K-1,Ann, ANN@Example.COM ,Inactive\n"
        "K-2,Bob,bob@example.com,ACTIVE\n"
        ",Nobody,,active\n"
        "K-4,Dee,dee@example.com,maybe\n",
    )
    result = landing.ingest()["status_imports/t1/export.csv"]
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (4, 2, 2)
    assert landing.rows(
        "select tenant_id, code, email, member_status, loaded_for_as_of_date::varchar "
        "from raw.status_imports order by _row_number"
    ) == [
        ("t1", "=K-1", "ann@example.com", "inactive", "2026-11-01"),
        ("t1", "K-2", "bob@example.com", "active", "2026-11-01"),
    ]
    errors = [e for _, e in landing.rejects("status_imports/t1/export.csv")]
    assert "no Code or Email on this row" in errors[0]
    assert "Customer Status 'maybe' is not active or inactive" in errors[1]


def test_status_import_without_status_column_is_rejected(landing):
    landing.write("status_imports/t1/names.csv", "Code,Name\nK-1,Ann\n")
    landing.ingest()
    [(row_number, error)] = landing.rejects("status_imports/t1/names.csv")
    assert row_number is None and "needs a key column" in error
