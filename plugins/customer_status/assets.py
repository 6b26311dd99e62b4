"""The Airflow Asset of the published warehouse: the nightly DAG's ``publish`` task updates it.

A deployment schedules downstream DAGs on it (``schedule=[PUBLISHED_WAREHOUSE]``): they run
after each night that published, never after a failed one (``publish`` does not run then).
``dags/customer_status_finance_export.py`` is the example. The asset is named, not tied to a
path: every deployment's warehouse file is "the published warehouse".
"""

from __future__ import annotations

from airflow.sdk import Asset

PUBLISHED_WAREHOUSE = Asset(
    name="customer_status_published_warehouse",
    uri="file:///customer-status/warehouse.duckdb",
    group="customer-status",
    extra={"schema": "marts"},
)
