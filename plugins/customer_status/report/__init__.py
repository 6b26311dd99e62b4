"""The night's report: ``<work area>/runs/<run id>/report.html``, beside the run record.

Written by the publish step and by ``record_failure`` (a failed night gets one too, from the
candidate tables as far as the night got); ``customer-status report [--run RUN_ID]`` prints
where it is. Per tenant: the status mix over time, the billable count inside the swing band
of the day before, what changed this night; and the landing files' rejects, held rows and
skipped files, the checks with their samples, the stage timings (``record.py``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb

from ..checks.dbt_relations import Relations, manifest_path
from ..settings import Paths
from . import record
from .data import gather
from .page import render

log = logging.getLogger(__name__)


class NoReport(LookupError):
    """No report for the run asked for (or none at all yet)."""


def write(paths: Paths, run_id: str, con: duckdb.DuckDBPyConnection) -> Path:
    """Write the report of ``run_id`` from the working file ``con``; returns its path."""
    rec = record.load(paths, run_id)
    built = any(s["stage"] == "build" and s.get("ok") for s in rec.get("stages", []))
    # dbt's own tables are found through the last build's manifest (none: a night that failed
    # before its first build, whose report shows the landing files only)
    manifest = manifest_path(paths)
    relations = Relations.from_manifest(manifest) if manifest.exists() else Relations({})
    html = render(gather(con, run_id, built_by_this_run=built, relations=relations), rec)
    folder = record.run_folder(paths, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / record.REPORT
    temp = folder / f".{record.REPORT}.{os.getpid()}.tmp"
    temp.write_text(html, encoding="utf-8")
    os.replace(temp, path)
    return path


def write_safely(paths: Paths, run_id: str, con: duckdb.DuckDBPyConnection) -> Path | None:
    """``write``, but a report that cannot be written never changes the night's outcome:
    it is logged as a warning instead."""
    try:
        path = write(paths, run_id, con)
    except Exception as exc:  # the night is decided already; say why there is no report
        log.warning(
            "could not write the night's report for run %s: %s: %s", run_id, type(exc).__name__, exc
        )
        return None
    log.info("report: %s", path)
    return path


def find(paths: Paths, run_id: str | None = None) -> Path:
    """The report of ``run_id``, or of the last night that wrote one."""
    if run_id is not None:
        path = record.run_folder(paths, run_id) / record.REPORT
        if not path.is_file():
            known = [p.parent.name for p in record.reports(paths)][-5:]
            raise NoReport(
                f"no report for run '{run_id}' in {paths.work_dir / record.RUNS_DIR} "
                f"(latest runs with a report: {', '.join(known) or 'none'})"
            )
        return path
    found = record.reports(paths)
    if not found:
        raise NoReport(
            f"no night has written a report in {paths.work_dir / record.RUNS_DIR} yet: run "
            "`customer-status run --date D` first (or set --warehouse / CUSTOMER_STATUS_WAREHOUSE)"
        )
    return found[-1]
