"""A real deployment on this machine, without Docker: PostgreSQL, then Airflow's api-server,
scheduler and dag-processor as separate processes, with docker-compose.yml's settings.

The environment of every component is x-airflow-common's from docker-compose.yml, with its
``${...}`` filled from a .env made from .env.example (every CHANGE-ME replaced by a fresh
secret): the settings cannot drift from the compose file. Only what names a container's
paths, host names and ports is replaced (``CONTAINER_ONLY``), and ``TEST_ONLY`` adds what a
shared test machine needs (free ports, a state folder per component, as containers have).
``airflow-init``'s own commands (passwords file, migrate, pool) run as the compose file says.

Everything lives under one temporary folder, listens on 127.0.0.1 only, and is stopped at the
end with every descendant (Airflow runs each task in its own process group).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
BIN = Path(sys.executable).parent
DAG_ID = "customer_status_nightly"
# the services the test starts, as docker-compose.yml names them (the triggerer has nothing
# to do for this DAG: no deferrable task)
COMPONENTS = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor")
MARKER = "CUSTOMER_STATUS_DEPLOY_TEST"  # in every component's environment, to find leftovers

# Keys of x-airflow-common's environment whose values are container paths, host names or
# ports: replaced by their equivalents here. Every other key reaches the components as the
# compose file sets it.
CONTAINER_ONLY = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
    "CUSTOMER_STATUS_LANDING",
    "CUSTOMER_STATUS_WAREHOUSE",
    "CUSTOMER_STATUS_DBT_PROJECT",
    "CUSTOMER_STATUS_DAGS_FOLDER",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_dotenv(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """docker compose's interpolation: ${X}, ${X:-default}, ${X-default}, ${X:?error}, $$."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.groups()
        current = env.get(name)
        if op in (":-", ":?") and not current or op in ("-", "?") and current is None:
            if op.endswith("?"):
                raise AssertionError(f"docker compose would refuse to start: {arg}")
            return arg
        return current or ""

    return _VARIABLE.sub(one, value)


def make_dotenv() -> dict[str, str]:
    """.env.example with every CHANGE-ME replaced, as the README tells a user to do."""
    values = read_dotenv(ENV_EXAMPLE)
    placeholders = [k for k, v in values.items() if v == "CHANGE-ME"]
    assert {"AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY"} <= set(placeholders), placeholders
    return {k: secrets.token_urlsafe(48) if v == "CHANGE-ME" else v for k, v in values.items()}


def postgres_bin(name: str) -> str:
    """A PostgreSQL server binary, from the folder of the installed ``initdb`` (Debian puts
    them in /usr/lib/postgresql/<version>/bin, outside PATH)."""
    initdb = shutil.which("initdb") or next(
        iter(sorted(glob("/usr/lib/postgresql/*/bin/initdb"))), None
    )
    if not initdb:
        pytest.fail(
            "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: make test (tools/install-system-packages) installs "
            "them (apt-get install postgresql)"
        )
    found = Path(initdb).resolve().parent / name
    assert found.exists(), f"{found} is missing beside {initdb}"
    return str(found)


