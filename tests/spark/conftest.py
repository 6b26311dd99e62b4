"""tests/spark: the Spark engine.

``test_spark_units.py`` needs no cluster and runs in ``make test``. The modules that start a
real local cluster (``test_spark_engine.py``: minutes of JVM work on 2 cores) run only under
``make test-spark`` (which sets ``CUSTOMER_STATUS_SPARK_TESTS=1`` and installs pyspark and
dbt-spark); the cluster they start is stopped at the end of the session whatever happens,
and the session fails if any of its processes is left behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SPARK_TESTS_ENV = "CUSTOMER_STATUS_SPARK_TESTS"
collect_ignore = [] if os.environ.get(SPARK_TESTS_ENV) == "1" else ["test_spark_engine.py"]


def _processes_under(folder: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in cmdline:
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """A local cluster started by ``customer-status spark start`` in a work area of its own;
    yields (warehouse path whose work area holds it, Thrift address)."""
    import subprocess
    import sys

    cli = str(Path(sys.executable).with_name("customer-status"))
    root = tmp_path_factory.mktemp("spark")
    warehouse = root / "cluster.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "CUSTOMER_STATUS_SPARK_THRIFT"}
    started = subprocess.run(
        [cli, "spark", "start", "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        address = started.stdout.strip().splitlines()[-1]
        yield warehouse, address
    finally:
        stopped = subprocess.run(
            [cli, "spark", "stop", "--warehouse", str(warehouse)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        left = _processes_under(root)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert not left, f"processes left behind by spark stop: {left}"
