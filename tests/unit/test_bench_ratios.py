"""The benchmark harness reports every ratio of issue 18's table with its target (``benchmarks/nightly.py``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def nightly():
    spec = importlib.util.spec_from_file_location(
        "bench_nightly", ROOT / "benchmarks" / "nightly.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _measurements() -> dict:
    return {
        "full": {"wall_s": 100.0, "stages_s": {"build": 40.0}, "max_rss_mb": 2048.0},
        "incremental": {"wall_s": 8.0, "max_rss_mb": 1024.0},
        "empty": {"wall_s": 6.0, "max_rss_mb": 512.0},
        "floor_all_columns": {"scan_s": 2.0},
        "floor_one_column": {"scan_s": 1.0},
        "naive": {"query_s": 100.0},
    }


def test_every_ratio_of_the_issue_with_target_and_verdict(nightly):
    rows = {r["ratio"]: r for r in nightly.issue_ratios("m", _measurements())}
    assert set(rows) == {
        "full night wall / scan floor",
        "incremental night / full night",
        "empty night / full night",
        "naive customer x day grid / our dbt build",
        "dbt build / scan floor",
        "peak memory of a night, GiB",
    }
    full = rows["full night wall / scan floor"]
    assert (full["value"], full["target"], full["met"], full["factor_of_target"]) == (
        50.0, "<= 35", False, 1.43,
    )  # fmt: skip
    assert rows["incremental night / full night"]["value"] == 0.08
    assert rows["incremental night / full night"]["met"] is True
    empty = rows["empty night / full night"]
    assert (empty["value"], empty["target"], empty["met"]) == (0.06, "<= 0.05", False)
    naive = rows["naive customer x day grid / our dbt build"]
    assert (naive["value"], naive["target"], naive["met"], naive["factor_of_target"]) == (
        2.5, ">= 5", False, 2.0,
    )  # fmt: skip
    build = rows["dbt build / scan floor"]
    assert (build["value"], build["met"]) == (20.0, False)
    peak = rows["peak memory of a night, GiB"]
    assert (peak["value"], peak["met"]) == (2.0, True)


def test_scale_l_targets_and_unmeasured_parts(nightly):
    m = _measurements()
    del m["naive"], m["empty"]
    rows = {r["ratio"]: r for r in nightly.issue_ratios("l", m)}
    assert rows["empty night / full night"]["target"] == "<= 0.03"
    assert rows["empty night / full night"]["met"] is None  # not measured, not "met"
    assert rows["naive customer x day grid / our dbt build"]["target"] is None
    assert "naive grid finishes within 10x our full night" in rows


def test_s_applies_the_m_targets_and_says_so(nightly):
    rows = nightly.issue_ratios("s", _measurements())
    assert all(r["target_scale"] == "m" for r in rows)
    text = "\n".join(nightly.issue_ratios_markdown(rows))
    assert "## Issue 18 ratios (same run)" in text
    assert "| full night wall / scan floor | 50 | <= 35 (M target) | **missed** | 1.43× |" in text
    assert "| incremental night / full night | 0.08 | <= 0.1 (M target) | **met** | 0.8× |" in text


def test_results_json_and_md_carry_the_ratios(nightly, tmp_path, monkeypatch):
    monkeypatch.setattr(nightly, "RESULTS_DIR", tmp_path)
    m = _measurements()
    results = {
        "scale": "s", "customers": 1, "started_at": "2026-12-01T13:00:00",
        "machine": {"cpus": 2, "cpu_model": "x", "memory_gib": 24, "python": "3.11",
                    "duckdb": "2", "dbt_core": "1.11", "duckdb_memory_limit": "12GB"},
        "git": {"commit": "abcdef0123", "dirty": []},
        "landing_zone": {"by_source": {}, "files": 1, "total_rows": 0, "bytes": 0, "bytes_allocated": 0},
        "held_back": {"files": [], "rows": 0, "bytes": 0},
        "dates": {"full": "d", "incremental": "d1", "empty": "d2"},
        "measurements": {"generate": {"wall_s": 1.0, "load": {"load_at_start": [0, 0, 0], "waited_s": 0}}},
        "ratios": {}, "targets": [],
    }  # fmt: skip
    results["issue_ratios"] = nightly.issue_ratios("s", m)
    md = nightly.write_results(results)
    assert "full night wall / scan floor | 50 |" in md.read_text()
    import json

    stored = json.loads(md.with_suffix(".json").read_text())
    assert [r["ratio"] for r in stored["issue_ratios"]][0] == "full night wall / scan floor"


def test_stage_times_are_read_from_the_short_summary_and_from_v_logs(nightly):
    summary = (
        "  ingest              24.6s\n  ingested: 38 file(s) loaded\n  build              111.2s\n"
    )
    assert nightly.stage_seconds(summary) == {"ingest": 24.6, "build": 111.2}
    verbose = "x [run1] validate_imports: done in 3.5s\n"
    assert nightly.stage_seconds(verbose) == {"validate_imports": 3.5}


# The night's default (short) output, as a benchmark log holds it (M full night, 0f1c9d9).
SHORT_FULL_NIGHT = """\
  ingest              30.6s
  ingested: 66 file(s) loaded, 1 rejected, 0 already loaded, 0 hidden (skipped); 38,845,729 row(s) loaded, 8 rejected
  validate_imports    10.2s
  build               68.5s
published 2026-10-31: run manual__2026-12-01T19:23:35.953644+00:00, 18 checks passed
"""


def test_ingest_counts_are_read_from_the_short_summary(nightly):
    """The "Nights" table said 0 rows and 0 files loaded for every night: the harness only
    knew the ``-v`` log line (``ingest summary: {...}``), not the short summary's line."""
    assert nightly.ingest_counts(SHORT_FULL_NIGHT) == {
        "files_loaded": 66,
        "files_rejected": 1,
        "files_already_loaded": 0,
        "files_skipped": 0,
        "rows_loaded": 38_845_729,
        "rows_rejected": 8,
    }
    empty = "  ingested: 0 file(s) loaded, 0 rejected, 79 already loaded, 2 hidden (skipped); 0 row(s) loaded, 0 rejected\n"  # noqa: E501
    assert nightly.ingest_counts(empty)["files_already_loaded"] == 79
    assert nightly.ingest_counts(empty)["files_skipped"] == 2
    verbose = (
        "12:00:01 INFO [run1] ingest summary: {'files_loaded': 3, 'files_rejected': 0, "
        "'files_already_loaded': 1, 'files_skipped': 0, 'rows_loaded': 1200, 'rows_rejected': 2}\n"
    )
    assert nightly.ingest_counts(verbose)["rows_loaded"] == 1200
    assert nightly.ingest_counts("  build  1.0s\n") is None  # no ingest line: unknown, not 0


def test_nights_table_shows_the_rows_and_files_loaded(nightly, tmp_path, monkeypatch):
    """The rendered "Nights" row carries the counts read from the night's own output, and a
    night whose output had no ingest line says so (–) instead of 0."""
    ingest = nightly.ingest_counts(SHORT_FULL_NIGHT)
    night = {
        "ingest": ingest,
        "dbt_full_refresh": True,
        "customers_touched": 1_000_000,
        "dbt": {"nodes": 185},
        "work_db_bytes": 2_191_000_000,
        "warehouse_bytes": 172_000_000,
    }
    rows = nightly.nights_table({"full": night, "empty": {**night, "ingest": None}})
    assert any(r.startswith("| full | 38,845,729 | 66 ") for r in rows), rows
    assert any(r.startswith("| empty | – | – ") for r in rows), rows
