"""The night's report without a night (a failed one with little in its work file, the run
record, ``customer-status report``), and the short summary a night prints."""

from __future__ import annotations

import io
import logging
import warnings

import duckdb
import pytest
from rich.console import Console

from customer_status import report
from customer_status.checks.results import CheckResult
from customer_status.cli import main
from customer_status.report import record
from customer_status.settings import resolve_paths

RUN = "manual__2026-03-31T10:00:00+00:00"


@pytest.fixture()
def paths(tmp_path, monkeypatch):
    monkeypatch.delenv("CUSTOMER_STATUS_WORK_DIR", raising=False)
    return resolve_paths(tmp_path / "landing", tmp_path / "warehouse.duckdb")


def _failed_work_file(paths) -> duckdb.DuckDBPyConnection:
    """A work file of a night that failed at validate_imports: a run log, a ledger, no marts."""
    paths.work_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(paths.work_db))
    con.execute("create schema ops; create schema raw")
    con.execute(
        "create table ops.pipeline_runs as select * from (values "
        f"('{RUN}', date '2026-03-31', timestamp '2026-03-31 10:00:00', "
        " timestamp '2026-03-31 10:01:00', 'failed', 0, 1, false, 'validate_imports', "
        " 'ChecksFailed: 1 check(s) failed <b>')) t(run_id, as_of_date, started_at, finished_at, "
        "outcome, checks_passed, checks_failed, accepted_swing, failed_step, message)"
    )
    con.execute(
        "create table raw.ingest_ledger as select * from (values "
        f"('orders', 'orders/a.csv', 'loaded_with_rejects', '{RUN}')) t(source, file, outcome, run_id)"
    )
    con.execute(
        "create table raw.import_rejects as select * from (values "
        "('orders', 'orders/a.csv', 3, 'shop', 'amount x is not a number')) "
        "t(source, file, row_number, tenant_id, error)"
    )
    return con


def test_a_failed_night_gets_a_report_with_its_stages_checks_and_rejects(paths):
    record.stage(paths, RUN, "ingest", 1.25, ok=True)
    record.stage(paths, RUN, "validate_imports", 4.5, ok=False)
    record.checks(
        paths,
        RUN,
        "validate_imports",
        [
            CheckResult(
                "import_expectations[orders]",
                False,
                "amount between (1 rows)",
                sample=[("a.csv", 3, "-5")],
            ),
            CheckResult("import_expectations[customers]", True, "9 expectations passed"),
        ],
    )
    with _failed_work_file(paths) as con:
        path = report.write(paths, RUN, con)
    assert path == record.run_folder(paths, RUN) / "report.html"
    assert path.parent.name == "manual__2026-03-31T10_00_00_00_00"
    page = path.read_text(encoding="utf-8")
    assert "Nothing was published: step validate_imports" in page
    assert "1 check(s) failed &lt;b&gt;" in page  # escaped, never markup
    assert "This night did not build" in page
    assert "import_expectations[orders]" in page and "a.csv, 3, -5" in page
    assert "amount x is not a number" in page
    assert page.count('class="chart"') == 1  # the stage timings: no tenant figures exist
    assert "Plotly.newPlot" in page
    assert "<script src=" not in page  # plotly.js inlined: nothing fetched at view time


