"""Issue 18 (the fixed cost of a night): what the ``customer-status`` process pays around
the night's own work.

- Python's finalization ran full garbage collections over every object still alive when the
  command ended (Airflow's modules, the DAG, the in-process execution API): 2-3 s after an M
  night, measured with ``py-spy dump --native`` (``gc_collect_main``) between the last line
  and the process's end. The command's own process ends once its exit handlers ran, with
  its code, without finalizing; so does the build's dbt process (``pipeline/dbt_child.py``).
- The night's own full collections scanned the same start-up objects each time: the
  command's process freezes what exists once the DAG is loaded.

A caller that calls ``cli.main([...])`` or ``local.run_dates`` and goes on (the tests) keeps
an ordinary collector and end.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from customer_status import cli
from customer_status.pipeline import local, nightly
from customer_status.settings import Paths

ENTRY = textwrap.dedent(
    """
    import atexit, sys
    from customer_status import cli

    class Kept:  # alive until the process ends: finalization would call __del__
        def __del__(self):
            print("finalized", flush=True)

    def cmd_run(args):
        import duckdb

        global kept
        kept = Kept()
        with duckdb.connect() as con:
            con.sql("select 1").fetchall()
        atexit.register(lambda: print("exit handler ran", flush=True))
        print("the command ran", flush=True)
        return 3

    cli.cmd_run = cmd_run
    sys.argv = ["customer-status", "run", "--date", "2026-03-31"]
    sys.exit(cli.main())
    """
)


def test_the_command_ends_without_finalization_once_its_exit_handlers_ran():
    proc = subprocess.run(
        [sys.executable, "-c", ENTRY], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 3, proc.stderr  # main's own code
    assert proc.stdout.splitlines() == ["the command ran", "exit handler ran"], proc.stdout
    assert "finalized" not in proc.stdout and "leaked" not in proc.stderr, proc.stderr


def test_a_caller_of_main_keeps_an_ordinary_end(monkeypatch):
    monkeypatch.setattr(cli, "cmd_run", lambda args: 0)
    assert cli.main(["run", "--date", "2026-03-31"]) == 0
    assert cli._PROCESS_ENTRY is False and cli._EXIT_CODE is None
    cli.exit_now_if_done()  # does nothing: this process goes on


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


# ---- the build's dbt, started ahead (``build.prepare_dbt``, ``pipeline/dbt_child.py``)


@pytest.fixture
def dbt_runs(tmp_path, monkeypatch):
    """``build.run_dbt`` with dbt's command line replaced by ``dbt <args>`` (no build): the
    real ``dbt`` entry point, run either way; returns (paths, lines logged)."""
    import logging

    from customer_status import started_ahead
    from customer_status.pipeline import build

    monkeypatch.setattr(started_ahead, "_enabled", [True])  # as in a night run in-process
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    handler = Keep(level=logging.DEBUG)
    build.log.addHandler(handler)
    monkeypatch.setattr(build.log, "level", logging.DEBUG)
    dbt = str(Path(sys.executable).with_name("dbt"))
    monkeypatch.setattr(build, "dbt_command", lambda paths, verb, *args: [dbt, *args])
    paths = Paths(landing=tmp_path, warehouse=tmp_path / "w.duckdb", work_dir=tmp_path / "work")
    paths.work_dir.mkdir()
    yield build, paths, lines
    build.log.removeHandler(handler)
    started_ahead.discard("dbt")


def test_a_prepared_dbt_runs_the_build_s_command_in_its_environment(dbt_runs):
    """The child started at the night's start imports dbt while the night goes on; the build
    hands it its command line, environment and folder, and it runs the ``dbt`` command."""
    build, paths, lines = dbt_runs
    build.prepare_dbt()
    child = _waiting()
    env = {**build.dbt_env(paths), "DBT_LOG_FORMAT": "json", "CUSTOMER_STATUS_PROBE": "x"}
    build.run_dbt(paths, "2026-03-31", ["--version"], env)
    assert child.returncode == 0 and _waiting() is None
    said = "\n".join(lines)
    assert "installed" in said.lower() and "duckdb" in said, said  # dbt --version's answer
    # run again: nothing prepared, a new dbt process as before, the same answer
    before = len(lines)
    build.run_dbt(paths, "2026-03-31", ["--version"], env)
    assert "installed" in "\n".join(lines[before:]).lower()


def test_a_failing_command_fails_the_build_the_same_way_prepared_or_not(dbt_runs):
    from customer_status.pipeline.build import BuildFailed

    build, paths, lines = dbt_runs
    env = build.dbt_env(paths)
    with pytest.raises(BuildFailed) as plain:
        build.run_dbt(paths, "2026-03-31", ["no-such-command"], env)
    build.prepare_dbt()
    with pytest.raises(BuildFailed) as prepared:
        build.run_dbt(paths, "2026-03-31", ["no-such-command"], env)
    assert str(prepared.value) == str(plain.value) == "dbt build exited with 2"


def test_a_prepared_dbt_that_died_is_replaced_and_an_unused_one_does_nothing(dbt_runs):
    build, paths, lines = dbt_runs
    build.prepare_dbt()
    first = _waiting()
    first.kill()
    first.wait()
    build.run_dbt(paths, "2026-03-31", ["--version"], build.dbt_env(paths))  # a new dbt
    assert "installed" in "\n".join(lines).lower()
    build.prepare_dbt()
    unused = _waiting()
    unused.stdin.close()  # the parent goes without a build: it exits at once, cleanly
    assert unused.wait(timeout=60) == 0
    assert unused.stdout.read() == ""  # no leak notes either (it ends without finalizing)


def test_a_waiting_prepared_dbt_is_kept_for_the_next_build(dbt_runs):
    """The command prepares the first build's dbt before Airflow starts, each night's ingest
    asks again: one child waits, and a build uses it."""
    build, paths, lines = dbt_runs
    build.prepare_dbt()
    first = _waiting()
    build.prepare_dbt()
    assert _waiting() is first and first.poll() is None
    build.run_dbt(paths, "2026-03-31", ["--version"], build.dbt_env(paths))
    assert first.returncode == 0 and _waiting() is None


def test_nothing_is_started_ahead_where_each_step_is_its_own_process(dbt_runs, monkeypatch):
    """A real Airflow deployment runs each task in its own process: a child started ahead
    would end with the ingest task, unused. There ``prepare_dbt`` starts nothing, and the
    build runs its own dbt as before."""
    from customer_status import started_ahead

    build, paths, lines = dbt_runs
    monkeypatch.setattr(started_ahead, "_enabled", [False])
    build.prepare_dbt()
    assert _waiting() is None
    build.run_dbt(paths, "2026-03-31", ["--version"], build.dbt_env(paths))
    assert "installed" in "\n".join(lines).lower()


def _waiting():
    from customer_status import started_ahead

    return started_ahead.waiting("dbt")
