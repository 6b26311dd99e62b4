"""Issue 18: a night reads and hashes only the landing files that changed since they were
hashed (size, mtime, ctime, inode and device in the ledger beside the content hash); what a
file means is still decided by its content."""

from __future__ import annotations

import os

import pytest

from customer_status.ingest import loader

ORDERS = (
    "tenant_id,order_id,customer_id,created_at,paid_at,refunded_at,amount,currency\n"
    "t1,o1,c1,2026-10-01T10:00:00Z,,,12.50,eur\n"
    "t1,o2,c1,2026-10-01T11:00:00Z,,,13.50,eur\n"
)


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """The files each ingest read to hash them (by name)."""
    seen: list[str] = []
    real = loader.file_sha256

    def counting(path):
        seen.append(path.name)
        return real(path)

    monkeypatch.setattr(loader, "file_sha256", counting)
    return seen


def test_an_unchanged_file_is_not_read_again(landing, hashed):
    landing.write("orders/t1/day.csv", ORDERS)
    landing.write("orders/t1/.lock.csv", ORDERS)
    first = landing.ingest()
    assert first["orders/t1/day.csv"].outcome == "loaded"
    assert sorted(hashed) == [".lock.csv", "day.csv", "tenants.csv"]
    hashed.clear()
    second = landing.ingest()
    assert hashed == []  # nothing was read
    assert second["orders/t1/day.csv"].outcome == "skipped"
    assert second["orders/t1/.lock.csv"].outcome == "hidden"
    assert landing.rows("select count(*) from raw.orders") == [(2,)]


def test_a_touched_file_is_hashed_again_once_and_stays_loaded(landing, hashed):
    path = landing.write("orders/t1/day.csv", ORDERS)
    landing.ingest()
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    hashed.clear()
    result = landing.ingest()["orders/t1/day.csv"]
    assert hashed == ["day.csv"]
    assert (result.outcome, result.message) == ("skipped", "same content as orders/t1/day.csv")
    hashed.clear()
    landing.ingest()
    assert hashed == []  # the new stat was remembered
    assert landing.rows("select count(*) from raw.ingest_ledger where file = ?", "orders/t1/day.csv") == [(1,)]  # fmt: skip


def test_an_edit_of_the_same_size_with_its_mtime_put_back_is_still_read(landing, hashed):
    """Rewritten in place (same inode), same size, mtime restored as ``touch -r`` or
    ``cp -p`` would: the kernel's ctime still moved, so the file is read and loaded."""
    path = landing.write("orders/t1/day.csv", ORDERS)
    landing.ingest()
    before = path.stat()
    edited = ORDERS.replace("13.50", "14.50")
    assert len(edited) == len(ORDERS)
    with path.open("r+", encoding="utf-8") as handle:  # in place: the inode stays
        handle.write(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size, before.st_mtime_ns, before.st_ino,
    )  # fmt: skip
    hashed.clear()
    result = landing.ingest()["orders/t1/day.csv"]
    assert hashed == ["day.csv"]
    assert result.outcome == "loaded"
    assert landing.rows("select count(*) from raw.orders where amount = 14.50") == [(1,)]


def test_a_replaced_file_is_read(landing, hashed):
    path = landing.write("orders/t1/day.csv", ORDERS)
    landing.ingest()
    new = path.with_name("day.tmp")
    new.write_text(ORDERS.replace("o2,", "o3,"), encoding="utf-8")
    os.replace(new, path)
    hashed.clear()
    assert landing.ingest()["orders/t1/day.csv"].outcome == "loaded"
    assert hashed == ["day.csv"]


def test_a_copy_under_a_new_name_is_still_known_by_its_content(landing, hashed):
    landing.write("orders/t1/day.csv", ORDERS)
    landing.ingest()
    landing.write("orders/t1/copy.csv", ORDERS)
    hashed.clear()
    result = landing.ingest()["orders/t1/copy.csv"]
    assert hashed == ["copy.csv"]
    assert (result.outcome, result.message) == ("skipped", "same content as orders/t1/day.csv")
    hashed.clear()
    landing.ingest()
    assert hashed == []
    assert landing.rows("select outcome from raw.ingest_ledger where file = 'orders/t1/copy.csv'") == [("already_loaded",)]  # fmt: skip


def test_a_rejected_file_is_not_read_again_until_it_changes(landing, hashed):
    path = landing.write("orders/t1/bad.csv", "tenant_id,order_id\nt1,o1\n")
    assert landing.ingest()["orders/t1/bad.csv"].outcome == "rejected"
    hashed.clear()
    result = landing.ingest()["orders/t1/bad.csv"]
    assert hashed == [] and result.outcome == "skipped"
    assert result.message.startswith("already rejected: missing required column(s)")
    path.write_text(ORDERS, encoding="utf-8")
    assert landing.ingest()["orders/t1/bad.csv"].outcome == "loaded"


def test_a_ledger_from_before_file_stats_keeps_working(landing, hashed):
    """A warehouse whose ledger has no ``file_stat``: the column is added; its files are
    hashed once (still known by content), and not read again after that."""
    landing.write("orders/t1/day.csv", ORDERS)
    landing.ingest()
    landing.db.execute("alter table raw.ingest_ledger_meaning drop column file_stat")
    hashed.clear()
    assert landing.ingest()["orders/t1/day.csv"].outcome == "skipped"
    assert sorted(hashed) == ["day.csv", "tenants.csv"]
    hashed.clear()
    assert landing.ingest()["orders/t1/day.csv"].outcome == "skipped"
    assert hashed == []
    assert landing.rows("select count(*) from raw.orders") == [(2,)]
