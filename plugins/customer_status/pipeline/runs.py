"""The run log (``ops.pipeline_runs`` in the working file, published as ``marts.pipeline_runs``).

A run is ``running`` from its first step; it ends ``published`` or ``failed`` (with the step
and the reason). A run that was killed is found still ``running`` by the next run and marked
``abandoned``.
"""

from __future__ import annotations

import duckdb

from .. import pipeline_db
from .context import RunContext

# The published columns, the contract's first (failed_step and message are additions).
PUBLISHED_COLUMNS = (
    "run_id, as_of_date, started_at, finished_at, outcome, checks_passed, checks_failed, "
    "accepted_swing, failed_step, message"
)


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """The run log, created or migrated (``pipeline_db.OWN_TABLES``)."""
    pipeline_db.ensure(con, pipeline_db.RUN_LOG)


def begin(con: duckdb.DuckDBPyConnection, ctx: RunContext) -> None:
    ensure(con)
    con.execute(
        "update ops.pipeline_runs set outcome = 'abandoned', message = "
        "'the run stopped without finishing (killed?); nothing of it was published' "
        "where outcome = 'running' and run_id <> ?",
        [ctx.run_id],
    )
    con.execute(
        "insert into ops.pipeline_runs (run_id, as_of_date, started_at, outcome, accepted_swing) "
        "values (?, ?, ?, 'running', ?) on conflict (run_id) do nothing",
        [ctx.run_id, ctx.as_of_date, ctx.started_at, ctx.accept_swing],
    )


def record_checks(con: duckdb.DuckDBPyConnection, run_id: str, passed: int, failed: int) -> None:
    """Add one validation step's counts to the run's totals."""
    con.execute(
        "update ops.pipeline_runs set checks_passed = coalesce(checks_passed, 0) + ?, "
        "checks_failed = coalesce(checks_failed, 0) + ? where run_id = ?",
        [passed, failed, run_id],
    )


def finish(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    outcome: str,
    failed_step: str | None = None,
    message: str | None = None,
) -> None:
    con.execute(
        "update ops.pipeline_runs set outcome = ?, finished_at = ?, "
        "failed_step = coalesce(?, failed_step), message = coalesce(?, message) "
        "where run_id = ?",
        [outcome, pipeline_db.utc_timestamp(), failed_step, message, run_id],
    )


def get(con: duckdb.DuckDBPyConnection, run_id: str) -> dict | None:
    cur = con.execute(
        f"select {PUBLISHED_COLUMNS} from ops.pipeline_runs where run_id = ?", [run_id]
    )
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None
