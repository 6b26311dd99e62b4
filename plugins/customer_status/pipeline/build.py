"""Run ``dbt build`` on the working file: one dbt process per run, the only writer meanwhile.

dbt runs in a child process: the DuckDB file is released when it exits (dbt-duckdb keeps
its database open inside a process, STACK.md), and a crash in dbt cannot take the run's
bookkeeping with it. Its output is streamed to the log line by line, so long builds show
progress.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from ..settings import Paths

log = logging.getLogger(__name__)
PROGRESS = re.compile(
    r"\d+ of \d+ (OK|PASS|ERROR|FAIL|WARN|SKIP)|Done\. PASS=|Completed|Finished running"
)


class BuildFailed(Exception):
    """dbt build failed; the message names the failing models and tests."""


def dbt_command(paths: Paths, *args: str) -> list[str]:
    dbt = Path(sys.executable).with_name("dbt")
    return [
        str(dbt) if dbt.exists() else "dbt",
        *args,
        "--project-dir",
        str(paths.dbt_project),
        "--profiles-dir",
        str(paths.dbt_project),
        "--target-path",
        str(paths.dbt_target / "target"),
        "--log-path",
        str(paths.dbt_target / "logs"),
    ]


def dbt_env(paths: Paths) -> dict[str, str]:
    return {
        **os.environ,
        "CUSTOMER_STATUS_WORK_DB": str(paths.work_db),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    }


def run_dbt_build(
    paths: Paths,
    as_of_date: str,
    extra_args: tuple[str, ...] = (),
    run_vars: dict[str, str] | None = None,
) -> None:
    """``run_vars``: the run's id and start (``run_id``, ``run_started_at``), stamped on the
    billing restatements it records."""
    vars_arg = json.dumps({"as_of_date": as_of_date, **(run_vars or {})})
    # unit tests check the rules, not the night's data: `make test` runs them (tests/dbt)
    cmd = dbt_command(
        paths, "build", "--exclude-resource-type", "unit_test", "--vars", vars_arg, *extra_args
    )
    log.info("dbt build for %s", as_of_date)
    with subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dbt_env(paths),
        cwd=paths.dbt_project,
        preexec_fn=_die_with_parent,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            # one line per finished model/test (progress on long builds); the rest at DEBUG
            level = logging.INFO if PROGRESS.search(line) else logging.DEBUG
            log.log(level, "dbt | %s", line.rstrip())
    if proc.returncode != 0:
        raise BuildFailed(_failures(paths) or f"dbt build exited with {proc.returncode}")


def _die_with_parent() -> None:
    """In the dbt child: get SIGKILL when the run's process dies (Linux), so a killed run
    never leaves an orphaned dbt holding the working file's lock."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _failures(paths: Paths) -> str:
    results = paths.dbt_target / "target" / "run_results.json"
    if not results.exists():
        return ""
    failed = [
        f"{r['unique_id']}: {(r.get('message') or r['status']).strip()}"
        for r in json.loads(results.read_text())["results"]
        if r["status"] in ("error", "fail")
    ]
    return "dbt build failed: " + "; ".join(failed) if failed else ""
