"""The steps of one nightly run; the DAG calls these, one task each.

    ingest -> validate_imports -> build -> audit -> publish
                                        (record_failure runs if any of them failed)

Every step works on the pipeline's own DuckDB file (``Paths.work_db``) and closes it before
returning, so steps never hold a lock on each other; only ``publish`` touches the warehouse
readers use, and only by replacing it whole. A step that fails records which step and why in
the run log before re-raising, so the failure reaches ``marts.pipeline_runs``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

import duckdb

from .. import pipeline_db
from .. import report as night_page
from ..checks import ChecksFailed, gx_imports, gx_reclassification
from ..checks.reconciliation import rows_reconcile
from ..ingest import LoadContext, erasure, ingest_landing
from ..report import record as run_record
from ..settings import Paths, resolve_paths
from . import build as dbt_build
from . import night_report, published, runs
from . import publish as publishing
from .context import RunContext

log = logging.getLogger(__name__)


@contextlib.contextmanager
def work_db(paths: Paths) -> Iterator[duckdb.DuckDBPyConnection]:
    """The working DuckDB file, opened for writing by this step only."""
    paths.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        con = pipeline_db.connect(paths.work_db)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise RuntimeError(
                f"{paths.work_db} is in use by another process: is another customer-status "
                "run going on? (runs are serialised: one writer per DuckDB file)"
            ) from exc
        raise
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def step(ctx: RunContext, name: str) -> Iterator[None]:
    """Time a step; on failure, record step and reason in the run log, then re-raise."""
    started = time.monotonic()
    log.info(
        "[%s] %s: starting (as-of %s)",
        ctx.run_id,
        name,
        ctx.as_of_date,
        extra={"stage_start": name},
    )
    try:
        yield
    except Exception as exc:
        log.error("[%s] %s failed: %s", ctx.run_id, name, exc)
        with contextlib.suppress(Exception), work_db(ctx.paths) as con:
            runs.finish(con, ctx.run_id, "failed", name, f"{type(exc).__name__}: {exc}"[:4000])
        with contextlib.suppress(Exception):
            run_record.stage(ctx.paths, ctx.run_id, name, time.monotonic() - started, ok=False)
        raise
    seconds = time.monotonic() - started
    with contextlib.suppress(Exception):  # the run record serves the report only
        run_record.stage(ctx.paths, ctx.run_id, name, seconds, ok=True)
    log.info(
        "[%s] %s: done in %.1fs",
        ctx.run_id,
        name,
        seconds,
        extra={"summary": True, "stage": name, "seconds": seconds},
    )


def ingest(ctx: RunContext) -> dict:
    """Record the run's start, then load every new landing file into ``raw``."""
    paths = ctx.paths
    dbt_build.prepare_dbt()  # the build's dbt imports itself meanwhile (issue 18)
    with work_db(paths) as con:
        runs.begin(con, ctx)
    with step(ctx, "ingest"), work_db(paths) as con:
        results = ingest_landing(
            con,
            LoadContext(paths.landing, ctx.run_id, ctx.as_of_date, ctx.started_at),
            # the import checks' GX imports itself while the other files load
            on_first_load=lambda: gx_imports.prepare(ctx.run_id, ctx.started_at),
        )
        # rules §12: erased customers' data leaves raw (and earlier artefacts) before
        # anything reads tonight's rows
        erasure.apply_erasures(con, paths.work_dir, ctx.run_id)
    new = [r for r in results if r.outcome not in ("skipped", "hidden")]
    hidden = [r.file for r in results if r.outcome == "hidden"]
    summary = {
        "files_loaded": sum(r.outcome != "rejected" for r in new),
        "files_rejected": sum(r.outcome == "rejected" for r in new),
        "files_already_loaded": sum(r.outcome == "skipped" for r in results),
        "files_skipped": len(hidden),  # hidden files, not read (marts.landing_files)
        "rows_loaded": sum(r.rows_loaded for r in new),
        "rows_rejected": sum(r.rows_rejected for r in new),
    }
    log.info("ingest summary: %s", summary, extra={"summary": True, "ingest": summary})
    for file in hidden:
        log.warning("skipped hidden file (not read; rename it to load it): %s", file)
    return summary


