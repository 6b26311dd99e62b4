"""The DAG folder imports cleanly and the nightly DAG is wired as documented."""

from __future__ import annotations

from datetime import UTC

import pytest


def test_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}, f"import errors: {dagbag.import_errors}"
    assert "customer_status_nightly" in dagbag.dag_ids


def test_nightly_dag_shape(dagbag):
    dag = dagbag.dags["customer_status_nightly"]
    assert set(dag.task_dict) == {
        "ingest",
        "validate_imports",
        "build",
        "audit",
        "publish",
        "record_failure",
    }
    assert dag.task_dict["validate_imports"].upstream_task_ids == {"ingest"}
    assert dag.task_dict["build"].upstream_task_ids == {"validate_imports"}
    assert dag.task_dict["audit"].upstream_task_ids == {"build"}
    assert dag.task_dict["publish"].upstream_task_ids == {"audit"}
    assert dag.task_dict["record_failure"].trigger_rule == "one_failed"
    assert dag.task_dict["record_failure"].upstream_task_ids == {
        "ingest",
        "validate_imports",
        "build",
        "audit",
        "publish",
    }
    assert "customer-status" in (dag.tags or []), "the DAG must be tagged customer-status"
    assert dag.max_active_runs == 1 and dag.max_active_tasks == 1
    assert dag.catchup is False


def test_writing_tasks_share_the_one_slot_pool_and_ingest_retries(dagbag):
    dag = dagbag.dags["customer_status_nightly"]
    pools = {task_id: getattr(task, "pool", None) for task_id, task in dag.task_dict.items()}
    assert set(pools.values()) == {"customer_status_duckdb"}, f"pools: {pools}"
    retries = getattr(dag.task_dict["ingest"], "retries", 0) or 0
    assert retries >= 1, "ingest must retry (transient file-system errors)"


def test_as_of_date_is_the_day_before_the_logical_date():
    from datetime import date, datetime

    from customer_status.pipeline.context import as_of_date_for

    fired = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert as_of_date_for(None, fired) == date(2026, 4, 30)
    assert as_of_date_for("2026-03-05", fired) == date(2026, 3, 5)
    with pytest.raises(ValueError, match="not a date"):
        as_of_date_for("05/03/2026", fired)
