"""The benchmark harness can reuse a landing zone generated before (``--zone``), so that a
run before and one after a change read the same files; it refuses a zone that does not fit
(``benchmarks/nightly.py``). The floor scans every raw source table, erasure requests too."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def nightly():
    spec = importlib.util.spec_from_file_location(
        "bench_nightly_zone", ROOT / "benchmarks" / "nightly.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _zone(path: Path, customers: int, last_day: str) -> Path:
    (path / "orders").mkdir(parents=True)
    (path / "orders" / f"{last_day}.csv").write_text("order_id\n1\n")
    summary = {
        "tenants": [{"tenant_id": "t1", "customers": customers, "last_day": last_day}],
        "files": [{"path": f"orders/{last_day}.csv", "rows": 1}],
        "total_rows": 1,
    }
    (path / "_GENERATED.json").write_text(json.dumps(summary))
    return path


def test_a_reused_zone_is_linked_not_generated(nightly, tmp_path):
    src = _zone(tmp_path / "zone", 100_000, nightly.END_DATE.isoformat())
    bench = nightly.Bench("s", tmp_path / "work", True, "duckdb", src)
    bench.prepare()
    bench.generate()
    linked = bench.zone / "orders" / f"{nightly.END_DATE.isoformat()}.csv"
    assert linked.stat().st_ino == (src / "orders" / linked.name).stat().st_ino
    assert "generate" not in bench.results["measurements"]
    assert bench.results["zone_reused_from"] == str(src)
    assert bench.results["landing_zone"]["total_rows"] == 1


@pytest.mark.parametrize(
    ("scale", "last_day", "message"),
    [("m", None, "100,000 customers, not 1,000,000"), ("s", "2026-10-01", "generated up to")],
)
def test_a_zone_that_does_not_fit_is_refused(nightly, tmp_path, scale, last_day, message):
    src = _zone(tmp_path / "zone", 100_000, last_day or nightly.END_DATE.isoformat())
    bench = nightly.Bench(scale, tmp_path / "work", True, "duckdb", src)
    bench.prepare()
    with pytest.raises(SystemExit, match=message):
        bench.generate()


def test_the_floor_scans_every_raw_source(nightly):
    from customer_status.ingest.sources import LOAD_ORDER

    assert set(LOAD_ORDER) <= set(nightly.FLOOR_COLUMN)
