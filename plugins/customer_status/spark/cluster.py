"""A local Spark standalone cluster from the pyspark wheel: master, one worker, Thrift server.

``customer-status spark start`` starts the three as background processes (each in its own
process group, pid files in the work area), with the Hive metastore (Derby), the warehouse
folder, the lake folder the nights export to and every log under ``<work area>/spark``, all
bound to 127.0.0.1 on free ports; it returns once the Thrift server answers a query.
``stop`` ends exactly the processes it started (pid files, checked against each process's
command line, whole process groups: the worker's executors too); ``status`` says which run.

The wheel ships no ``sbin`` scripts: the processes are started with its ``bin/spark-class``
(master, worker) and ``bin/spark-submit`` (``HiveThriftServer2``, ``spark-internal``).

A user with a cluster of their own sets ``CUSTOMER_STATUS_SPARK_THRIFT=host:port`` and never
runs ``start``; the lake folder must then be storage every worker and the Thrift server read
(``CUSTOMER_STATUS_SPARK_LAKE``), see the README's "Running on Spark".
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

THRIFT_ENV = "CUSTOMER_STATUS_SPARK_THRIFT"
LAKE_ENV = "CUSTOMER_STATUS_SPARK_LAKE"
HOST = "127.0.0.1"
# modest, the machine is shared: the Thrift server's driver and the one executor get 2g each
DRIVER_MEMORY = os.environ.get("CUSTOMER_STATUS_SPARK_DRIVER_MEMORY", "2g")
EXECUTOR_MEMORY = os.environ.get("CUSTOMER_STATUS_SPARK_EXECUTOR_MEMORY", "2g")
WORKER_CORES = os.environ.get("CUSTOMER_STATUS_SPARK_CORES", "2")
START_TIMEOUT_S = float(os.environ.get("CUSTOMER_STATUS_SPARK_START_TIMEOUT", "300"))

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
# start order; stop goes the other way
COMPONENTS = ("master", "worker", "thrift")
CLASSES = {"master": MASTER_CLASS, "worker": WORKER_CLASS, "thrift": THRIFT_CLASS}

# Session settings every Spark night relies on (also sent by dbt, profiles.yml):
# UTC inside (rules §1), no ANSI mode (dbt-spark 1.11 forces it off), Parquet timestamps
# as instants both ways.
SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
}


class SparkError(RuntimeError):
    """The cluster could not be started, reached or stopped; the message says why."""


@dataclass(frozen=True)
class Thrift:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def spark_dir(work_dir: Path) -> Path:
    return work_dir / "spark"


def lake_dir(work_dir: Path) -> Path:
    """Where a night exports the raw tables and reads the marts back (shared storage on a
    real cluster: ``CUSTOMER_STATUS_SPARK_LAKE``)."""
    configured = os.environ.get(LAKE_ENV, "").strip()
    return Path(configured).resolve() if configured else spark_dir(work_dir) / "lake"


def spark_home() -> Path:
    try:
        import pyspark
    except ImportError as exc:
        raise SparkError(
            "pyspark is not installed: `make install-spark` (or pip install "
            "'customer-status[spark]' with constraints.txt)"
        ) from exc
    return Path(pyspark.__file__).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _state_file(work_dir: Path) -> Path:
    return spark_dir(work_dir) / "cluster.json"


def _read_state(work_dir: Path) -> dict:
    path = _state_file(work_dir)
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def _alive(pid: int, component: str, work_dir: Path) -> bool:
    """True when ``pid`` is still the process we started (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return CLASSES[component] in cmdline and str(spark_dir(work_dir)) in cmdline


def _env(root: Path) -> dict[str, str]:
    home = spark_home()
    conf_dir = root / "conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_CONF_DIR": str(conf_dir),
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOG_DIR": str(root / "logs"),
        "SPARK_DAEMON_MEMORY": "512m",
        # the JVM processes must not inherit a pinned Python of a virtual env for PySpark
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", "python3"),
    }


