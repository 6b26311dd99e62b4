"""Validate the rows each run loaded with the Great Expectations suites in ``expectations/``.

Runs in its own process (``python -m customer_status.checks.gx_imports``), started by the
``validate_imports`` step: Great Expectations opens the working DuckDB file through
SQLAlchemy, and a separate process guarantees that handle is gone before dbt, the next
writer, starts (STACK.md: one DuckDB configuration per process). Prints one JSON document:
the results per source and the Data Docs path.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from ..ingest.loader import UNPUBLISHED_LOADS
from ..ingest.sources import SOURCES
from ..settings import PROJECT_ROOT, resolve_paths, tune
from .results import CheckResult

SUITES = Path(os.environ.get("CUSTOMER_STATUS_EXPECTATIONS") or PROJECT_ROOT / "expectations")
CLOCK_TOLERANCE = timedelta(hours=1)
# the rows under validation, one table per source, dropped by the step once GX is done
BATCH_SCHEMA, BATCH_PREFIX = "ops", "validation_batch__"


class _DuckDBDialect(str):
    """A dialect entry for GX's persisted-connection list: equal to "duckdb" and with ``.value``."""

    value = "duckdb"


def patch_gx_for_duckdb() -> None:
    """GX 1.24's SQL path fails every expectation on DuckDB ("list index out of range", GX
    issues 10738 and 11579): it closes the SQLAlchemy connection before fetching, and
    duckdb-engine results do not survive that. GX keeps one connection open for the dialects
    in ``_PERSISTED_CONNECTION_DIALECTS``; adding duckdb there fixes it (STACK.md).
    ``tests/unit/test_expectations.py`` fails loudly if a GX upgrade moves this."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    dialects = engine._PERSISTED_CONNECTION_DIALECTS
    if "duckdb" not in dialects:
        engine._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialect("duckdb"))


def drop_batches(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the batch tables of a validation (called by the step, after GX has exited)."""
    for (table,) in con.execute(
        "select table_name from duckdb_tables() where schema_name = ? and starts_with(table_name, ?)",
        [BATCH_SCHEMA, BATCH_PREFIX],
    ).fetchall():
        con.execute(f"drop table {BATCH_SCHEMA}.{table}")


def unpublished_loads(work_db: Path) -> dict[str, list[int]]:
    """Load ids per source of the files no published night has been checked with yet
    (this run's, and those of earlier runs that failed after loading)."""
    with duckdb.connect(str(work_db), read_only=True) as con:
        rows = con.execute(
            f"select source, list(load_id order by load_id) from ({UNPUBLISHED_LOADS}) "
            "where rows_loaded > 0 group by source order by source"
        ).fetchall()
    return {source: ids for source, ids in rows if source in SOURCES or source == "status_imports"}


