"""customer_status_nightly: ingest -> validate_imports -> build -> audit -> publish, nightly.

The DAG only wires steps together; the work lives in ``customer_status.pipeline.nightly``.

- **Which day**: the run that fires at 12:00 UTC on day X computes X-1, the day that just
  ended everywhere (12:00 UTC is after the end of X-1 in every time zone down to UTC-12).
  The ``as_of_date`` param overrides it (``customer-status run --date D`` sets it), for
  any day from 1900-01-01 on (``start_date`` is 1899-12-31: Airflow runs no task for a
  logical date before it).
- **One writer**: every task uses the one-slot pool ``customer_status_duckdb``, and
  ``max_active_runs=1`` / ``max_active_tasks=1`` keep runs and tasks in single file.
- **Write, audit, publish**: ``validate_imports`` checks the loaded rows with the Great
  Expectations suites in ``expectations/`` (Data Docs in the work area), ``audit`` checks the
  candidate tables; nothing reaches the published warehouse before both pass; if any step fails, ``record_failure`` adds the failed run to
  ``marts.pipeline_runs``, leaves every other published table as it was, and fails the DAG
  run with the failed step and its reason.
- Paths come from ``CUSTOMER_STATUS_LANDING`` / ``CUSTOMER_STATUS_WAREHOUSE`` (and
  optionally ``CUSTOMER_STATUS_WORK_DIR``), as under ``docker-compose.yml``.
- Per-tenant files: the ``publish_per_tenant`` / ``publish_pii`` params, else
  ``CUSTOMER_STATUS_PUBLISH_PER_TENANT`` / ``CUSTOMER_STATUS_PUBLISH_PII``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from customer_status.assets import PUBLISHED_WAREHOUSE
from customer_status.pipeline import nightly
from customer_status.pipeline.context import RunContext, RunDateError, as_of_date_for

WRITER_POOL = "customer_status_duckdb"


def run_context(context, refused_ok: bool = False) -> RunContext:
    """This DAG run's id, as-of date and swing acceptance, from Airflow's task context.

    A run without a usable date (no ``as_of_date`` param and no logical date, or a param that
    is not a date) is recorded as failed at ``ingest`` with the reason, and the task fails at
    once (``AirflowFailException``: retrying cannot give it a date). ``record_failure`` passes
    ``refused_ok`` to get the context of such a run (as-of date None) and publish it.
    """
    params = context["params"]
    try:
        as_of = as_of_date_for(params.get("as_of_date"), context.get("logical_date"))
    except RunDateError as exc:
        ctx = nightly.new_context(
            run_id=context["run_id"], as_of_date=None, accept_swing=bool(params.get("accept_swing"))
        )
        if refused_ok:
            return ctx
        nightly.refuse(ctx, f"{type(exc).__name__}: {exc}")
        raise AirflowFailException(str(exc)) from exc
    return nightly.new_context(
        run_id=context["run_id"], as_of_date=as_of, accept_swing=bool(params.get("accept_swing"))
    )


@dag(
    dag_id="customer_status_nightly",
    schedule="0 12 * * *",
    # Any as-of date from 1900-01-01 on can be computed: Airflow runs no task for a logical
    # date before start_date (and calls the DAG run a success). catchup=False: a new
    # deployment starts at the latest tick, it never backfills from 1900.
    start_date=pendulum.datetime(1899, 12, 31, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,
    tags=["customer-status"],
    doc_md=__doc__,
    default_args={
        "owner": "customer-status",
        "pool": WRITER_POOL,
        "retries": 0,
    },
    params={
        "as_of_date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Day to compute (YYYY-MM-DD); empty = the day before the logical date.",
        ),
        "accept_swing": Param(
            False,
            type="boolean",
            description="Accept a billable-count swing above the tenant's max_billable_swing "
            "for this run only (recorded in marts.pipeline_runs).",
        ),
        "engine": Param(
            None,
            type=["null", "string"],
            enum=[None, "duckdb", "spark"],
            description="Where dbt builds the night: duckdb or spark (a cluster's Thrift "
            "server); empty = $CUSTOMER_STATUS_ENGINE, else duckdb.",
        ),
        "publish_per_tenant": Param(
            None,
            type=["null", "boolean"],
            description="Also publish one file per tenant, <warehouse dir>/tenants/<tenant_id>"
            ".duckdb, with only its rows; empty = $CUSTOMER_STATUS_PUBLISH_PER_TENANT, else no.",
        ),
        "publish_pii": Param(
            None,
            type=["null", "string"],
            enum=[None, "full", "none"],
            description="Personal data (email, phone, name, code) in the per-tenant files: "
            "full or none; empty = $CUSTOMER_STATUS_PUBLISH_PII, else full.",
        ),
    },
)
def customer_status_nightly():
    @task(retries=2, retry_delay=timedelta(seconds=30))
    def ingest(**context) -> dict:
        ctx = run_context(context)
        summary = nightly.ingest(ctx)
        return {"context": ctx.to_dict(), "ingest": summary}

    @task
    def validate_imports(run: dict) -> dict:
        nightly.validate_imports(RunContext.from_dict(run["context"]))
        return run

    @task
    def build(run: dict, **context) -> dict:
        nightly.build(RunContext.from_dict(run["context"]), engine=context["params"].get("engine"))
        return run

    @task
    def audit(run: dict) -> dict:
        nightly.audit(RunContext.from_dict(run["context"]))
        return run

    @task(outlets=[PUBLISHED_WAREHOUSE])  # downstream DAGs run on a published night
    def publish(run: dict, **context) -> None:
        params = context["params"]
        nightly.publish(
            RunContext.from_dict(run["context"]),
            per_tenant=params.get("publish_per_tenant"),
            pii=params.get("publish_pii"),
        )

    @task(trigger_rule="one_failed", retries=0)
    def record_failure(**context) -> None:
        """Runs only when a step failed: record it, then fail the DAG run with the reason."""
        reason = nightly.record_failure(run_context(context, refused_ok=True))
        raise AirflowFailException(reason)

    ingested = ingest()
    validated = validate_imports(ingested)
    built = build(validated)
    audited = audit(built)
    published = publish(audited)
    [ingested, validated, built, audited, published] >> record_failure()


customer_status_nightly()
