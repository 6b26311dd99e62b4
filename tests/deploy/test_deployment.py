"""The deployment of docker-compose.yml, run without Docker (see conftest.py): a login is
required, a run triggered over the REST API for a date publishes, a run triggered with no date
fails once with the reason recorded, and stopping leaves no process behind.

The tests run in order on one deployment (module fixture); the last one stops it."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.deploy

DAG_ID = "customer_status_nightly"

AS_OF = "2026-11-01"
RUN_TIMEOUT = 240  # seconds for a night of 200 customers on a loaded 2-core machine


@pytest.fixture(scope="module")
def token(deployment) -> str:
    users = dict(u.split(":") for u in deployment.dotenv["AIRFLOW_UI_USERS"].split(","))
    username = next(u for u, role in users.items() if role == "admin")
    response = deployment.token(username, deployment.dotenv["AIRFLOW_UI_PASSWORD_ADMIN"])
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def wait_for_run(deployment, api: httpx.Client, run_id: str) -> dict:
    def finished():
        run = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}").raise_for_status().json()
        return run if run["state"] in ("success", "failed") else None

    return deployment.wait(f"DAG run {run_id} to finish", RUN_TIMEOUT, finished, interval=2)


def task_instances(api: httpx.Client, run_id: str) -> dict[str, dict]:
    body = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances").raise_for_status().json()
    return {ti["task_id"]: ti for ti in body["task_instances"]}


def trigger(api: httpx.Client, body: dict) -> str:
    response = api.post(f"/dags/{DAG_ID}/dagRuns", json=body)
    assert response.status_code == 200, response.text
    return response.json()["dag_run_id"]


def test_init_ran_the_compose_files_commands(deployment):
    assert deployment.ran_init == [
        "python /opt/customer-status/docker/simple_auth_passwords.py",
        "airflow db migrate",
        'airflow pools set customer_status_duckdb 1 "one writer per DuckDB file"',
    ]
    assert deployment.passwords_file() == {"admin": deployment.dotenv["AIRFLOW_UI_PASSWORD_ADMIN"]}


def test_the_ui_and_the_api_need_a_login(deployment):
    assert httpx.get(f"{deployment.url}/api/v2/dags", timeout=30).status_code == 401
    # no token without credentials (ALL_ADMINS is off) nor with a wrong password
    assert httpx.get(f"{deployment.url}/auth/token", timeout=30).status_code == 403
    assert deployment.token("admin", "not-the-password").status_code == 401
    # docker-compose.yml's health check of the api-server needs no login
    assert httpx.get(f"{deployment.url}/api/v2/version", timeout=30).status_code == 200


def test_a_run_triggered_for_a_date_publishes(deployment, token):
    with deployment.api(token) as api:

        def parsed():
            response = api.get(f"/dags/{DAG_ID}")
            return response.json() if response.status_code == 200 else None

        dag = deployment.wait("the dag-processor to parse the DAG", 180, parsed, interval=2)
        assert dag["is_paused"] is True, "the DAG must start paused (README)"
        api.patch(f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()

        run_id = trigger(api, {"logical_date": None, "conf": {"as_of_date": AS_OF}})
        run = wait_for_run(deployment, api, run_id)
        tis = task_instances(api, run_id)
        assert run["state"] == "success", (
            f"{ {t: ti['state'] for t, ti in tis.items()} }\n{deployment.logs()}"
        )
        assert {t: ti["state"] for t, ti in tis.items()} == {
            "ingest": "success",
            "validate_imports": "success",
            "build": "success",
            "audit": "success",
            "publish": "success",
            "record_failure": "skipped",
        }
        # the task log is readable through the api-server (shared logs, shared secret key)
        log = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/ingest/logs/1")
        assert log.status_code == 200 and "ingest summary" in log.text, log.text[-2000:]

    assert deployment.published(
        "select as_of_date::varchar, outcome, checks_failed from marts.pipeline_runs "
        "where run_id = ?",
        run_id,
    ) == [(AS_OF, "published", 0)]
    [(customers, latest)] = deployment.published(
        "select count(*), max(as_of_date)::varchar from marts.customer_status"
    )
    assert customers > 0 and latest == AS_OF


def test_a_run_triggered_without_a_date_fails_once_with_the_reason(deployment, token):
    [(customers_before,)] = deployment.published("select count(*) from marts.customer_status")
    with deployment.api(token) as api:
        run_id = trigger(api, {"logical_date": None})
        run = wait_for_run(deployment, api, run_id)
        tis = task_instances(api, run_id)
    assert run["state"] == "failed"
    ingest = tis["ingest"]
    assert (ingest["state"], ingest["try_number"]) == ("failed", 1), "no retry of ingest"
    assert tis["record_failure"]["state"] == "failed"  # it ran, recorded, and failed the run
    assert tis["validate_imports"]["state"] == "upstream_failed"

    [(as_of, outcome, failed_step, message)] = deployment.published(
        "select as_of_date, outcome, failed_step, message from marts.pipeline_runs "
        "where run_id = ?",
        run_id,
    )
    assert (as_of, outcome, failed_step) == (None, "failed", "ingest")
    assert "no as_of_date param and no logical date" in message, message
    assert deployment.published("select count(*) from marts.customer_status") == [
        (customers_before,)
    ], "a failed run leaves the published tables as they were"


def test_stopping_leaves_no_process(deployment):
    deployment.stop()
    assert all(p.poll() is not None for p in deployment.processes.values())
    left = deployment.leftovers()
    assert left == [], [(p.pid, p.cmdline()) for p in left]
    assert not (deployment.pg_data / "data" / "postmaster.pid").exists()
