"""The Great Expectations suites: in step with the landing sources, and really run on DuckDB."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pytest

from customer_status import started_ahead
from customer_status.checks import gx_imports
from customer_status.ingest.loader import ensure_raw_schema
from customer_status.ingest.sources import SOURCES
from customer_status.pipeline import runs
from customer_status.pipeline.context import RunContext


def suite(name: str) -> dict:
    return json.loads((gx_imports.SUITES / f"{name}.json").read_text())


@pytest.mark.parametrize("source", [*SOURCES, "status_imports"])
def test_every_source_has_a_readable_suite(source):
    expectations = suite(source)["expectations"]
    assert all(e["meta"]["rule"] and e["meta"]["severity"] for e in expectations)
    if source == "status_imports":
        return
    checked = {(e["type"], e["kwargs"].get("column")) for e in expectations}
    for column in SOURCES[source].columns:
        if column.required:
            assert ("expect_column_values_to_not_be_null", column.name) in checked
        if column.kind == "enum":
            assert ("expect_column_values_to_be_in_set", column.name) in checked
        if column.kind == "timestamp":
            assert ("expect_column_values_to_be_between", column.name) in checked
    # one version of a key per file: grouped by the source's key (and version) and the load
    source_def = SOURCES[source]
    key = [*source_def.key, *([source_def.version_column] if source_def.version_column else [])]
    queries = [
        e["kwargs"]["unexpected_rows_query"]
        for e in expectations
        if e["type"] == "unexpected_rows_expectation"
    ]
    assert f"group by {', '.join(key)}, _load_id having" in " ".join(queries)


def test_gx_sql_path_on_duckdb_still_needs_and_accepts_the_patch():
    """docs/stack-notes.md: GX 1.24 closes its connection before fetching; duckdb must be treated as a
    persisted-connection dialect. If a GX upgrade moves these internals, fail here, loudly."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    assert hasattr(engine, "_PERSISTED_CONNECTION_DIALECTS")
    assert hasattr(engine, "_dialect_requires_persisted_connection")
    gx_imports.patch_gx_for_duckdb()
    assert "duckdb" in engine._PERSISTED_CONNECTION_DIALECTS
    assert engine._dialect_requires_persisted_connection(connection_string="duckdb:///x.duckdb")


@pytest.mark.parametrize("ahead", [False, True], ids=["started-cold", "started-ahead"])
def test_gx_catches_rows_that_slipped_past_ingestion(tmp_path, monkeypatch, ahead):
    """The same report whether the child starts when the step asks (a real Airflow task) or
    was started ahead while the ingest still held the file (``prepare``: a night run
    in-process)."""
    monkeypatch.setenv("CUSTOMER_STATUS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("CUSTOMER_STATUS_WORK_DIR", raising=False)
    ctx = RunContext("run-1", datetime(2026, 11, 1).date(), datetime(2026, 11, 2, 6, 0))
    ctx.paths.work_dir.mkdir(parents=True)
    monkeypatch.setattr(started_ahead, "_enabled", [ahead])
    with duckdb.connect(str(ctx.paths.work_db)) as con:
        gx_imports.prepare("run-1", ctx.started_at)  # as the ingest does, file held open
        ensure_raw_schema(con)
        runs.begin(con, ctx)
        con.execute(
            "insert into raw.ingest_ledger values (1, 'orders', 'orders/x.csv', 'sha', 10, 3, 3, 0, "
            "'loaded', null, 'run-1', '2026-11-01', '2026-11-02')"
        )
        con.execute("""
            insert into raw.orders (tenant_id, order_id, customer_id, created_at, amount, _source_file, _row_number, _load_id)
            values ('t1', 'o1', 'c1', '2026-10-01', 5.00, 'orders/x.csv', 1, 1),
                   ('t1', 'o2', 'c1', '2026-10-01', -1.00, 'orders/x.csv', 2, 1),
                   ('t1', 'o3', null, '2099-01-01', 3.00, 'orders/x.csv', 3, 1)
        """)
        con.execute(
            "insert into raw.ingest_ledger values (2, 'customers', 'customers/x.csv', 'sha2', 10, "
            "4, 4, 0, 'loaded', null, 'run-1', '2026-11-01', '2026-11-02')"
        )
        # c1: an email without a domain; c2: two versions of one key in one file; c3: an
        # identical repeat, which is one record (not a failure)
        con.execute("""
            insert into raw.customers (tenant_id, customer_id, email, created_at, _source_file, _row_number, _load_id)
            values ('t1', 'c1', 'ann-at-example.com', '2026-10-01', 'customers/x.csv', 1, 2),
                   ('t1', 'c2', 'bo@example.com', '2026-10-01', 'customers/x.csv', 2, 2),
                   ('t1', 'c2', 'bob@example.com', '2026-10-01', 'customers/x.csv', 3, 2),
                   ('t1', 'c3', 'cy@example.com', '2026-10-01', 'customers/x.csv', 4, 2),
                   ('t1', 'c3', 'cy@example.com', '2026-10-01', 'customers/x.csv', 5, 2)
        """)
    prepared = started_ahead.waiting("import checks")
    assert (prepared is not None) == ahead
    # as the validate_imports step runs it: a child process (its DuckDB handle dies with it)
    report = gx_imports.validate_in_child("run-1", ctx.started_at)
    if ahead:  # that child ran the checks
        assert prepared.returncode == 0 and started_ahead.waiting("import checks") is None
    failed = {
        (e["source"], e["rule"]): e["unexpected_count"]
        for e in report["results"]
        if not e["success"]
    }
    assert failed == {
        ("orders", "amount is not negative"): 1,
        ("orders", "customer_id is required"): 1,
        ("orders", "created_at is not later than the run's start (+1 h)"): 1,
        ("customers", "email is an email address (one @, a dot in the domain, no spaces)"): 1,
        ("customers", "one version of a key per file (identical repeats collapse)"): 1,
    }
    samples = {e["rule"]: e["sample"] for e in report["results"] if not e["success"]}
    assert samples["email is an email address (one @, a dot in the domain, no spaces)"] == [
        "('t1', 'c1', 'ann-at-example.com')"
    ]
    assert "c2" in samples["one version of a key per file (identical repeats collapse)"][0]
    assert report["data_docs"].endswith("index.html")
    # the GX handle is gone with its process: the file can be opened for writing at once
    duckdb.connect(str(ctx.paths.work_db)).close()
