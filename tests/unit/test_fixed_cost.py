"""Issue 18 (the fixed cost of a night): what the ``customer-status`` process pays around
the night's own work.

- Python's finalization ran full garbage collections over every object still alive when the
  command ended (Airflow's modules, the DAG, the in-process execution API): 2-3 s after an M
  night, measured with ``py-spy dump --native`` (``gc_collect_main``) between the last line
  and the process's end. The command's own process freezes them at exit.
- The night's own full collections scanned the same start-up objects each time: the
  command's process freezes what exists once the DAG is loaded.

A caller that calls ``cli.main([...])`` or ``local.run_dates`` and goes on (the tests) keeps
an ordinary collector.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from datetime import date

import pytest

from customer_status import cli
from customer_status.pipeline import local, nightly
from customer_status.settings import Paths

ENTRY = textwrap.dedent(
    """
    import atexit, gc, sys
    from customer_status import cli

    # registered before main's own: runs after it (exit handlers run last-registered first)
    atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, flush=True))
    cli.cmd_run = lambda args: print("frozen during the command:", gc.get_freeze_count() > 0) or 0
    sys.argv = ["customer-status", "run", "--date", "2026-03-31"]
    sys.exit(cli.main())
    """
)


def test_the_command_ends_without_the_final_full_collections():
    proc = subprocess.run(
        [sys.executable, "-c", ENTRY], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == [
        "frozen during the command: False",  # the command itself collects as ever
        "frozen at exit: True",
    ], proc.stdout


def test_a_caller_of_main_keeps_its_collector(monkeypatch):
    monkeypatch.setattr(cli, "cmd_run", lambda args: 0)
    before = gc.get_freeze_count()
    assert cli.main(["run", "--date", "2026-03-31"]) == 0
    assert gc.get_freeze_count() == before
    assert cli._PROCESS_ENTRY is False


@pytest.fixture
def fake_airflow(tmp_path, monkeypatch):
    """``run_dates`` with Airflow's parts stubbed: records the frozen count at each night."""
    seen: list[int] = []
    monkeypatch.setattr(local, "_migrate_if_needed", lambda paths: None)
    monkeypatch.setattr(local, "load_dag", lambda paths: object())

    def run_one(paths, dag, as_of, accept_swing):
        seen.append(gc.get_freeze_count())
        return local.Night(as_of, "success", f"run-{as_of}")

    monkeypatch.setattr(local, "_run_one", run_one)
    monkeypatch.setattr(nightly, "run_outcome", lambda run_id, paths: {"outcome": "published"})
    paths = Paths(landing=tmp_path, warehouse=tmp_path / "w.duckdb", work_dir=tmp_path / "work")
    yield paths, seen
    gc.unfreeze()


def test_the_command_s_nights_run_with_the_start_up_objects_frozen(fake_airflow):
    paths, seen = fake_airflow
    gc.unfreeze()
    nights = local.run_dates(paths, [date(2026, 3, 30), date(2026, 3, 31)], freeze_start_up=True)
    assert [n.as_of for n in nights] == [date(2026, 3, 30), date(2026, 3, 31)]
    assert len(seen) == 2 and all(count > 0 for count in seen), seen


def test_run_dates_leaves_the_collector_alone_unless_asked(fake_airflow):
    paths, seen = fake_airflow
    gc.unfreeze()
    local.run_dates(paths, [date(2026, 3, 31)])
    assert seen == [0]