def refuse(ctx: RunContext, reason: str) -> None:
    """Record a run that cannot start (no as-of date, see ``context.RunDateError``) as failed
    at ``ingest`` with the reason; ``record_failure`` then publishes it like any failure."""
    log.error("[%s] ingest failed: %s", ctx.run_id, reason)
    with work_db(ctx.paths) as con:
        runs.begin(con, ctx)
        runs.finish(con, ctx.run_id, "failed", "ingest", reason)


def validate_imports(ctx: RunContext) -> dict:
    """Great Expectations over the rows loaded since the last published night
    (``expectations/<source>.json``), in a child process so its DuckDB handle is gone before
    dbt starts."""
    with step(ctx, "validate_imports"):
        with work_db(ctx.paths) as con:  # closed before the child opens the file
            pending = gx_imports.unpublished_loads(con)
        report = (
            gx_imports.validate_in_child(ctx.run_id, ctx.started_at)
            if pending
            else dict(gx_imports.NOTHING_TO_VALIDATE)  # no child to start for nothing
        )
        results = gx_imports.check_results(report)
        failed = [r for r in results if not r.passed]
        with work_db(ctx.paths) as con:
            runs.record_checks(con, ctx.run_id, len(results) - len(failed), len(failed))
        run_record.checks(ctx.paths, ctx.run_id, "validate_imports", results)
        for result in results:
            log.info(result.describe(), extra={"summary": True})
        if report.get("data_docs"):
            log.info("Data Docs: %s", report["data_docs"])
        if failed:
            raise ChecksFailed(failed)
    return {"checks": len(results), "data_docs": report.get("data_docs")}


def build(ctx: RunContext, engine: str | None = None) -> None:
    """``engine``: where dbt builds (``pipeline.build.resolve_engine``: DuckDB by default)."""
    with step(ctx, "build"):
        engine = dbt_build.resolve_engine(engine)
        gx_reclassification.prepare(ctx.run_id)  # imports GX for the audit meanwhile
        with work_db(ctx.paths) as con:
            published.snapshot(con, ctx.paths.warehouse)
            plan = dbt_build.plan_build(con, dbt_build.project_fingerprint(ctx.paths), engine)
        plan = dbt_build.run_dbt_build(
            ctx.paths,
            ctx.as_of_date.isoformat(),
            plan,
            run_vars={"run_id": ctx.run_id, "run_started_at": ctx.started_at.isoformat(sep=" ")},
            engine=engine,
        )
        with work_db(ctx.paths) as con:
            dbt_build.record_build(con, ctx.run_id, plan)


def audit(ctx: RunContext) -> dict:
    """The run-wide checks of the candidate tables: the reclassification suites (Great
    Expectations, in a child process: the working file is not open here meanwhile), then
    the reconciliation of landing files against the rows loaded and rejected."""
    with step(ctx, "audit"):
        report = gx_reclassification.validate_in_child(ctx.run_id)
        with work_db(ctx.paths) as con:
            results = [
                *rows_reconcile(con),
                *gx_reclassification.check_results(report, accept_swing=ctx.accept_swing),
            ]
            failed = [r for r in results if not r.passed]
            runs.record_checks(con, ctx.run_id, len(results) - len(failed), len(failed))
            run_record.checks(ctx.paths, ctx.run_id, "audit", results)
            for result in results:
                log.info(result.describe(), extra={"summary": True})
            for line in night_report.lines(con):  # flagged orders and held rows, every night
                log.warning(line)
        if report.get("ran_on"):
            log.info("audit: ran on %s", report["ran_on"], extra={"summary": True})
        if report.get("data_docs"):
            log.info("Data Docs: %s", report["data_docs"])
        if failed:
            raise ChecksFailed(failed)
    return {"checks_passed": len(results), "checks_failed": 0}


