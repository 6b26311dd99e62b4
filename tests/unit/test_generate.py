"""Unit tests of the synthetic landing-zone generator (``customer_status.generate``)."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_status.generate import generate_landing
from customer_status.generate.landing import _generate

CUSTOMERS = 300
END = date(2026, 11, 1)

#: docs/contract.md "Landing zone (inputs)": source -> (required columns, all columns).
CONTRACT: dict[str, tuple[set[str], set[str]]] = {
    "tenants": (
        {"tenant_id"},
        {
            "tenant_id",
            "name",
            "timezone",
            "activity_window_days",
            "reactivation_trigger",
            "billing_basis",
            "send_to_accept_marketing_only",
            "deleted_can_be_restored",
            "suspended_blocks_redemption",
            "sunset_after_days",
            "internal_email_domains",
            "max_billable_swing",
            "max_reject_ratio",
            "updated_at",
        },
    ),
    "customers": (
        {"tenant_id", "customer_id", "created_at"},
        {
            "tenant_id",
            "customer_id",
            "code",
            "email",
            "phone",
            "full_name",
            "accepts_marketing",
            "created_at",
            "updated_at",
            "deleted_at",
            "merged_into",
            "merged_at",
        },
    ),
    "orders": (
        {"tenant_id", "order_id", "customer_id", "created_at"},
        {
            "tenant_id",
            "order_id",
            "customer_id",
            "created_at",
            "paid_at",
            "refunded_at",
            "amount",
            "currency",
            "updated_at",
        },
    ),
    "subscription_events": (
        {"tenant_id", "subscription_id", "customer_id", "status", "changed_at"},
        {"tenant_id", "subscription_id", "customer_id", "status", "changed_at"},
    ),
    "engagement_events": (
        {"tenant_id", "event_id", "customer_id", "occurred_at"},
        {"tenant_id", "event_id", "customer_id", "channel", "event_type", "occurred_at"},
    ),
    "status_actions": (
        {"tenant_id", "action_id", "customer_id", "action", "requested_at"},
        {
            "tenant_id",
            "action_id",
            "customer_id",
            "action",
            "status",
            "reason",
            "actor",
            "requested_at",
            "source",
        },
    ),
    "status_labels": ({"tenant_id", "label", "status"}, {"tenant_id", "label", "status"}),
    "suppressions": (
        {"tenant_id", "kind", "value", "added_at"},
        {"tenant_id", "kind", "value", "added_at", "removed_at", "actor", "reason"},
    ),
}
TIME_COLUMNS = {
    "created_at",
    "updated_at",
    "deleted_at",
    "merged_at",
    "paid_at",
    "refunded_at",
    "changed_at",
    "occurred_at",
    "requested_at",
    "added_at",
    "removed_at",
}
ROW_KINDS = {
    "bad_timestamp",
    "missing_required",
    "negative_amount",
    "unknown_enum",
    "bad_boolean",
    "bad_email",
    "wrong_field_count",
    "not_json",
    "merge_cycle",
}


# --------------------------------------------------------------------------- helpers
def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return header, rows


def _norm(columns: list[str]) -> list[str]:
    return [c.strip().lower() for c in columns]


def _columns(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return pq.read_schema(path).names
    if path.suffix == ".csv":
        return _csv_rows(path)[0]
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            return list(json.loads(line))
        except json.JSONDecodeError:
            continue
    return []


def _data_rows(path: Path) -> int:
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    if path.suffix == ".csv":
        return len(_csv_rows(path)[1])
    return len(path.read_text(encoding="utf-8").splitlines())


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _good_records(root: Path, summary: dict, rel: str) -> list[dict]:
    """Rows of a file as dicts (lower-case keys), deliberately malformed rows left out."""
    bad = {m["row_number"] for m in summary["malformed"] if m["file"] == rel}
    path = root / rel
    if path.suffix == ".parquet":
        rows = pq.read_table(path).to_pylist()
    elif path.suffix == ".csv":
        header, raw = _csv_rows(path)
        rows = [dict(zip(_norm(header), r, strict=False)) for r in raw]
    else:
        rows = [
            json.loads(x) if i + 1 not in bad else {}
            for i, x in enumerate(path.read_text(encoding="utf-8").splitlines())
        ]
    out = []
    for i, row in enumerate(rows, start=1):
        if i in bad:
            continue
        out.append(
            {
                k: (
                    _parse(v)
                    if k in TIME_COLUMNS and isinstance(v, str) and v
                    else (None if v == "" else v)
                )
                for k, v in row.items()
            }
        )
    return out


def _source(rel: str) -> str:
    return rel.split("/", 1)[0]


def _tenant(rel: str) -> str | None:
    parts = rel.split("/")
    return parts[1] if len(parts) > 2 else None


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("landing")
    return root, generate_landing(root, customers=CUSTOMERS, progress=False)


# --------------------------------------------------------------------------- tests
def test_summary_file_matches_return_value(landing: tuple[Path, dict]) -> None:
    root, summary = landing
    on_disk = json.loads((root / "_GENERATED.json").read_text(encoding="utf-8"))
    assert on_disk == summary
    assert summary["parameters"] == {
        "customers": CUSTOMERS,
        "tenants": 3,
        "days": 120,
        "seed": 42,
        "end_date": "2026-11-01",
        "chunk_size": 100_000,
    }
    assert [t["tenant_id"] for t in summary["tenants"]] == ["t1", "t2", "t3"]
    assert sum(t["customers"] for t in summary["tenants"]) == CUSTOMERS


def test_same_seed_same_bytes_other_seed_differs(
    landing: tuple[Path, dict], tmp_path: Path
) -> None:
    root, _ = landing
    again, other = tmp_path / "again", tmp_path / "other"
    generate_landing(again, customers=CUSTOMERS, progress=False)
    generate_landing(other, customers=CUSTOMERS, seed=7, progress=False)
    assert _hashes(again) == _hashes(root)
    other_hashes = _hashes(other)
    assert other_hashes != _hashes(root)
    assert (
        other_hashes["customers/t1/part-00001.parquet"]
        != _hashes(root)["customers/t1/part-00001.parquet"]
    )


def test_workers_and_chunks_do_not_change_the_output(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    s1 = _generate(one, 400, 2, 30, 3, END, False, chunk_size=64, workers=1)
    _generate(two, 400, 2, 30, 3, END, False, chunk_size=64, workers=2)
    assert _hashes(one) == _hashes(two)
    parts = [f["path"] for f in s1["files"] if f["path"].startswith("customers/t1/part-")]
    assert len(parts) == 4  # 250 customers in chunks of 64


def test_regenerating_into_the_same_dir_replaces_it(tmp_path: Path) -> None:
    out = tmp_path / "land"
    generate_landing(out, customers=60, tenants=1, days=10, progress=False)
    stray = out / "orders" / "t1" / "stray.csv"
    stray.write_text("x\n")
    generate_landing(out, customers=60, tenants=1, days=10, progress=False)
    assert not stray.exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate_landing(other, customers=60, tenants=1, progress=False)


def test_every_file_is_listed_with_its_row_count(landing: tuple[Path, dict]) -> None:
    root, summary = landing
    listed = {f["path"]: f["rows"] for f in summary["files"]}
    on_disk = {p for p in _hashes(root) if p != "_GENERATED.json"}
    assert set(listed) == on_disk
    for rel, rows in listed.items():
        assert _data_rows(root / rel) == rows, rel
    assert summary["total_rows"] == sum(listed.values())


def test_columns_match_the_contract(landing: tuple[Path, dict]) -> None:
    root, summary = landing
    broken = {m["file"] for m in summary["malformed"] if m["row_number"] is None}
    odd_headers = 0
    for f in summary["files"]:
        rel = f["path"]
        raw = _columns(root / rel)
        cols = _norm(raw)
        odd_headers += raw != cols
        if _source(rel) == "status_imports":
            assert {"customer id", "code", "email"} & set(cols), rel
            assert {"customer status", "active/inactive"} & set(cols), rel
            continue
        required, allowed = CONTRACT[_source(rel)]
        if rel in broken:
            assert not required <= set(cols)
            continue
        assert set(cols) <= allowed, rel
        assert required <= set(cols), rel
    assert odd_headers >= 1  # at least one header in odd case / with spaces


def test_status_import_shapes(landing: tuple[Path, dict]) -> None:
    root, _ = landing
    headers = {tuple(_csv_rows(p)[0]) for p in (root / "status_imports" / "t1").glob("*.csv")}
    assert headers == {
        ("Code", "Name", "Email", "Customer Status"),
        ("Customer ID", "Active/Inactive", "Reason", "Effective At"),
        ("Email", "Customer Status"),
    }
    for path in (root / "status_imports").rglob("*.csv"):
        header, rows = _csv_rows(path)
        status_col = header.index(
            "Customer Status" if "Customer Status" in header else "Active/Inactive"
        )
        assert rows and all(r[status_col].strip().lower() in {"active", "inactive"} for r in rows)
        if header == ["Email", "Customer Status"]:
            assert any(r[0] != r[0].strip() for r in rows)
            assert any(r[0] != r[0].lower() for r in rows)


def test_parquet_types(landing: tuple[Path, dict]) -> None:
    root, _ = landing
    schema = pq.read_schema(root / "orders" / "t1" / "part-00001.parquet")
    assert schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("amount").type == pa.decimal128(12, 2)
    schema = pq.read_schema(root / "customers" / "t2" / "part-00001.parquet")
    assert schema.field("accepts_marketing").type == pa.bool_()
    assert schema.field("customer_id").type == pa.string()


def test_timestamps_within_the_data_frame(landing: tuple[Path, dict]) -> None:
    root, summary = landing
    end = {t["tenant_id"]: _parse(t["data_end_utc"]) for t in summary["tenants"]}
    earliest = {t["tenant_id"]: _parse(t["earliest_created_at_utc"]) for t in summary["tenants"]}
    latest_overall = max(end.values())
    for f in summary["files"]:
        rel = f["path"]
        if _source(rel) == "status_imports":
            continue
        for row in _good_records(root, summary, rel):
            tenant = row.get("tenant_id") or _tenant(rel)
            for col in TIME_COLUMNS & set(row):
                value = row[col]
                if value is None:
                    continue
                assert value.tzinfo is not None, (rel, col)
                assert value <= end.get(tenant, latest_overall), (rel, col, value)
                if (
                    col != "updated_at"
                    and _source(rel) != "tenants"
                    and (_source(rel) != "suppressions")
                ):
                    assert value >= earliest[tenant], (rel, col, value)


def test_entity_invariants(landing: tuple[Path, dict]) -> None:
    root, summary = landing
    files = [f["path"] for f in summary["files"]]
    cycle = {
        (m["file"], m["row_number"]) for m in summary["malformed"] if m["kind"] == "merge_cycle"
    }
    for tenant in ("t1", "t2", "t3"):
        customers: dict[str, dict] = {}
        rel = f"customers/{tenant}/part-00001.parquet"
        rows = pq.read_table(root / rel).to_pylist()
        for i, row in enumerate(rows, start=1):
            customers[row["customer_id"]] = row | {"_cycle": (rel, i) in cycle}
        assert len(customers) == len(rows)  # ids unique per tenant
        chains = 0
        for c in customers.values():
            assert c["code"].startswith("K-") and c["customer_id"].startswith("C")
            assert c["updated_at"] >= c["created_at"]
            if c["deleted_at"] is not None:
                assert c["deleted_at"] > c["created_at"]
            if c["merged_into"] is None:
                continue
            target = customers[c["merged_into"]]
            assert c["merged_at"] > c["created_at"]
            assert c["merged_at"] > target["created_at"]
            if not c["_cycle"]:
                assert target["created_at"] < c["created_at"]
            if target["merged_into"] is not None and not c["_cycle"]:
                chains += 1
        assert chains >= 1, f"no merge chain A->B->C in {tenant}"
        emails = [c["email"] for c in customers.values() if c["email"]]
        assert len(set(emails)) >= 0.95 * len(emails)

        orders = [
            r
            for rel in files
            if rel.startswith(f"orders/{tenant}/") and "broken" not in rel
            for r in _good_records(root, summary, rel)
        ]
        assert orders and any(o["paid_at"] is None for o in orders)
        assert any(o["refunded_at"] is not None for o in orders)
        for o in orders:
            assert o["customer_id"] in customers
            assert float(o["amount"]) > 0
            if o["paid_at"] is not None:
                assert o["created_at"] <= o["paid_at"]
            if o["refunded_at"] is not None:
                assert o["paid_at"] is not None and o["refunded_at"] > o["paid_at"]

        subs = pq.read_table(root / f"subscription_events/{tenant}/part-00001.parquet").to_pylist()
        assert {s["status"] for s in subs} <= {"in_progress", "suspended", "terminated"}
        firsts: dict[str, str] = {}
        for s in subs:
            firsts.setdefault(s["subscription_id"], s["status"])
        assert set(firsts.values()) == {"in_progress"}

    assert len(cycle) == 2 and {f for f, _ in cycle} == {"customers/t1/part-00001.parquet"}


def test_status_actions_include_rule_rejections(landing: tuple[Path, dict]) -> None:
    root, summary = landing
    for tenant in ("t1", "t2", "t3"):
        rel = f"status_actions/{tenant}/actions.csv"
        rows = _good_records(root, summary, rel)
        assert len(rows) >= 25
        assert {r["source"] for r in rows} == {"ui", "bulk", "api"}
        assert any(r["reason"] is None for r in rows)
        assert any(r["actor"] is None for r in rows)
        assert any(r["status"] == "platinum" for r in rows)
        assert any(r["customer_id"] == "C0000000" for r in rows)
        assert any(r["action"] == "restore" for r in rows)
        statuses = {(r["status"] or "").lower() for r in rows}
        assert {
            "suspended",
            "fraud_suspected",
            "fraud_confirmed",
            "archived",
            "internal",
            "active",
        } <= statuses
        assert any(r["actor"] and r["actor"].startswith("staff:") for r in rows)


def test_malformed_entries(landing: tuple[Path, dict]) -> None:
    root, summary = landing
    malformed = summary["malformed"]
    kinds = {m["kind"] for m in malformed}
    assert ROW_KINDS <= kinds
    whole = [m for m in malformed if m["row_number"] is None]
    assert whole == [
        {
            "file": "orders/t1/broken-export.csv",
            "row_number": None,
            "kind": "missing_required_column",
        }
    ]
    rows = {f["path"]: f["rows"] for f in summary["files"]}
    per_file: dict[str, int] = {}
    for m in malformed:
        assert m["file"] in rows
        if m["row_number"] is not None:
            assert 1 <= m["row_number"] <= rows[m["file"]]
            per_file[m["file"]] = per_file.get(m["file"], 0) + 1
    for rel, bad in per_file.items():
        assert bad / rows[rel] < 0.06, rel  # well under the 10 % reject threshold


def test_malformed_rows_are_really_bad(landing: tuple[Path, dict]) -> None:
    root, summary = landing
    for m in summary["malformed"]:
        path, n = root / m["file"], m["row_number"]
        if n is None or path.suffix == ".parquet":
            continue
        if path.suffix == ".jsonl":
            line = path.read_text(encoding="utf-8").splitlines()[n - 1]
            with pytest.raises(json.JSONDecodeError):
                json.loads(line)
            continue
        header, rows = _csv_rows(path)
        row = rows[n - 1]
        if m["kind"] == "wrong_field_count":
            assert len(row) != len(header)
            continue
        assert len(row) == len(header)
        rec = dict(zip(_norm(header), row, strict=True))
        kind = m["kind"]
        if kind == "bad_timestamp":
            bad = [v for k, v in rec.items() if k in TIME_COLUMNS and v]
            assert any(_raises(_parse, v) for v in bad)
        elif kind == "missing_required":
            required = CONTRACT[_source(m["file"])][0]
            assert any(rec[c] == "" for c in required)
        elif kind == "negative_amount":
            assert float(rec["amount"]) < 0
        elif kind == "unknown_enum":
            assert rec["source"] not in {"ui", "bulk", "api"}
        elif kind == "bad_boolean":
            assert rec["accepts_marketing"].lower() not in {"true", "false", "1", "0", "yes", "no"}
        elif kind == "bad_email":
            assert "@" not in rec["email"]


def _raises(fn, value) -> bool:  # type: ignore[no-untyped-def]
    try:
        fn(value)
    except ValueError:
        return True
    return False
