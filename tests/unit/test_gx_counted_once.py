"""Issue 18: the import checks' unexpected-rows queries (the key-uniqueness grouping of every
loaded row) run once per validation, not twice, with the same verdict and failure message."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from customer_status.checks import gx_imports
from customer_status.ingest.loader import ensure_raw_schema
from customer_status.pipeline import runs
from customer_status.pipeline.context import RunContext

KEY_RULE = "one version of a key per file (identical repeats collapse)"


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMER_STATUS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("CUSTOMER_STATUS_WORK_DIR", raising=False)
    ctx = RunContext("run-1", datetime(2026, 11, 1).date(), datetime(2026, 11, 2, 6, 0))
    ctx.paths.work_dir.mkdir(parents=True)
    with duckdb.connect(str(ctx.paths.work_db)) as con:
        ensure_raw_schema(con)
        runs.begin(con, ctx)
        con.execute(
            "insert into raw.ingest_ledger values (1, 'engagement_events', 'e/x.csv', 'sha', 10, "
            "3, 3, 0, 'loaded', null, 'run-1', '2026-11-01', '2026-11-02')"
        )
    return ctx


def _insert_events(ctx, rows: str) -> None:
    with duckdb.connect(str(ctx.paths.work_db)) as con:
        con.execute(
            "insert into raw.engagement_events (tenant_id, event_id, customer_id, occurred_at, "
            f"_source_file, _row_number, _load_id) values {rows}"
        )


@pytest.fixture
def key_queries(monkeypatch):
    """Every statement GX sends that contains the engagement key-uniqueness query."""
    import sqlalchemy as sa

    gx_imports.import_gx()
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "group by tenant_id, event_id, _load_id having" in statement:
            seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def test_the_key_uniqueness_query_runs_once_when_it_passes(work, key_queries):
    _insert_events(
        work,
        "('t1', 'e1', 'c1', '2026-10-01', 'e/x.csv', 1, 1), "
        "('t1', 'e2', 'c1', '2026-10-01', 'e/x.csv', 2, 1), "
        "('t1', 'e2', 'c1', '2026-10-01', 'e/x.csv', 3, 1)",  # an identical repeat passes
    )
    report = gx_imports.validate("run-1", work.started_at)
    key = [e for e in report["results"] if e["rule"] == KEY_RULE]
    assert [(e["success"], e["unexpected_count"], e["expectation"]) for e in key] == [
        (True, 0, "unexpected_rows_expectation")
    ]
    assert len(key_queries) == 1, key_queries


def test_a_failing_key_check_reads_as_before(work, key_queries):
    _insert_events(
        work,
        "('t1', 'e1', 'c1', '2026-10-01', 'e/x.csv', 1, 1), "
        "('t1', 'e1', 'c2', '2026-10-01', 'e/x.csv', 2, 1)",
    )
    report = gx_imports.validate("run-1", work.started_at)
    [check] = gx_imports.check_results(report)
    assert not check.passed
    assert check.detail == f"{KEY_RULE} (1 rows)"
    assert "e1" in check.sample[0][0]
    # the count, then the 5 sample rows of the failure: the grouping is not run for rows GX
    # would throw away
    assert len(key_queries) == 2


def test_the_complete_result_format_still_gets_the_rows():
    gx = gx_imports.import_gx()
    from customer_status.checks.gx_counted_once import (
        COUNT_METRIC,
        ROWS_METRIC,
        UnexpectedRowsCountedOnce,
    )

    e = UnexpectedRowsCountedOnce(unexpected_rows_query="select * from {batch}")
    summary = e.get_validation_dependencies(runtime_configuration={"result_format": "SUMMARY"})
    complete = e.get_validation_dependencies(
        runtime_configuration={"result_format": {"result_format": "COMPLETE"}}
    )
    assert summary.get_metric_names() == [COUNT_METRIC]
    assert sorted(complete.get_metric_names()) == sorted([ROWS_METRIC, COUNT_METRIC])
    # GX's own expectation still asks for both (if this changes, the subclass may go)
    plain = gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query="select * from {batch}")
    assert sorted(plain.get_validation_dependencies().get_metric_names()) == sorted(
        [ROWS_METRIC, COUNT_METRIC]
    )


def test_a_night_that_loaded_nothing_starts_no_validation_child(work, monkeypatch):
    """Issue 18 (fixed cost): with no rows to check the step answers at once, as the child
    would have (no Python start-up, no GX import)."""
    from customer_status.checks import gx_runtime
    from customer_status.pipeline import nightly

    started: list[str] = []
    monkeypatch.setattr(gx_runtime, "start_child", lambda *a, **k: started.append(a[0]))
    with duckdb.connect(str(work.paths.work_db)) as con:  # the ledger's only file: no rows
        con.execute("update raw.ingest_ledger set rows_loaded = 0")
    assert nightly.validate_imports(work) == {"checks": 0, "data_docs": None}
    assert started == []
    assert gx_imports.validate("run-1", work.started_at) == gx_imports.NOTHING_TO_VALIDATE