def publish(
    ctx: RunContext, per_tenant: bool | None = None, pii: str | None = None
) -> dict[str, int]:
    """``per_tenant`` / ``pii``: the per-tenant files (``publish.tenant_publishing``: the DAG
    params, else the environment, else none)."""
    from ..spark import night as spark_night

    with step(ctx, "publish"):
        options = publishing.tenant_publishing(per_tenant, pii)
        plan = None
        if options.enabled:
            from ..checks.dbt_relations import Relations

            tenants = Relations.of_build(ctx.paths).ref("int_tenants")
            with work_db(ctx.paths) as con:
                plan = publishing.plan_tenant_files(con, tenants, ctx.paths.warehouse, options.pii)
        else:
            stale = publishing.stale_tenant_files(ctx.paths.warehouse)
            if stale:
                log.warning(
                    "%d per-tenant file(s) in %s are from an earlier night and are not updated "
                    "tonight (per-tenant publishing is off): publish with --publish-per-tenant "
                    "or remove them",
                    len(stale), stale[0].parent,
                )
        # a night built on Spark: the cluster's own `marts` too, only now (checks passed)
        spark_night.publish_cluster_marts(ctx.paths, ctx.run_id)
        counts = publishing.publish_marts(ctx.paths, ctx.run_id, tenant_files=plan)
        with work_db(ctx.paths) as con:
            runs.finish(con, ctx.run_id, "published", message=plan.note() if plan else None)
        if plan is not None:
            log.info(plan.note(), extra={"summary": True})
    with work_db(ctx.paths) as con:  # after the publish step's own time is recorded
        night_page.write_safely(ctx.paths, ctx.run_id, con)
    return counts


def _failed_tasks(run_id: str) -> list[str]:
    """The tasks of this DAG run that failed, as Airflow knows them (empty outside a task)."""
    try:
        from airflow.sdk import get_current_context

        ti = get_current_context()["ti"]
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[run_id]).get(run_id, {})
    except Exception as exc:  # no Airflow task context, or the API refused: say so below
        log.warning("could not read the task states of run %s: %s", run_id, exc)
        return []
    return sorted(
        task
        for task, state in states.items()
        if str(getattr(state, "value", state)) == "failed" and task != "record_failure"
    )


def record_failure(ctx: RunContext) -> str:
    """Publish the run log only: readers keep the last good tables and see this run failed.

    A step that failed before it could record why (for example while opening the working
    file) is named from Airflow's task states, so the run log always has a step and a
    reason. Returns the failure in one sentence (step and reason) for the DAG run's final
    error.
    """
    paths = ctx.paths
    with work_db(paths) as con:
        runs.ensure(con)
        run = runs.get(con, ctx.run_id)
        if run is None:
            runs.begin(con, ctx)
            run = runs.get(con, ctx.run_id) or {}
        unfinished = run.get("outcome") in ("running", "published", None)
        if not run.get("failed_step"):
            unfinished = True
            failed = _failed_tasks(ctx.run_id)
            run["failed_step"] = failed[0] if failed else "dag_run"
            run["message"] = run.get("message") or (
                f"task(s) {', '.join(failed)} failed before recording why: see the task log"
                if failed
                else "a task failed before recording why, and Airflow did not say which: "
                "see the task logs"
            )
        if unfinished:
            runs.finish(con, ctx.run_id, "failed", run["failed_step"], run["message"])
        night_page.write_safely(paths, ctx.run_id, con)  # from the candidate tables
    publishing.publish_run_log_only(paths)
    reason = (
        f"run {ctx.run_id} for {ctx.as_of_date or 'no as-of date'} failed at step "
        f"{run['failed_step']}: {run['message']}; "
        "nothing was published, the previous tables are unchanged"
    )
    log.error(reason)
    return reason


def new_context(run_id: str, as_of_date, accept_swing: bool = False) -> RunContext:
    return RunContext(
        run_id=run_id,
        as_of_date=as_of_date,
        started_at=pipeline_db.utc_timestamp(),
        accept_swing=accept_swing,
    )


def run_outcome(run_id: str, paths: Paths | None = None) -> dict | None:
    """The run log row of ``run_id`` (for the command line after a run)."""
    with work_db(paths or resolve_paths()) as con:
        runs.ensure(con)
        return runs.get(con, run_id)
