"""docker-compose.yml as written (no Docker engine here to run it: test_deployment.py runs its
settings without Docker): shared secrets, a login, a logs volume, small resource settings,
the UI on 127.0.0.1 unless .env says otherwise, and every variable it reads in .env.example."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
COMMON = COMPOSE["x-airflow-common"]
ENV = COMMON["environment"]
EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")
EXAMPLE_KEYS = {
    line.split("=", 1)[0] for line in EXAMPLE.splitlines() if line and not line.startswith("#")
}


def test_every_component_shares_the_secrets_from_env():
    # required: compose refuses to start without them (${X:?message})
    assert re.fullmatch(r"\$\{AIRFLOW_JWT_SECRET:\?.+\}", ENV["AIRFLOW__API_AUTH__JWT_SECRET"])
    assert re.fullmatch(r"\$\{AIRFLOW_API_SECRET_KEY:\?.+\}", ENV["AIRFLOW__API__SECRET_KEY"])
    airflow = [s for s in COMPOSE["services"] if s.startswith("airflow-")]
    assert len(airflow) == 5
    for name in airflow:
        env = COMPOSE["services"][name]["environment"]
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == ENV["AIRFLOW__API_AUTH__JWT_SECRET"], name
        assert env["AIRFLOW__API__SECRET_KEY"] == ENV["AIRFLOW__API__SECRET_KEY"], name


def test_the_ui_needs_a_login_and_listens_on_localhost():
    assert str(ENV.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "false")).lower() == "false"
    assert "${AIRFLOW_UI_USERS" in ENV["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"]
    passwords = ENV["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert any(passwords.startswith(v.split(":")[1] + "/") for v in COMMON["volumes"]), (
        "the passwords file must be on a volume every component mounts"
    )
    assert "simple_auth_passwords.py" in COMPOSE["services"]["airflow-init"]["command"][-1]
    assert COMPOSE["services"]["airflow-init"]["env_file"] == ".env"
    [port] = COMPOSE["services"]["airflow-apiserver"]["ports"]
    assert port == "${AIRFLOW_UI_ADDRESS:-127.0.0.1}:${AIRFLOW_UI_PORT:-8080}:8080"
    assert "AIRFLOW_UI_ADDRESS=127.0.0.1" in EXAMPLE.splitlines()


def test_task_logs_are_shared_and_resources_are_bounded():
    assert "./logs:/opt/airflow/logs" in COMMON["volumes"]
    assert 1 <= int(ENV["AIRFLOW__CORE__PARALLELISM"]) <= 4
    assert ENV["CUSTOMER_STATUS_DUCKDB_MEMORY_LIMIT"].startswith(
        "${CUSTOMER_STATUS_DUCKDB_MEMORY_LIMIT:-"
    )
    assert str(ENV["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"]).lower() == "true"


def test_env_example_has_every_variable_the_compose_file_reads():
    read = set(re.findall(r"(?<!\$)\$\{(\w+)", COMPOSE_TEXT))
    assert read - EXAMPLE_KEYS == set(), f"missing from .env.example: {read - EXAMPLE_KEYS}"
    assert "COPY --chown=airflow:root docker /opt/customer-status/docker" in (
        ROOT / "docker" / "Dockerfile"
    ).read_text(encoding="utf-8")


@pytest.fixture
def passwords_script():
    spec = importlib.util.spec_from_file_location(
        "simple_auth_passwords", ROOT / "docker" / "simple_auth_passwords.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_init_refuses_placeholders_and_writes_the_passwords(
    passwords_script, tmp_path, monkeypatch
):
    target = tmp_path / "auth" / "passwords.json"
    env = {
        "AIRFLOW__API_AUTH__JWT_SECRET": "CHANGE-ME",
        "AIRFLOW__API__SECRET_KEY": "short",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,alice.b:viewer,bob:boss",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(target),
        "AIRFLOW_UI_PASSWORD_ADMIN": "CHANGE-ME",
        "AIRFLOW_UI_PASSWORD_ALICE_B": "a-long-enough-password",
    }
    problems, _ = passwords_script.problems_and_passwords(env)
    text = "\n".join(problems)
    assert "AIRFLOW_JWT_SECRET" in text and "AIRFLOW_API_SECRET_KEY" in text
    assert "AIRFLOW_UI_PASSWORD_ADMIN" in text and "'bob:boss'" in text
    assert "ALICE_B" not in text

    env.update(
        {
            "AIRFLOW__API_AUTH__JWT_SECRET": "j" * 64,
            "AIRFLOW__API__SECRET_KEY": "k" * 64,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,alice.b:viewer",
            "AIRFLOW_UI_PASSWORD_ADMIN": "the-admin-password",
        }
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert passwords_script.main() == 0
    assert json.loads(target.read_text()) == {
        "admin": "the-admin-password",
        "alice.b": "a-long-enough-password",
    }
    assert target.stat().st_mode & 0o077 == 0, "the passwords file is for its owner only"