def test_the_report_command_prints_the_last_report_or_the_one_asked_for(paths, capsys):
    with _failed_work_file(paths) as con:
        first = report.write(paths, RUN, con)
        second = report.write(paths, "manual__2026-04-01T10:00:00+00:00", con)
    warehouse = ["--warehouse", str(paths.warehouse)]
    assert main(["report", *warehouse]) == 0
    assert capsys.readouterr().out.strip() == str(second)
    assert main(["report", "--run", RUN, *warehouse]) == 0
    assert capsys.readouterr().out.strip() == str(first)
    assert main(["report", "--run", "nope", *warehouse]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no report for run 'nope'" in err


def test_the_report_command_without_any_night_exits_2(paths, capsys):
    assert main(["report", "--warehouse", str(paths.warehouse)]) == 2
    assert "no night has written a report" in " ".join(capsys.readouterr().err.split())


def test_a_report_that_cannot_be_written_never_fails_the_night(paths, caplog):
    con = duckdb.connect(":memory:")
    con.close()  # any query fails
    with caplog.at_level(logging.WARNING, logger="customer_status"):
        assert report.write_safely(paths, RUN, con) is None
    assert "could not write the night's report" in caplog.text


# --- the short summary ----------------------------------------------------------------------


def _summary(verbose: bool) -> str:
    from customer_status.summary import NightHandler

    buffer = io.StringIO()
    handler = NightHandler(Console(file=buffer, width=300, highlight=False), verbose)
    log = logging.getLogger("customer_status.test_summary")
    dbt = logging.getLogger("customer_status.pipeline.build")
    for logger in (log, dbt):
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        log.info("[r] build: starting (as-of 2026-03-31)", extra={"stage_start": "build"})
        dbt.info("dbt | 1 of 112 OK created sql table model staging.stg_x")
        log.info("loaded   orders/a.csv   3 rows")
        log.info("PASS rows_reconcile: 1 file(s)", extra={"summary": True})
        log.warning("tenant 'x' is not declared in tenants: 1 row(s) held")
        log.info(
            "[r] build: done in 8.3s", extra={"summary": True, "stage": "build", "seconds": 8.3}
        )
    finally:
        for logger in (log, dbt):
            logger.handlers[:] = []
            logger.propagate = True
    return buffer.getvalue()


def test_the_summary_shows_stages_checks_and_warnings_but_not_dbt_or_file_lines():
    out = _summary(verbose=False)
    assert out.splitlines() == [
        "  PASS rows_reconcile: 1 file(s)",
        "  tenant 'x' is not declared in tenants: 1 row(s) held",
        "  build                8.3s",
    ]


def test_verbose_shows_every_line():
    out = _summary(verbose=True)
    assert "dbt | 1 of 112 OK" in out and "loaded   orders/a.csv" in out
    assert "build: starting" in out


def test_third_party_deprecation_warnings_are_kept_off_the_terminal(monkeypatch):
    from customer_status.summary import quiet_warnings

    monkeypatch.delenv("PYTHONWARNINGS", raising=False)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_warnings()
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
        warnings.warn(
            "Using `httpx` with `starlette.testclient` is deprecated", UserWarning, stacklevel=1
        )
        warnings.warn("a real problem", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["a real problem"]
    import os

    assert "ignore::DeprecationWarning" in os.environ["PYTHONWARNINGS"]


def test_record_failure_writes_the_failed_nights_report(paths, monkeypatch):
    """A night that failed (here at audit, with its check recorded) gets its report written by
    ``record_failure``, beside its run record, and the run log is published."""
    from datetime import date

    from customer_status.pipeline import nightly, runs

    monkeypatch.setenv("CUSTOMER_STATUS_LANDING", str(paths.landing))
    monkeypatch.setenv("CUSTOMER_STATUS_WAREHOUSE", str(paths.warehouse))
    monkeypatch.setenv("CUSTOMER_STATUS_WORK_DIR", str(paths.work_dir))
    ctx = nightly.new_context(RUN, date(2026, 3, 31))
    with _failed_work_file(paths) as con:
        con.execute("drop table ops.pipeline_runs")
        runs.begin(con, ctx)
        runs.finish(con, RUN, "failed", "audit", "ChecksFailed: billable_swing_within_limit")
    record.stage(paths, RUN, "audit", 0.2, ok=False)
    record.checks(
        paths, RUN, "audit", [CheckResult("billable_swing_within_limit", False, "4 -> 2")]
    )
    nightly.record_failure(ctx)
    page = (record.run_folder(paths, RUN) / "report.html").read_text(encoding="utf-8")
    assert "Nothing was published: step audit" in page
    assert "billable_swing_within_limit" in page and "4 -&gt; 2" in page
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("select outcome from marts.pipeline_runs").fetchall() == [("failed",)]
