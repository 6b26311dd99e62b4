"""Run the real Airflow DAG in this process: no server, no scheduler, no manual migrate.

Airflow's metadata database is a SQLite file in the work area (created on first use);
``dag.test()`` runs every task of ``customer_status_nightly`` in order, here. The same DAG
file runs unchanged under a real deployment (``docker-compose.yml``).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime, time, timedelta

from ..settings import Paths

log = logging.getLogger(__name__)

DAG_ID = "customer_status_nightly"


def configure_airflow(paths: Paths, quiet: bool = True) -> None:
    """Point Airflow at the project's DAG folder and a metadata DB in the work area.

    Must run before ``airflow`` is first imported in this process.
    """
    paths.airflow_home.mkdir(parents=True, exist_ok=True)
    paths.export_env()
    env = {
        "AIRFLOW_HOME": str(paths.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(paths.dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{paths.airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING" if quiet else "INFO",
        "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS": "True",
    }
    os.environ.update(env)


def _migrate_if_needed(paths: Paths) -> None:
    from airflow.utils import db

    marker = paths.airflow_home / ".migrated-3.3.2"
    if not marker.exists():
        log.info("creating Airflow's metadata database in %s (first run only)", paths.airflow_home)
        db.initdb()
        marker.touch()


def load_dag(paths: Paths):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(paths.dags_folder))
    if bag.import_errors:
        raise RuntimeError(f"the DAG folder has import errors: {bag.import_errors}")
    dag = bag.dags.get(DAG_ID)
    if dag is None:
        raise RuntimeError(f"DAG {DAG_ID} not found in {paths.dags_folder}")
    return dag


def logical_date_for(as_of: date) -> datetime:
    """The logical date of the scheduled run that computes ``as_of`` (see the DAG's doc)."""
    return datetime.combine(as_of + timedelta(days=1), time(12, 0), tzinfo=UTC)


def run_dates(
    paths: Paths, dates: list[date], accept_swing: bool = False
) -> list[tuple[date, str, str]]:
    """Run the DAG for each date in order; stop at the first failure.

    Returns (as-of date, DAG run state, run id) for each run made.
    """
    _migrate_if_needed(paths)
    dag = load_dag(paths)
    made = []
    for as_of in dates:
        dag_run = dag.test(
            logical_date=logical_date_for(as_of),
            run_conf={"as_of_date": as_of.isoformat(), "accept_swing": accept_swing},
        )
        state = str(getattr(dag_run.state, "value", dag_run.state))
        made.append((as_of, state, dag_run.run_id))
        if state != "success":
            break
    return made
