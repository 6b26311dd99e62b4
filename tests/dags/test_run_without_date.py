"""A run triggered with neither an ``as_of_date`` param nor a logical date (possible over the
REST API and from the UI in Airflow 3) fails once, with the reason, and reaches
``marts.pipeline_runs``: no retries of ``ingest``, no crash of ``record_failure``.

The DAG's task functions are called directly with the context Airflow gives them (no
``logical_date`` key for such a run), on a fresh work area in tmp_path."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from customer_status.pipeline.context import RunContext, RunDateError, as_of_date_for

DAGS = Path(__file__).resolve().parents[2] / "dags"


def test_no_param_and_no_logical_date_is_a_clear_error():
    with pytest.raises(RunDateError, match=r"no as_of_date param and no logical date") as err:
        as_of_date_for(None, None)
    assert '{"as_of_date": "YYYY-MM-DD"}' in str(err.value), "the message says how to trigger"
    with pytest.raises(RunDateError, match="not a date"):
        as_of_date_for("31/03/2026", None)
    # a param wins over the logical date, and is enough on its own
    assert as_of_date_for("2026-03-31", None) == date(2026, 3, 31)
    assert as_of_date_for(None, datetime(2026, 4, 1, 12, tzinfo=UTC)) == date(2026, 3, 31)


def test_a_context_without_a_date_travels_between_tasks():
    ctx = RunContext("r1", None, datetime(2026, 4, 1, 12, 0))
    assert RunContext.from_dict(ctx.to_dict()) == ctx


@pytest.fixture
def dag(tmp_path, monkeypatch):
    home = tempfile.mkdtemp(prefix="airflow-home-")
    os.environ.setdefault("AIRFLOW_HOME", home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("CUSTOMER_STATUS_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("CUSTOMER_STATUS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("CUSTOMER_STATUS_WORK_DIR", str(tmp_path / "work"))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(DAGS))
    assert bag.import_errors == {}
    return bag.dags["customer_status_nightly"]


@pytest.mark.parametrize(
    ("as_of_param", "reason"),
    [(None, "no as_of_date param and no logical date"), ("31/03/2026", "not a date")],
)
def test_ingest_fails_once_and_the_failure_is_published(dag, tmp_path, as_of_param, reason):
    from airflow.sdk.exceptions import AirflowFailException

    # what Airflow passes for a manual run without a logical date: no "logical_date" key
    context = {"params": {"as_of_date": as_of_param, "accept_swing": False}, "run_id": "manual_1"}

    # AirflowFailException: the task fails at once, whatever its retries
    with pytest.raises(AirflowFailException, match=reason):
        dag.task_dict["ingest"].python_callable(**context)
    with pytest.raises(AirflowFailException, match=reason) as failed:
        dag.task_dict["record_failure"].python_callable(**context)
    assert "failed at step ingest" in str(failed.value)

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select run_id, as_of_date, outcome, failed_step, message, finished_at is not null "
            "from marts.pipeline_runs"
        ).fetchall()
    assert len(rows) == 1, rows
    run_id, as_of, outcome, failed_step, message, finished = rows[0]
    assert (run_id, as_of, outcome, failed_step, finished) == (
        "manual_1",
        None,
        "failed",
        "ingest",
        True,
    )
    assert reason in message and "trigger" in message, message