def _commands(root: Path, state: dict) -> dict[str, list[str]]:
    home = spark_home()
    master_url = f"spark://{HOST}:{state['master_port']}"
    metastore = root / "metastore_db"
    conf = {
        "spark.master": master_url,
        "spark.driver.host": HOST,
        "spark.driver.bindAddress": HOST,
        "spark.driver.memory": DRIVER_MEMORY,
        "spark.executor.memory": EXECUTOR_MEMORY,
        "spark.cores.max": WORKER_CORES,
        "spark.ui.enabled": "false",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={metastore};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={root}",
        **SQL_CONF,
    }
    submit = [str(home / "bin" / "spark-submit"), "--class", THRIFT_CLASS]
    submit += ["--name", f"customer-status thrift ({root})"]
    for key, value in conf.items():
        submit += ["--conf", f"{key}={value}"]
    submit += [
        "spark-internal",
        "--hiveconf",
        f"hive.server2.thrift.port={state['thrift_port']}",
        "--hiveconf",
        f"hive.server2.thrift.bind.host={HOST}",
    ]
    return {
        "master": [
            str(home / "bin" / "spark-class"),
            MASTER_CLASS,
            "--host",
            HOST,
            "--port",
            str(state["master_port"]),
            "--webui-port",
            str(state["master_ui_port"]),
            "--properties-file",
            str(root / "conf" / "daemon.conf"),
        ],
        "worker": [
            str(home / "bin" / "spark-class"),
            WORKER_CLASS,
            "--host",
            HOST,
            "--webui-port",
            str(state["worker_ui_port"]),
            "--cores",
            WORKER_CORES,
            "--memory",
            EXECUTOR_MEMORY,
            "--work-dir",
            str(root / "worker"),
            "--properties-file",
            str(root / "conf" / "daemon.conf"),
            master_url,
        ],
        "thrift": submit,
    }


def status(work_dir: Path) -> dict[str, int | None]:
    """Each component's pid when it runs (as started by ``start`` in this work area)."""
    state = _read_state(work_dir)
    pids = state.get("pids", {})
    return {
        name: pids[name] if name in pids and _alive(pids[name], name, work_dir) else None
        for name in COMPONENTS
    }


def local_thrift(work_dir: Path) -> Thrift | None:
    """The Thrift address of the cluster ``start`` runs in this work area, if it runs."""
    state = _read_state(work_dir)
    if state and status(work_dir)["thrift"] is not None:
        return Thrift(HOST, int(state["thrift_port"]))
    return None


def thrift_address(work_dir: Path) -> Thrift:
    """Where the night's Spark is: ``CUSTOMER_STATUS_SPARK_THRIFT`` (a user's own cluster),
    else the local cluster started by ``customer-status spark start``."""
    configured = os.environ.get(THRIFT_ENV, "").strip()
    if configured:
        host, sep, port = configured.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise SparkError(f"{THRIFT_ENV}={configured!r}: expected host:port")
        return Thrift(host, int(port))
    local = local_thrift(work_dir)
    if local is None:
        raise SparkError(
            "no Spark cluster: run `customer-status spark start` (same --warehouse) or set "
            f"{THRIFT_ENV}=host:port to a cluster's Thrift server"
        )
    return local


USERNAME = "customer-status"


def connect(address: Thrift, timeout_s: float | None = None):
    """A PyHive connection to the Thrift server (plain SASL, no authentication)."""
    from pyhive import hive

    return hive.connect(
        host=address.host, port=address.port, username=USERNAME, configuration=SQL_CONF
    )


def sqlalchemy_engine_args(address: Thrift) -> tuple[str, dict]:
    """The same connection as ``connect`` for SQLAlchemy (PyHive's ``hive`` dialect): the URL
    and the engine arguments. Great Expectations' SQL datasource uses it to run the audits
    on the cluster (``checks.gx_runtime.cluster_datasource``)."""
    return (
        f"hive://{USERNAME}@{address.host}:{address.port}/default",
        {"connect_args": {"configuration": dict(SQL_CONF)}},
    )


def answers(address: Thrift) -> bool:
    try:
        with contextlib.closing(connect(address)) as con, contextlib.closing(con.cursor()) as cur:
            cur.execute("select 1")
            return cur.fetchall() == [(1,)]
    except Exception:
        return False


