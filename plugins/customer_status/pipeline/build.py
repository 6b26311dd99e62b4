"""Run ``dbt build`` on the working file: one dbt process per run, the only writer meanwhile.

The status engine's per-customer models are incremental (they recompute only the customers
touched by data loaded since the last build, ``int_customers_touched``). A build is a full
refresh instead when the dbt project itself changed since the last successful build (its
fingerprint is kept in ``ops.dbt_builds``), or when ``CUSTOMER_STATUS_FULL_REFRESH=1``.

dbt runs in a child process: the DuckDB file is released when it exits (dbt-duckdb keeps
its database open inside a process, STACK.md), and a crash in dbt cannot take the run's
bookkeeping with it. Its output is streamed to the log line by line, so long builds show
progress.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import duckdb

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


BUILDS_DDL = """
create schema if not exists ops;
create table if not exists ops.dbt_builds (
    run_id varchar, built_at timestamp, fingerprint varchar, full_refresh boolean
);
"""
FULL_REFRESH_ENV = "CUSTOMER_STATUS_FULL_REFRESH"


def project_fingerprint(paths: Paths) -> str:
    """A hash of everything in the dbt project that decides what the models compute."""
    project = paths.dbt_project
    files = [project / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        files += sorted(p for p in (project / folder).rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(project).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def needs_full_refresh(con: duckdb.DuckDBPyConnection, fingerprint: str) -> bool:
    """True when the last successful build ran another version of the dbt project than
    ``fingerprint`` (or none ran yet), or the operator asked for it."""
    con.execute(BUILDS_DDL)
    if os.environ.get(FULL_REFRESH_ENV, "").strip() in ("1", "true", "yes"):
        return True
    last = con.execute(
        "select fingerprint from ops.dbt_builds order by built_at desc limit 1"
    ).fetchone()
    return last is None or last[0] != fingerprint


def record_build(
    con: duckdb.DuckDBPyConnection, run_id: str, fingerprint: str, full_refresh: bool
) -> None:
    """A successful build of the project with ``fingerprint`` (taken before it ran)."""
    con.execute(BUILDS_DDL)
    con.execute(
        "insert into ops.dbt_builds values (?, current_timestamp::timestamp, ?, ?)",
        [run_id, fingerprint, full_refresh],
    )


# The run's parameters reach dbt as environment variables, not `--vars`: vars that change
# every night make dbt re-parse the whole project (seconds per run), a changed environment
# variable only the files that read it (macros/as_of_date.sql, billing_restatements.sql).
RUN_PARAMETER_ENV = {
    "as_of_date": "CUSTOMER_STATUS_AS_OF_DATE",
    "run_id": "CUSTOMER_STATUS_RUN_ID",
    "run_started_at": "CUSTOMER_STATUS_RUN_STARTED_AT",
}


def run_dbt_build(
    paths: Paths,
    as_of_date: str,
    extra_args: tuple[str, ...] = (),
    run_vars: dict[str, str] | None = None,
    full_refresh: bool = False,
) -> None:
    """``run_vars``: the run's id and start (``run_id``, ``run_started_at``), stamped on the
    billing restatements it records. ``full_refresh``: rebuild the incremental models whole."""
    parameters = {"as_of_date": as_of_date, **(run_vars or {})}
    env = dbt_env(paths)
    env.update({RUN_PARAMETER_ENV[name]: value for name, value in parameters.items()})
    if full_refresh:
        extra_args = ("--full-refresh", *extra_args)
    # unit tests check the rules, not the night's data: `make test` runs them (tests/dbt)
    cmd = dbt_command(paths, "build", "--exclude-resource-type", "unit_test", *extra_args)
    log.info("dbt build for %s%s", as_of_date, " (full refresh)" if full_refresh else "")
    with subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
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
