"""The publish task declares the published warehouse as an Airflow Asset, and the example
finance DAG is scheduled on it (a deployment's downstream DAGs run on a published night)."""

from __future__ import annotations


def test_only_the_publish_task_updates_the_published_warehouse_asset(dagbag):
    from customer_status.assets import PUBLISHED_WAREHOUSE

    assert dagbag.import_errors == {}
    nightly = dagbag.dags["customer_status_nightly"]
    outlets = {t: list(task.outlets) for t, task in nightly.task_dict.items() if task.outlets}
    assert outlets == {"publish": [PUBLISHED_WAREHOUSE]}
    assert PUBLISHED_WAREHOUSE.name == "customer_status_published_warehouse"


def test_the_finance_export_runs_on_the_published_warehouse(dagbag):
    from customer_status.assets import PUBLISHED_WAREHOUSE

    dag = dagbag.dags["customer_status_finance_export"]
    assert set(dag.task_dict) == {"export_month"}
    assert list(dag.timetable.asset_condition.objects) == [PUBLISHED_WAREHOUSE]
    assert dag.catchup is False and "customer-status" in dag.tags