def _log_tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start(work_dir: Path, timeout_s: float = START_TIMEOUT_S) -> Thrift:
    """Start master, worker and Thrift server; return the Thrift address once it answers.

    Already running (all three): returns the address. Partly running: refuses (``stop``
    first). A component that dies or a Thrift server silent after ``timeout_s``: everything
    started is stopped again and the error names the log."""
    running = status(work_dir)
    if all(running.values()):
        address = local_thrift(work_dir)
        assert address is not None
        return address
    if any(running.values()):
        raise SparkError(
            "part of the local Spark cluster runs ("
            + ", ".join(f"{k} {v}" for k, v in running.items() if v)
            + "): `customer-status spark stop` first"
        )
    root = spark_dir(work_dir)
    for folder in ("logs", "warehouse", "worker", "conf"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "conf" / "daemon.conf").write_text("spark.ui.reverseProxy false\n")
    state = {
        "master_port": _free_port(),
        "master_ui_port": _free_port(),
        "worker_ui_port": _free_port(),
        "thrift_port": _free_port(),
        "pids": {},
    }
    commands = _commands(root, state)
    env = _env(root)
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name in COMPONENTS:
            log_file = root / "logs" / f"{name}.log"
            with log_file.open("ab") as out:
                procs[name] = subprocess.Popen(
                    commands[name],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    cwd=root,
                    start_new_session=True,  # its own process group: stop ends all of it
                )
            state["pids"][name] = procs[name].pid
            _state_file(work_dir).write_text(json.dumps(state, indent=2))
            if name == "master":
                _wait_port(HOST, state["master_port"], procs[name], log_file, timeout_s)
        address = Thrift(HOST, state["thrift_port"])
        _wait_thrift(address, procs, root / "logs", timeout_s)
        return address
    except BaseException:
        # the processes just started are ours for certain (their command line may not be
        # readable yet: a process is found by its pid file only once it runs the JVM)
        for proc in reversed(procs.values()):
            if proc.poll() is None:
                _kill_group(proc.pid, grace_s=10)
            _reap(proc.pid)
        stop(work_dir)
        raise


def _wait_port(host: str, port: int, proc: subprocess.Popen, log_file: Path, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SparkError(f"the Spark master exited ({log_file}):\n{_log_tail(log_file)}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.5)
    raise SparkError(f"the Spark master did not listen within {timeout_s:.0f}s ({log_file})")


def _wait_thrift(
    address: Thrift, procs: dict[str, subprocess.Popen], logs: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dead = [name for name, proc in procs.items() if proc.poll() is not None]
        if dead:
            log_file = logs / f"{dead[0]}.log"
            raise SparkError(f"Spark {dead[0]} exited ({log_file}):\n{_log_tail(log_file)}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection((address.host, address.port), timeout=1),
        ):
            if answers(address):
                return
        time.sleep(1)
    log_file = logs / "thrift.log"
    raise SparkError(
        f"the Spark Thrift server did not answer at {address} within {timeout_s:.0f}s "
        f"({log_file}):\n{_log_tail(log_file)}"
    )


def stop(work_dir: Path, grace_s: float = 30) -> list[str]:
    """Stop what ``start`` started here (Thrift server, worker, master: whole process
    groups), SIGTERM then SIGKILL after ``grace_s``. Returns what was stopped."""
    state = _read_state(work_dir)
    stopped = []
    for name in reversed(COMPONENTS):
        pid = state.get("pids", {}).get(name)
        if pid is None or not _alive(pid, name, work_dir):
            continue
        _kill_group(pid, grace_s)
        stopped.append(name)
    if state:
        state["pids"] = {}
        _state_file(work_dir).write_text(json.dumps(state, indent=2))
    return stopped


def _kill_group(pid: int, grace_s: float) -> None:
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    if pgid != pid:  # not the leader of its own group: only ever signal what we started
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _group_alive(pgid):
        _reap(pid)
        time.sleep(0.2)
    if _group_alive(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        time.sleep(0.5)
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our child (``start`` in this process)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _group_alive(pgid: int) -> bool:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # fields[0] is the state, [2] the process group; a zombie is already gone
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
