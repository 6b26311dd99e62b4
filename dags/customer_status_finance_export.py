"""customer_status_finance_export: the month's billing file of every tenant, after each
published night (an example of a DAG scheduled on the published warehouse's Asset).

It runs whenever ``customer_status_nightly``'s ``publish`` task updates the asset
``customer_status_published_warehouse`` (a failed night publishes nothing, so it does not
run), and writes, per tenant, what ``customer-status billing --tenant T --out FILE`` writes:
the latest complete month's figures and every restatement of it, to
``<warehouse dir>/exports/billing/<tenant>-<YYYY-MM>.csv``. It reads the published warehouse
read-only, so it never blocks a night.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from customer_status.assets import PUBLISHED_WAREHOUSE


@dag(
    dag_id="customer_status_finance_export",
    schedule=[PUBLISHED_WAREHOUSE],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["customer-status", "example"],
    doc_md=__doc__,
    default_args={"owner": "customer-status", "retries": 1},
)
def customer_status_finance_export():
    @task
    def export_month() -> list[str]:
        from customer_status.billing import export_all_tenants
        from customer_status.settings import resolve_paths

        paths = resolve_paths()
        return [
            str(p)
            for p in export_all_tenants(
                paths.warehouse, paths.warehouse.parent / "exports" / "billing"
            )
        ]

    export_month()


customer_status_finance_export()
