"""The DAG folder parsed once for the DAG tests (a DagBag with its own Airflow home)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="session")
def dagbag():
    home = tempfile.mkdtemp(prefix="airflow-home-")
    os.environ.setdefault("AIRFLOW_HOME", home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(DAGS))
