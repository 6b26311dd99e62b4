"""A run killed (SIGKILL) during the build or while publishing leaves the published tables
intact, and the next run succeeds (docs/contract.md: old set or new set, never a mix)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e
CLI = str(Path(sys.executable).with_name("customer-status"))
TABLES = ("import_rejects", "status_action_outcomes", "orders", "account_status_history")


@pytest.fixture(scope="module")
def zone(generated_history, tmp_path_factory):
    """A copy of the generated history after its first night (2026-10-31, fixture
    ``generated_history``), with the files of 2026-11-01 landed for the next night."""
    copy = generated_history.copy_after_first_night(tmp_path_factory.mktemp("kill"))
    generated_history.land(copy.landing, up_to=None)
    return copy.landing, copy.warehouse


def command(zone, day: str) -> list[str]:
    landing, warehouse = zone
    # -v: the test waits for dbt's node lines ("dbt |"), shown only with -v
    return [CLI, "-v", "run", "--date", day, "--landing", str(landing), "--warehouse", str(warehouse)]


def snapshot(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in TABLES}


def run_log(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select as_of_date::varchar, outcome from marts.pipeline_runs order by started_at"
        ).fetchall()


def test_killed_runs_leave_the_last_night_and_the_next_run_succeeds(zone):
    _, warehouse = zone
    # the night of 2026-10-31 ran in fixture ``generated_history``: it published
    assert run_log(warehouse) == [("2026-10-31", "published")]
    before = snapshot(warehouse)

    # 1. SIGKILL while dbt is building
    proc = subprocess.Popen(
        command(zone, "2026-11-01"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    for line in proc.stdout:
        if "dbt |" in line:  # dbt is running and has finished its first node
            break
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(warehouse) == before

    # 2. SIGKILL inside publishing, after the new file is written, before it replaces the old
    killed = subprocess.run(
        command(zone, "2026-11-01"),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CUSTOMER_STATUS_FAILPOINT": "publish_before_replace"},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert snapshot(warehouse) == before
    assert list(warehouse.parent.glob(".*.publishing")), (
        "the killed publish left its half-done file"
    )

    # 3. the next run succeeds, cleans up, and records the killed runs as abandoned
    after = subprocess.run(command(zone, "2026-11-01"), capture_output=True, text=True, timeout=600)
    assert after.returncode == 0, after.stderr[-3000:]
    assert not list(warehouse.parent.glob(".*.publishing"))
    assert run_log(warehouse) == [
        ("2026-10-31", "published"),
        ("2026-11-01", "abandoned"),
        ("2026-11-01", "abandoned"),
        ("2026-11-01", "published"),
    ]
