"""Issue 14.1: a DAG run that executed no task is a failure with its cause, never a success.

Airflow 3 creates a DAG run for a logical date before the DAG's ``start_date``, creates no
task instance and marks the run successful. The command used to print ``FAILED … (success);
nothing was published. step: ? why: see the log above``. Here the real DAG gets its old
start_date (2026-01-01) back, in a child process running the real command for 1998-06-30:
the command must name the step and the cause, and the run log must record it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

SCRIPT = textwrap.dedent(
    """
    import sys
    import pendulum
    from customer_status import cli
    from customer_status.pipeline import local

    real_load_dag = local.load_dag

    def load_dag_starting_2026(paths):
        dag = real_load_dag(paths)
        start = pendulum.datetime(2026, 1, 1, tz="UTC")
        dag.start_date = start
        for task in dag.tasks:
            task.start_date = start
        return dag

    local.load_dag = load_dag_starting_2026
    sys.exit(cli.main(sys.argv[1:]))
    """
)


def test_a_dag_run_that_ran_no_task_fails_with_its_cause(tmp_path: Path):
    landing = tmp_path / "landing"
    landing.mkdir()
    warehouse = tmp_path / "warehouse.duckdb"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, "run", "--date", "1998-06-30"]
        + ["--landing", str(landing), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = " ".join(proc.stderr.split())
    assert proc.returncode == 1, proc.stderr
    assert "FAILED 1998-06-30" in said and "nothing was published" in said
    assert "step: ?" not in said and "see the log above" not in said
    assert "step: dag_run" in said
    assert "why: Airflow ran no task for this DAG run (state 'success'" in said
    assert "the DAG's start_date 2026-01-01" in said
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select as_of_date, outcome, failed_step, message from marts.pipeline_runs"
        ).fetchall()
        tables = con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'"
        ).fetchall()
    [(as_of, outcome, step, message)] = rows
    assert (str(as_of), outcome, step) == ("1998-06-30", "failed", "dag_run")
    assert message.startswith("Airflow ran no task for this DAG run")
    assert tables == [("pipeline_runs",)]  # nothing else was published
