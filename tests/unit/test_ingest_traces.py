"""Issue 14: no file or row vanishes at ingest without a trace.

What a file means (its bytes, and for a status import the tenant of its folder) decides
whether it was already loaded; a file rejected whole is evaluated again once tenant settings
changed; rows swallowed by an unclosed quote are rows, reported with their line numbers;
hidden files and files in the landing root are recorded; a Parquet file's own
``_row_number``/``_read_error`` columns are data; a file deleted mid-ingest is a clear
reject; an amount with more decimals than stored is rejected, never rounded.
"""

from __future__ import annotations

from datetime import date

import pytest

from customer_status.checks.reconciliation import rows_reconcile
from customer_status.ingest import loader
from customer_status.pipeline import runs

ORDERS_HEADER = "tenant_id,order_id,customer_id,created_at,paid_at,refunded_at,amount,currency\n"
GOOD_ORDER = "t1,o{n},c1,2026-10-01T10:00:00Z,,,12.50,eur\n"
IMPORT = "Customer ID,Customer Status\nc1,inactive\nc2,active\n"


def orders(n: int, replace: dict[int, str] | None = None) -> str:
    """An orders CSV with ``n`` data rows; ``replace`` maps a 1-based row to its own text."""
    lines = [GOOD_ORDER.format(n=i) for i in range(1, n + 1)]
    for row, text in (replace or {}).items():
        lines[row - 1] = text
    return ORDERS_HEADER + "".join(lines)


def ledger(landing, file: str) -> list[tuple]:
    return landing.rows(
        "select outcome, rows_in_file, rows_loaded, rows_rejected, physical_rows, message "
        "from raw.ingest_ledger left join raw.ingest_ledger_meaning using (load_id) "
        "where file = ? order by load_id",
        file,
    )


def reconcile(landing):
    runs.ensure(landing.db)
    return rows_reconcile(landing.db)[0]


# --- item 5: the ledger knows what a file means -------------------------------------------


def test_same_bytes_in_two_tenant_folders_are_two_imports(landing):
    landing.write("status_imports/t1/a.csv", IMPORT)
    landing.write("status_imports/t3/a.csv", IMPORT)
    results = landing.ingest()
    assert results["status_imports/t1/a.csv"].outcome == "loaded"
    assert results["status_imports/t3/a.csv"].outcome == "loaded"
    assert landing.rows(
        "select tenant_id, count(*) from raw.status_imports group by 1 order by 1"
    ) == [("t1", 2), ("t3", 2)]


def test_same_import_under_another_name_in_the_same_tenant_loads_once(landing):
    landing.write("status_imports/t1/a.csv", IMPORT)
    landing.ingest()
    landing.write("status_imports/t1/copy-of-a.csv", IMPORT)
    result = landing.ingest()["status_imports/t1/copy-of-a.csv"]
    assert (result.outcome, result.message) == (
        "skipped",
        "same content as status_imports/t1/a.csv",
    )
    assert landing.rows("select count(*) from raw.status_imports") == [(2,)]
    assert ledger(landing, "status_imports/t1/copy-of-a.csv")[0][0] == "already_loaded"


def test_a_ledger_from_before_meaning_is_migrated(landing):
    """A warehouse whose ledger has no ``meaning``: the column is added and filled, so a file
    it loaded stays loaded and the same bytes in another tenant's folder now load."""
    landing.write("status_imports/t1/a.csv", IMPORT)
    landing.ingest()
    landing.db.execute("drop table raw.ingest_ledger_meaning")
    landing.write("status_imports/t3/a.csv", IMPORT)
    results = landing.ingest()
    assert results["status_imports/t1/a.csv"].outcome == "skipped"
    assert results["status_imports/t3/a.csv"].outcome == "loaded"
    sha = loader.file_sha256(landing.root / "status_imports/t1/a.csv")[0]
    assert landing.rows(
        "select file, meaning from raw.ingest_ledger join raw.ingest_ledger_meaning "
        "using (load_id) order by load_id"
    )[1:] == [
        ("status_imports/t1/a.csv", f"{sha} tenant=t1"),
        ("status_imports/t3/a.csv", f"{sha} tenant=t3"),
    ]