def validate(run_id: str, started_at: datetime) -> dict:
    paths = resolve_paths()
    loads = unpublished_loads(paths.work_db)
    if not loads:
        return {"results": [], "data_docs": None}
    # each batch is materialised once: GX runs one query per metric, and over a query asset
    # every one of them would re-run the batch query (128 s -> see benchmarks/README.md at 1M)
    with duckdb.connect(str(paths.work_db)) as con:
        tune(con)
        for source, load_ids in loads.items():
            ids = ", ".join(str(i) for i in load_ids)
            con.execute(
                f"create or replace table {BATCH_SCHEMA}.{BATCH_PREFIX}{source} as {_batch_query(source, ids)}"
            )
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    patch_gx_for_duckdb()
    # definitions are rebuilt every run from expectations/; past validation results stay,
    # so Data Docs keep the history of every night
    for stale in ("checkpoints", "validation_definitions", "expectations"):
        shutil.rmtree(paths.work_dir / "gx" / stale, ignore_errors=True)
    context = gx.get_context(mode="file", project_root_dir=str(paths.work_dir))
    datasource = context.data_sources.add_or_update_sql(
        name="work", connection_string=f"duckdb:///{paths.work_db}"
    )
    definitions = []
    for source in loads:
        suite_json = json.loads((SUITES / f"{source}.json").read_text())
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(
                name=suite_json["name"],
                meta=suite_json.get("meta", {}),
                expectations=[_expectation(gx, e) for e in suite_json["expectations"]],
            )
        )
        # a query asset: GX's table asset loses the schema name in some metrics on DuckDB
        asset = datasource.add_query_asset(
            name=f"{source}__loaded_this_run",
            query=f"select * from {BATCH_SCHEMA}.{BATCH_PREFIX}{source}",
        )
        batch = asset.add_batch_definition_whole_table("rows")
        definitions.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=f"landing.{source}", data=batch, suite=suite)
            )
        )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name="validate_imports",
            validation_definitions=definitions,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
        )
    )
    latest = (started_at + CLOCK_TOLERANCE).strftime("%Y-%m-%d %H:%M:%S")
    result = checkpoint.run(
        expectation_parameters={"latest_allowed_timestamp": latest},
        run_id=gx.RunIdentifier(run_name=run_id),
    )
    out = []
    for validation in result.run_results.values():
        source = validation.suite_name.removeprefix("landing.")
        for r in validation.results:
            config = r.expectation_config
            out.append(
                {
                    "source": source,
                    "expectation": config.type,
                    "rule": (config.meta or {}).get("rule", config.type),
                    "success": bool(r.success),
                    "unexpected_count": r.result.get("unexpected_count"),
                    "sample": [str(v) for v in (r.result.get("partial_unexpected_list") or [])][:5],
                    "error": (r.exception_info or {}).get("exception_message")
                    if isinstance(r.exception_info, dict)
                    and r.exception_info.get("raised_exception")
                    else None,
                }
            )
    docs = context.get_docs_sites_urls()
    datasource.get_execution_engine().close()
    return {"results": out, "data_docs": docs[0]["site_url"] if docs else None}


def _batch_query(source: str, load_ids: str) -> str:
    """The rows this run loaded into ``raw.<source>``. Landing sources: distinct records
    (an identical repeat in a file is one record); status imports: every row (each is an
    action of its own)."""
    if source == "status_imports":
        return f"select * from raw.status_imports where _load_id in ({load_ids})"
    return (
        f"select distinct * exclude (_row_number) from raw.{source} where _load_id in ({load_ids})"
    )


def _expectation(gx, spec: dict):
    """A suite entry (``type`` + ``kwargs`` + ``meta``) as a GX expectation object."""
    cls = "".join(part.title() for part in spec["type"].split("_"))
    return getattr(gx.expectations, cls)(**spec["kwargs"], meta=spec.get("meta"))


def validate_in_child(run_id: str, started_at: datetime) -> dict:
    """Run ``validate`` in a child process (see the module's doc) and return its report."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            __name__,
            "--run-id",
            run_id,
            "--started-at",
            started_at.isoformat(),
        ],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    if proc.returncode != 0:
        # DuckDB's bindings print reference-leak notes at interpreter exit: skip them
        lines = [
            ln for ln in proc.stderr.splitlines() if "leaked" not in ln and "nanobind" not in ln
        ]
        raise RuntimeError("Great Expectations could not run: " + "\n".join(lines[-15:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_results(report: dict) -> list[CheckResult]:
    """One result per landing source: passed, or which rules failed with sample values."""
    by_source: dict[str, list[dict]] = {}
    for e in report["results"]:
        by_source.setdefault(e["source"], []).append(e)
    results = []
    for source, found in sorted(by_source.items()):
        bad = [e for e in found if not e["success"]]
        if not bad:
            results.append(
                CheckResult(
                    f"import_expectations[{source}]", True, f"{len(found)} expectations passed"
                )
            )
            continue
        detail = "; ".join(
            f"{e['rule']} ({e['unexpected_count']} rows)"
            if e["unexpected_count"] is not None
            else f"{e['rule']} (could not be evaluated: {e['error'] or 'see Data Docs'})"
            for e in bad
        )
        results.append(
            CheckResult(
                f"import_expectations[{source}]",
                False,
                detail,
                sample=[tuple(e["sample"]) for e in bad if e["sample"]],
            )
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--started-at", required=True, type=datetime.fromisoformat)
    args = parser.parse_args(argv)
    # stdout carries only the report: whatever the libraries print (DuckDB's progress bar
    # on long queries, GX's metric bars) goes to stderr meanwhile
    report_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        report = validate(args.run_id, args.started_at)
    finally:
        sys.stdout.flush()
        os.dup2(report_fd, 1)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
