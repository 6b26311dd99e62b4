"""Issue 14.1: any as-of date from 1900 on can be computed, by ``run`` and by ``backfill``,
and two runs at once on one warehouse run one after the other (issue 14.10).

The landing zone is ``tests/e2e/old_history/landing`` (tenant ``old_shop``,
America/New_York): customers ``o-1`` created 1997-03-02 (paid 1997-03-05: active, then
sleeping from 1997-05-04), ``o-2`` created 1997-11-20 (paid 1998-06-01: active), ``o-3``
created 1998-06-29 (prospect) and ``o-4`` created 2001-01-15 (not yet a customer in 1998).

Before the fix, the DAG's start_date (2026-01-01) made Airflow create no task for a 1998
night and call the DAG run a success; the command printed ``FAILED … step: ?``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e
CLI = str(Path(sys.executable).with_name("customer-status"))
LANDING = Path(__file__).with_name("old_history") / "landing"


class OldZone:
    def __init__(self, root: Path):
        self.landing = root / "landing"
        shutil.copytree(LANDING, self.landing)
        self.warehouse = root / "warehouse.duckdb"
        self.lock = root / "warehouse.work" / "run.lock"

    def command(self, *args: str) -> list[str]:
        return [CLI, *args, "--landing", str(self.landing), "--warehouse", str(self.warehouse)]

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), capture_output=True, text=True, timeout=600)

    def published(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def zone(tmp_path_factory) -> OldZone:
    return OldZone(tmp_path_factory.mktemp("old-history"))


@pytest.fixture(scope="module")
def night_1998(zone) -> subprocess.CompletedProcess:
    return zone.cli("run", "--date", "1998-06-30")


@dataclass
class Finished:
    pid: int
    code: int
    said: str  # stderr, whitespace collapsed (rich wraps long lines)


def _wait_for_lock_holder(lock: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if lock.exists() and f"pid {proc.pid}" in lock.read_text(errors="replace"):
            return
        assert proc.poll() is None, "the backfill ended before it took the run lock"
        time.sleep(0.1)
    raise AssertionError("the backfill never took the run lock")


@pytest.fixture(scope="module")
def at_once(zone, night_1998) -> tuple[Finished, Finished]:
    """A backfill over three days of 1998 and, once it holds the run lock, a second
    ``run`` for the next day on the same warehouse (issue 14.10)."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    first = subprocess.Popen(
        zone.command("backfill", "--start", "1998-07-01", "--end", "1998-07-03"), **pipes
    )
    _wait_for_lock_holder(zone.lock, first)
    second = subprocess.Popen(zone.command("run", "--date", "1998-07-04"), **pipes)
    done = []
    for proc in (first, second):
        err = proc.communicate(timeout=900)[1]
        done.append(Finished(proc.pid, proc.returncode, " ".join(err.split())))
    return done[0], done[1]


def test_a_night_in_1998_publishes_the_history_from_1997(zone, night_1998):
    assert night_1998.returncode == 0, night_1998.stderr
    assert "published 1998-06-30" in night_1998.stderr
    assert zone.published(
        "select customer_id, as_of_date, status, status_since from marts.customer_status "
        "order by customer_id"
    ) == [
        ("o-1", date(1998, 6, 30), "sleeping", date(1997, 5, 4)),
        ("o-2", date(1998, 6, 30), "active", date(1998, 6, 1)),
        ("o-3", date(1998, 6, 30), "prospect", date(1998, 6, 29)),
    ]
    assert zone.published(
        "select min(date), max(date), count(*) from marts.billable_counts_daily"
    ) == [(date(1997, 3, 2), date(1998, 6, 30), (date(1998, 6, 30) - date(1997, 3, 2)).days + 1)]
    assert zone.published(
        "select date, customers from marts.billable_counts_daily "
        "where date in (date '1997-03-02', date '1998-06-01', date '1998-06-30') order by date"
    ) == [(date(1997, 3, 2), 1), (date(1998, 6, 1), 2), (date(1998, 6, 30), 3)]
    assert zone.published("select as_of_date, outcome from marts.pipeline_runs") == [
        (date(1998, 6, 30), "published")
    ]


def test_a_backfill_over_days_of_1998_publishes_each_night(zone, at_once):
    backfill, _ = at_once
    assert backfill.code == 0, backfill.said
    for day in ("1998-07-01", "1998-07-02", "1998-07-03"):
        assert f"published {day}" in backfill.said
    assert "another run is in progress" not in backfill.said
    assert zone.published(
        "select as_of_date, outcome, failed_step from marts.pipeline_runs "
        "where as_of_date <= date '1998-07-03' order by as_of_date"
    ) == [
        (date(1998, 6, 30), "published", None),
        (date(1998, 7, 1), "published", None),
        (date(1998, 7, 2), "published", None),
        (date(1998, 7, 3), "published", None),
    ]


def test_two_runs_at_once_run_one_after_the_other(zone, at_once):
    """Issue 14.10: the second command on the same warehouse waits for the first, says so
    (since when, which pid), then runs; both are in pipeline_runs, one after the other. It
    used to end in an Airflow traceback."""
    backfill, second = at_once
    assert second.code == 0, second.said
    assert "another run is in progress (since " in second.said
    assert f"pid {backfill.pid}): waiting for it to finish" in second.said
    assert "Traceback" not in second.said
    assert "published 1998-07-04" in second.said
    rows = zone.published(
        "select as_of_date, outcome, started_at, finished_at from marts.pipeline_runs "
        "where as_of_date >= date '1998-07-03' order by as_of_date"
    )
    assert [(r[0], r[1]) for r in rows] == [
        (date(1998, 7, 3), "published"),
        (date(1998, 7, 4), "published"),
    ]
    (_, _, _, backfill_finished), (_, _, second_started, _) = rows
    assert isinstance(second_started, datetime) and second_started >= backfill_finished
    assert zone.published("select distinct as_of_date from marts.customer_status") == [
        (date(1998, 7, 4),)
    ]
    assert zone.published("select max(date) from marts.billable_counts_daily") == [
        (date(1998, 7, 4),)
    ]


def test_an_as_of_date_before_1900_is_refused_with_the_reason(zone, at_once):
    run = zone.cli("run", "--date", "1899-12-31")
    assert run.returncode == 2
    assert "--date 1899-12-31 is before 1900-01-01" in " ".join(run.stderr.split())
    backfill = zone.cli("backfill", "--start", "1899-12-30", "--end", "1900-01-02")
    assert backfill.returncode == 2
    assert "--start 1899-12-30 is before 1900-01-01" in " ".join(backfill.stderr.split())
    assert zone.published("select count(*) from marts.pipeline_runs") == [(5,)]
