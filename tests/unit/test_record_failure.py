"""Issue 14.1: the failure of a run always names the step and the reason, never ``?``.

``nightly.record_failure`` runs as the DAG's last task when a step failed. A step that
failed before it could record why (for example while opening the working file) used to
leave the run log without a step, and the command printed ``step: ?``."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest

from customer_status.pipeline import nightly, runs
from customer_status.pipeline.context import RunContext

CTX = RunContext("manual__1", date(1998, 6, 30), datetime(2026, 12, 1, 10, 0, 0))


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMER_STATUS_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("CUSTOMER_STATUS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("CUSTOMER_STATUS_WORK_DIR", raising=False)
    paths = CTX.paths
    paths.work_dir.mkdir(parents=True)
    return paths


def published_runs(paths) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(
            "select run_id, outcome, failed_step, message from marts.pipeline_runs"
        ).fetchall()


def test_a_step_that_failed_without_recording_why_is_named(work, monkeypatch):
    with nightly.work_db(work) as con:
        runs.begin(con, CTX)  # the run started; its ingest task then died unrecorded
    monkeypatch.setattr(nightly, "_failed_tasks", lambda run_id: ["ingest"], raising=False)
    reason = nightly.record_failure(CTX)
    assert "failed at step ingest: task(s) ingest failed before recording why" in reason
    assert "?" not in reason
    [(run_id, outcome, step, message)] = published_runs(work)
    assert (run_id, outcome, step) == ("manual__1", "failed", "ingest")
    assert message.startswith("task(s) ingest failed before recording why")


def test_a_run_that_never_started_still_gets_a_row_with_a_step(work, monkeypatch):
    monkeypatch.setattr(nightly, "_failed_tasks", lambda run_id: [], raising=False)
    reason = nightly.record_failure(CTX)
    assert "failed at step dag_run: a task failed before recording why" in reason
    [(_, outcome, step, message)] = published_runs(work)
    assert (outcome, step) == ("failed", "dag_run")
    assert "see the task logs" in message


def test_a_recorded_failure_keeps_its_step_and_reason(work, monkeypatch):
    with nightly.work_db(work) as con:
        runs.begin(con, CTX)
        runs.finish(con, CTX.run_id, "failed", "audit", "ChecksFailed: 1 check(s) failed")
    monkeypatch.setattr(nightly, "_failed_tasks", lambda run_id: ["audit"], raising=False)
    reason = nightly.record_failure(CTX)
    assert "failed at step audit: ChecksFailed: 1 check(s) failed" in reason
    assert published_runs(work) == [
        ("manual__1", "failed", "audit", "ChecksFailed: 1 check(s) failed")
    ]