def test_a_wholly_rejected_file_is_evaluated_again_after_the_ratio_was_raised(landing):
    bad = "t1,b{n},c1,yesterday,,,1.00,eur\n"
    content = orders(10, {n: bad.format(n=n) for n in range(1, 7)})  # 6 of 10 bad: > 0.5
    landing.write("orders/t1/mostly-bad.csv", content)
    first = landing.ingest()["orders/t1/mostly-bad.csv"]
    assert first.outcome == "rejected" and "max_reject_ratio of 50%" in first.message
    # the same night again: nothing changed, the verdict stands (no second reject)
    assert landing.ingest()["orders/t1/mostly-bad.csv"].outcome == "skipped"
    assert len(landing.rejects("orders/t1/mostly-bad.csv")) == 1
    # the tenant's max_reject_ratio raised: the same bytes are evaluated again and load
    landing.write(
        "tenants/raise.csv",
        "tenant_id,name,timezone,max_reject_ratio,updated_at\n"
        "t1,Shop one,Europe/Paris,0.8,2026-02-01T00:00:00Z\n",
    )
    again = landing.ingest()["orders/t1/mostly-bad.csv"]
    assert (again.outcome, again.rows_loaded, again.rows_rejected) == ("loaded_with_rejects", 4, 6)
    assert landing.rows("select count(*) from raw.orders") == [(4,)]
    assert landing.ingest()["orders/t1/mostly-bad.csv"].outcome == "skipped"


# --- item 6: an unbalanced quote never hides rows -----------------------------------------


@pytest.mark.parametrize(
    "row_95",
    [
        't1,o95,c1,"2026-10-01T10:00:00Z,,,12.50,eur\n',  # opening quote in a middle field
        't1,o95,c1,2026-10-01T10:00:00Z,,,12.50,"eur\n',  # in the last field: same field count
    ],
    ids=["middle-field", "last-field"],
)
def test_rows_an_unclosed_quote_swallowed_are_reported_with_line_numbers(landing, row_95):
    landing.write("orders/t1/quote.csv", orders(100, {95: row_95}))
    result = landing.ingest()["orders/t1/quote.csv"]
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (100, 94, 6)
    rejects = landing.rejects("orders/t1/quote.csv")
    assert [r[0] for r in rejects] == [95, 96, 97, 98, 99, 100]
    assert rejects[0][1].startswith('line 96: a quote (") opened on this row is not closed')
    assert "lines 97-101 were read into it" in rejects[0][1]
    for (_, error), line in zip(rejects[1:], range(97, 102), strict=True):
        assert (
            error == f"line {line}: swallowed by the unclosed quote of row 95 (line 96); not loaded"
        )
    assert ledger(landing, "orders/t1/quote.csv")[0][1:5] == (100, 94, 6, 100)
    check = reconcile(landing)
    assert check.passed, check.describe()


def test_a_quote_closed_by_a_later_stray_quote_reports_the_lines_in_between(landing):
    text = orders(10, {4: 't1,o4,c1,"2026-10-01T10:00:00Z,,,12.50,eur\n', 6: 't1,o6",c1\n'})
    landing.write("orders/t1/stray.csv", text)
    result = landing.ingest()["orders/t1/stray.csv"]
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (10, 7, 3)
    assert [r[0] for r in landing.rejects("orders/t1/stray.csv")] == [4, 5, 6]


def test_a_well_formed_multi_line_value_is_one_row(landing):
    text = ORDERS_HEADER + GOOD_ORDER.format(n=1) + 't1,o2,c1,2026-10-01T10:00:00Z,,,1.00,"e\nur"\n'
    landing.write("orders/t1/multiline.csv", text)
    result = landing.ingest()["orders/t1/multiline.csv"]
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (2, 2, 0)
    assert ledger(landing, "orders/t1/multiline.csv")[0][4] == 2
    assert reconcile(landing).passed


def test_the_reconciliation_fails_when_rows_read_are_not_the_rows_in_the_file(landing):
    landing.write("orders/t1/day.csv", orders(5))
    landing.ingest()
    # as if the reader had read 5 rows of a file that physically has 6
    landing.db.execute(
        "update raw.ingest_ledger_meaning set physical_rows = 6 where load_id = "
        "(select load_id from raw.ingest_ledger where file = 'orders/t1/day.csv')"
    )
    check = reconcile(landing)
    assert not check.passed
    assert check.sample[0][:3] == ("orders/t1/day.csv", 6, 5)


# --- item 8: no file is ignored without a trace ---------------------------------------------