@dataclass
class Deployment:
    root: Path
    dotenv: dict[str, str]
    compose: dict
    pg_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    seen: dict[int, psutil.Process] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    pg_data: Path | None = None
    as_postgres: list[str] = field(default_factory=list)
    ran_init: list[str] = field(default_factory=list)

    # ---- paths and environment -------------------------------------------------------------
    @property
    def landing(self) -> Path:
        return self.root / "data" / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "data" / "warehouse.duckdb"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def log(self, name: str) -> Path:
        return self.root / "component-logs" / f"{name}.log"

    def compose_environment(self) -> dict[str, str]:
        common = self.compose["x-airflow-common"]["environment"]
        return {key: interpolate(str(value), self.dotenv) for key, value in common.items()}

    def component_env(self, name: str) -> dict[str, str]:
        env = self.compose_environment()
        assert CONTAINER_ONLY <= set(env), f"docker-compose.yml lost {CONTAINER_ONLY - set(env)}"
        env.update(
            {
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
                    f"postgresql+psycopg2://airflow@127.0.0.1:{self.pg_port}/airflow"
                ),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                    self.root / "auth" / "passwords.json"
                ),
                "CUSTOMER_STATUS_LANDING": str(self.landing),
                "CUSTOMER_STATUS_WAREHOUSE": str(self.warehouse),
                "CUSTOMER_STATUS_DBT_PROJECT": str(ROOT / "dbt_project"),
                "CUSTOMER_STATUS_DAGS_FOLDER": str(ROOT / "dags"),
            }
        )
        # TEST_ONLY: what a shared test machine needs on top
        env.update(
            {
                # one state folder (and airflow.cfg) per component, as separate containers have
                "AIRFLOW_HOME": str(self.root / "homes" / name),
                # the ./logs volume: one folder every component sees
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.root / "logs"),
                # free ports instead of the containers' fixed ones (8974, 8793, 8794)
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                # the test triggers its own runs: no scheduled run when it unpauses the DAG
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "HOME": os.environ.get("HOME", str(self.root)),
                "LANG": "C.UTF-8",
                MARKER: str(self.root),
            }
        )
        Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
        return env

    # ---- PostgreSQL ------------------------------------------------------------------------
    def start_postgres(self) -> None:
        initdb, pg_ctl, createdb = (postgres_bin(n) for n in ("initdb", "pg_ctl", "createdb"))
        # initdb refuses to run as root: as root, run the server as the distribution's user,
        # in a folder of its own outside pytest's root-only tmp folders
        self.pg_data = Path(tempfile.mkdtemp(prefix="cs-deploy-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.pg_data, "postgres", "postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        data = self.pg_data / "data"
        self.run([*self.as_postgres, initdb, "-D", str(data), "--auth=trust", "-U", "airflow"], 120)
        options = f"-p {self.pg_port} -c listen_addresses=127.0.0.1 -k {self.pg_data}"
        self.run(
            [
                *self.as_postgres,
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "-l",
                str(self.pg_data / "server.log"),
                "start",
            ],
            90,
        )
        self.run(
            [createdb, "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "airflow", "airflow"], 30
        )

    def stop_postgres(self) -> None:
        if self.pg_data and (self.pg_data / "data" / "postmaster.pid").exists():
            subprocess.run(
                [
                    *self.as_postgres,
                    postgres_bin("pg_ctl"),
                    "-D",
                    str(self.pg_data / "data"),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "30",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )

    # ---- Airflow ---------------------------------------------------------------------------
    def run(self, cmd: list[str], timeout: float, env: dict | None = None) -> str:
        try:
            done = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"{shlex.join(cmd)} took more than {timeout}s") from exc
        assert done.returncode == 0, (
            f"{shlex.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
        return done.stdout

    def init(self) -> list[str]:
        """airflow-init's command, line by line: the container-only lines (mkdir, chown) are
        skipped; the passwords script and every ``airflow`` command run here."""
        script = self.compose["services"]["airflow-init"]["command"][-1]
        env = self.component_env("airflow-init")
        env.update(self.dotenv)  # airflow-init's env_file: .env
        ran = []
        for line in (raw.strip() for raw in script.splitlines()):
            if line.startswith("python ") and line.endswith("docker/simple_auth_passwords.py"):
                self.run(
                    [sys.executable, str(ROOT / "docker" / "simple_auth_passwords.py")], 30, env
                )
            elif line.startswith("airflow "):
                self.run([str(BIN / "airflow"), *shlex.split(line)[1:]], 300, env)
            else:
                continue
            ran.append(line)
        return ran

    def start(self, service: str) -> None:
        command = self.compose["services"][service]["command"]
        args = [str(BIN / "airflow"), command]
        if command == "api-server":  # compose publishes the container's 8080 on the host
            args += ["--host", "127.0.0.1", "--port", str(self.api_port)]
        self.log(service).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log(service), "wb") as out:
            self.processes[service] = subprocess.Popen(
                args,
                env=self.component_env(service),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root,
                start_new_session=True,
            )

    def logs(self, lines: int = 60) -> str:
        parts = []
        for name in self.processes:
            text = self.log(name).read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {name} (last {lines} lines) ---\n" + "\n".join(text))
        return "\n".join(parts)

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}\n{self.logs()}")

    def wait(self, what: str, timeout: float, probe, interval: float = 1.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            self.check_alive()
            self.remember_descendants()
            try:
                result = probe()
            except httpx.HTTPError as exc:
                result, last = None, exc
            if result:
                return result
            time.sleep(interval)
        pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last})\n{self.logs()}")

    # ---- REST API --------------------------------------------------------------------------
    def token(self, username: str, password: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/auth/token", json={"username": username, "password": password}, timeout=30
        )

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def published(self, sql: str, *params) -> list[tuple]:
        import duckdb

        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()

    def passwords_file(self) -> dict:
        return json.loads((self.root / "auth" / "passwords.json").read_text(encoding="utf-8"))

    # ---- stopping --------------------------------------------------------------------------
    def remember_descendants(self) -> None:
        for proc in self.processes.values():
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(proc.pid).children(recursive=True):
                    self.seen.setdefault(child.pid, child)

    def leftovers(self) -> list[psutil.Process]:
        """Every live process started for this deployment: the components, anything they
        started (even if re-parented), the PostgreSQL server."""
        left = []
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if proc.environ().get(MARKER) == str(self.root):
                    left.append(proc)
        pid_file = self.pg_data / "data" / "postmaster.pid" if self.pg_data else None
        if pid_file and pid_file.exists():
            with contextlib.suppress(ValueError, psutil.Error):
                left.append(psutil.Process(int(pid_file.read_text().split()[0])))
        return [p for p in left if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

    def stop(self) -> None:
        self.remember_descendants()
        for proc in self.processes.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        others = [p for p in self.seen.values() if p.is_running()] + self.leftovers()
        for proc in others:
            with contextlib.suppress(psutil.Error):
                if proc.environ().get(MARKER) == str(self.root):
                    proc.terminate()
        psutil.wait_procs([p for p in others if p.is_running()], timeout=10)
        for proc in [*self.processes.values()]:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for proc in self.leftovers():
            with contextlib.suppress(psutil.Error):
                if proc.environ().get(MARKER) == str(self.root):
                    proc.kill()
        self.stop_postgres()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy")
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    deploy = Deployment(root=root, dotenv=make_dotenv(), compose=compose)
    subprocess.run(
        [
            str(BIN / "customer-status"),
            "generate",
            "--out",
            str(deploy.landing),
            "--customers",
            "200",
            "--days",
            "30",
            "--end-date",
            "2026-11-01",
            "--seed",
            "14",
            "--quiet",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        deploy.start_postgres()
        deploy.ran_init = deploy.init()
        for service in COMPONENTS:
            deploy.start(service)
        deploy.wait(
            "the api-server",
            120,
            lambda: httpx.get(f"{deploy.url}/api/v2/monitor/health", timeout=5).status_code == 200,
        )
        yield deploy
    finally:
        deploy.stop()
        if deploy.pg_data:
            shutil.rmtree(deploy.pg_data, ignore_errors=True)
