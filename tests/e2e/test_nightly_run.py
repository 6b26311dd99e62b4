"""End to end: the real command runs the real DAG on generated data; assertions on what it published."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

# Bad data that is bad *input* (ingestion rejects it); other kinds (a merge cycle) are rules
# for the status models and are valid rows here.
INGEST_KINDS = {
    "bad_timestamp",
    "missing_required",
    "negative_amount",
    "unknown_enum",
    "bad_boolean",
    "bad_email",
    "wrong_field_count",
    "not_json",
    "missing_required_column",
}


def test_first_night_publishes(zone, first_night):
    assert first_night.code == 0, first_night.output[-4000:]
    assert "published 2026-11-01" in first_night.output
    assert zone.published(
        "select as_of_date::varchar, outcome, checks_failed, accepted_swing from marts.pipeline_runs"
    ) == [("2026-11-01", "published", 0, False)]
    tables = {
        t
        for (t,) in zone.published(
            "select table_name from duckdb_tables() where schema_name = 'marts'"
        )
    }
    assert {"import_rejects", "pipeline_runs"} <= tables


def test_every_generated_file_reconciles(zone, first_night):
    """rows in file (as the generator wrote them) = rows loaded + rows rejected, for every file."""
    ledger = {
        file: (rows, loaded, rejected)
        for file, rows, loaded, rejected in zone.work(
            "select file, rows_in_file, rows_loaded, rows_rejected from raw.ingest_ledger"
        )
    }
    for entry in zone.generated["files"]:
        rows, loaded, rejected = ledger[entry["path"]]
        assert loaded + rejected == rows, entry
        if entry["path"] not in {
            m["file"] for m in zone.generated["malformed"] if m["row_number"] is None
        }:
            assert rows == entry["rows"], entry


def test_every_malformed_row_and_file_is_published_with_a_reason(zone, first_night):
    rejects = {
        (file, row): error
        for file, row, error in zone.published(
            "select file, row_number, error from marts.import_rejects"
        )
    }
    expected = [m for m in zone.generated["malformed"] if m["kind"] in INGEST_KINDS]
    assert {m["kind"] for m in expected} == INGEST_KINDS, "the generator must cover every kind"
    for bad in expected:
        key = (bad["file"], bad["row_number"])
        assert key in rejects, f"{bad} not in import_rejects"
        assert len(rejects[key]) > 10, rejects[key]


def test_good_rows_of_the_generated_sources_reach_staging(zone, first_night):
    counts = dict(
        zone.work(
            "select 'customers', count(*) from staging.stg_landing__customers union all "
            "select 'orders', count(*) from staging.stg_landing__orders union all "
            "select 'tenants', count(*) from staging.stg_landing__tenants"
        )
    )
    assert counts["customers"] >= 300 and counts["orders"] > 0 and counts["tenants"] == 3


def test_relanded_file_is_skipped_and_new_file_loads(zone, second_night):
    run = second_night["run"]
    assert run.code == 0, run.output[-4000:]
    ledger = dict(zone.work("select file, outcome from raw.ingest_ledger"))
    assert ledger[second_night["new"]] == "loaded"
    # same content under a new name loads once: the copy is only recorded, as already loaded
    assert ledger[second_night["copy"]] == "already_loaded"
    assert zone.work(
        "select count(*) from staging.stg_landing__orders where order_id in ('late-1', 'late-2')"
    ) == [(2,)]


def test_next_night_keeps_dbt_partial_parsing(second_night):
    """The as-of date changes every night; it reaches dbt as an environment variable read when
    a model runs (macros/as_of_date.sql), so dbt keeps its partial parse: nothing is parsed
    again for a new date (tests/dbt/test_parse_once.py checks that no file is)."""
    log = second_night["dbt_log"]
    assert "Running with dbt=" in log, "the second night's dbt log section was not found"
    assert "Unable to do partial parsing" not in log, [
        line for line in log.splitlines() if "partial pars" in line.lower()
    ]


def test_open_reader_keeps_its_night_and_new_readers_see_the_next(zone, second_night):
    assert second_night["seen_by_open_reader"] == 1
    assert zone.published(
        "select count(*) from marts.pipeline_runs where outcome = 'published'"
    ) == [(2,)]


def test_failed_night_publishes_nothing_but_its_run_log(zone, failed_night):
    run = failed_night["run"]
    assert run.code == 1
    assert "FAILED 2026-11-03" in run.output and "always_fails" in run.output
    assert (
        zone.published("select * from marts.import_rejects order by all")
        == failed_night["rejects_before"]
    )
    assert zone.published(
        "select outcome, failed_step from marts.pipeline_runs where as_of_date = '2026-11-03'"
    ) == [("failed", "build")]