def test_a_file_in_the_landing_root_is_rejected(landing):
    landing.write("orders.csv", orders(3))
    result = landing.ingest()["orders.csv"]
    assert result.outcome == "rejected"
    assert result.message.startswith("not in a source folder")
    assert landing.rejects("orders.csv") == [(None, result.message)]
    assert landing.rows("select source from raw.import_rejects where file = 'orders.csv'") == [
        ("landing_root",)
    ]
    assert landing.ingest()["orders.csv"].outcome == "skipped"  # rejected once, not each night
    assert len(landing.rejects("orders.csv")) == 1


@pytest.mark.parametrize(
    "hidden",
    ["customers/t1/.x.csv", "customers/t1/..y.csv", "customers/_tmp/z.csv", ".cache/a.csv"],
)
def test_hidden_files_are_not_read_but_recorded_and_listed(landing, hidden):
    landing.write(hidden, "tenant_id,customer_id,created_at\nt1,c1,2026-01-01\n")
    result = landing.ingest()[hidden]
    assert result.outcome == "hidden"
    assert "hidden file" in result.message and "not read" in result.message
    assert ledger(landing, hidden) == [("skipped", 0, 0, 0, None, result.message)]
    assert landing.rows("select count(*) from raw.customers") == [(0,)]
    # listed every night, recorded once
    assert landing.ingest()[hidden].outcome == "hidden"
    assert len(ledger(landing, hidden)) == 1
    assert reconcile(landing).passed


# --- item 10 (parts) -----------------------------------------------------------------------


def test_a_parquet_files_own_internal_looking_columns_are_data(landing):
    path = landing.root / "orders" / "t1" / "own-columns.parquet"
    path.parent.mkdir(parents=True)
    landing.db.execute(
        "copy (select 't1' as tenant_id, 'o' || i as order_id, 'c1' as customer_id, "
        "timestamptz '2026-10-01 00:00:00+00' as created_at, 2.5 as amount, "
        "'boom' as _read_error, 1000 - i as _row_number, 7 as file_row_number "
        f"from range(5) t(i)) to '{path}' (format parquet)"
    )
    result = landing.ingest()["orders/t1/own-columns.parquet"]
    assert (result.rows_loaded, result.rows_rejected) == (5, 0)
    assert landing.rows("select order_id, _row_number from raw.orders order by _row_number") == [
        (f"o{i}", i + 1) for i in range(5)
    ]
    assert ledger(landing, "orders/t1/own-columns.parquet")[0][4] == 5


def test_a_file_deleted_while_read_is_a_clear_reject_and_loads_when_it_lands_again(
    landing, monkeypatch
):
    path = landing.write("orders/t1/day.csv", orders(3))
    real_read = loader.read_batch

    def deleted_first(con, file, wanted, stats=None):
        file.unlink()
        return real_read(con, file, wanted, stats)

    monkeypatch.setattr(loader, "read_batch", deleted_first)
    result = landing.ingest()["orders/t1/day.csv"]
    assert result.outcome == "rejected"
    assert result.message.startswith("the file disappeared while this night read it")
    assert landing.rejects("orders/t1/day.csv") == [(None, result.message)]
    assert reconcile(landing).passed
    monkeypatch.setattr(loader, "read_batch", real_read)
    landing.write("orders/t1/day.csv", orders(3))  # the same bytes land again
    assert landing.ingest()["orders/t1/day.csv"].rows_loaded == 3
    assert path.exists()


def test_a_parquet_file_deleted_while_read_is_a_clear_reject(landing, monkeypatch):
    path = landing.root / "orders" / "t1" / "p.parquet"
    path.parent.mkdir(parents=True)
    landing.db.execute(
        "copy (select 't1' as tenant_id, 'o1' as order_id, 'c1' as customer_id, "
        f"timestamptz '2026-10-01 00:00:00+00' as created_at) to '{path}' (format parquet)"
    )
    real_read = loader.read_batch

    def deleted_first(con, file, wanted, stats=None):
        file.unlink()
        return real_read(con, file, wanted, stats)

    monkeypatch.setattr(loader, "read_batch", deleted_first)
    result = landing.ingest()["orders/t1/p.parquet"]
    assert result.outcome == "rejected"
    assert result.message.startswith("the file disappeared while this night read it")


def test_a_file_deleted_before_it_was_hashed_is_a_clear_reject(landing, monkeypatch):
    landing.write("orders/t1/gone.csv", orders(2))
    real_hash = loader.file_sha256

    def deleted_first(file):
        file.unlink()
        return real_hash(file)

    monkeypatch.setattr(loader, "file_sha256", deleted_first)
    result = landing.ingest(date(2026, 11, 1))["orders/t1/gone.csv"]
    assert result.outcome == "rejected" and "disappeared" in result.message
    assert landing.rejects("orders/t1/gone.csv") == [(None, result.message)]


@pytest.mark.parametrize(
    ("amount", "loaded"),
    [("1.005", None), ("12.500", 12.5), ("0.1", 0.1), ("1.5e-3", None), ("2.00000000001", None)],
)
def test_an_amount_with_more_decimals_than_stored_is_rejected_not_rounded(landing, amount, loaded):
    landing.write("orders/t1/cents.csv", orders(20, {20: f"t1,o20,c1,2026-10-01,,,{amount},eur\n"}))
    landing.ingest()
    got = landing.rows("select amount from raw.orders where order_id = 'o20'")
    if loaded is None:
        assert got == []
        assert landing.rejects("orders/t1/cents.csv") == [
            (
                20,
                f"amount {amount} has more than 2 decimals: amounts are kept to 2 decimals "
                "and never rounded",
            )
        ]
    else:
        assert [(float(v),) for (v,) in got] == [(loaded,)]
        assert landing.rejects("orders/t1/cents.csv") == []


def test_a_parquet_amount_with_more_decimals_than_stored_is_rejected(landing):
    path = landing.root / "orders" / "t1" / "cents.parquet"
    path.parent.mkdir(parents=True)
    landing.db.execute(
        "copy (select 't1' as tenant_id, 'o' || i as order_id, 'c1' as customer_id, "
        "timestamptz '2026-10-01 00:00:00+00' as created_at, "
        "case when i = 0 then 1.0050::decimal(10, 4) else 2.5000::decimal(10, 4) end as amount "
        f"from range(20) t(i)) to '{path}' (format parquet)"
    )
    result = landing.ingest()["orders/t1/cents.parquet"]
    assert (result.rows_loaded, result.rows_rejected) == (19, 1)
    assert landing.rejects("orders/t1/cents.parquet")[0][0] == 1
    assert "has more than 2 decimals" in landing.rejects("orders/t1/cents.parquet")[0][1]


def test_the_ledger_outcome_of_every_kind_of_file_is_published_by_landing_files(landing):
    """The rows marts.landing_files is built from (its SQL only renames loaded_with_rejects)."""
    landing.write("orders/t1/day.csv", orders(3))
    landing.write("orders/t1/copy.csv", orders(3))
    landing.write("orders/t1/.lock.csv", orders(3))
    landing.write("README.txt", "hello")
    landing.ingest()
    outcomes = dict(landing.rows("select file, outcome from raw.ingest_ledger"))
    assert outcomes == {
        "tenants/tenants.csv": "loaded",
        "orders/t1/copy.csv": "loaded",
        "orders/t1/day.csv": "already_loaded",  # path order: copy.csv came first
        "orders/t1/.lock.csv": "skipped",
        "README.txt": "rejected",
    }


def test_an_unreadable_file_is_rejected_once_with_the_reason(landing, monkeypatch):
    landing.write("orders/t1/locked.csv", orders(2))
    real_hash = loader.file_sha256

    def no_permission(file):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loader, "file_sha256", no_permission)
    result = landing.ingest()["orders/t1/locked.csv"]
    assert (result.outcome, result.message) == (
        "rejected",
        "the file could not be read: Permission denied",
    )
    assert landing.ingest()["orders/t1/locked.csv"].outcome == "skipped"
    assert len(landing.rejects("orders/t1/locked.csv")) == 1
    monkeypatch.setattr(loader, "file_sha256", real_hash)  # readable again: it loads
    assert landing.ingest()["orders/t1/locked.csv"].rows_loaded == 2


def test_a_file_missing_a_column_is_not_evaluated_again_when_settings_change(landing):
    landing.write("orders/t1/no-customer.csv", "tenant_id,order_id,created_at\nt1,o1,2026-10-01\n")
    assert landing.ingest()["orders/t1/no-customer.csv"].outcome == "rejected"
    landing.write(
        "tenants/raise.csv",
        "tenant_id,name,timezone,max_reject_ratio,updated_at\n"
        "t1,Shop one,Europe/Paris,0.8,2026-02-01T00:00:00Z\n",
    )
    assert landing.ingest()["orders/t1/no-customer.csv"].outcome == "skipped"
    assert len(landing.rejects("orders/t1/no-customer.csv")) == 1
