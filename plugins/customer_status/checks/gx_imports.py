"""Validate the rows each run loaded with the Great Expectations suites in ``expectations/``.

Runs in its own process (``python -m customer_status.checks.gx_imports``), started by the
``validate_imports`` step, so GX's handle on the working file is gone before dbt, the next
writer, starts (``gx_runtime``). Prints one JSON document: the results per source and the
Data Docs path.
"""

from __future__ import annotations

import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from .. import pipeline_db
from ..ingest.loader import UNPUBLISHED_LOADS
from ..ingest.sources import SOURCES
from ..settings import resolve_paths
from .gx_runtime import (
    SUITE_TYPE,
    SUITES,
    child_parser,
    exception_message,
    expectation,
    file_context,
    import_gx,
    patch_gx_for_duckdb,
    read_suite,
    run_child,
    serve,
    start_ahead,
    update_data_docs,
    work_datasource,
)
from .results import CheckResult

__all__ = ["SUITES", "check_results", "patch_gx_for_duckdb", "validate", "validate_in_child"]

CLOCK_TOLERANCE = timedelta(hours=1)


def unpublished_loads(work_db: Path | duckdb.DuckDBPyConnection) -> dict[str, list[int]]:
    """Load ids per source of the files no published night has been checked with yet
    (this run's, and those of earlier runs that failed after loading). ``work_db``: the
    working file, or an open connection to it."""
    query = (
        f"select source, list(load_id order by load_id) from ({UNPUBLISHED_LOADS}) "
        "where rows_loaded > 0 group by source order by source"
    )
    if isinstance(work_db, duckdb.DuckDBPyConnection):
        rows = work_db.execute(query).fetchall()
    else:
        with pipeline_db.connect(work_db, read_only=True) as con:
            rows = con.execute(query).fetchall()
    return {source: ids for source, ids in rows if source in SOURCES or source == "status_imports"}


def validate(run_id: str, started_at: datetime) -> dict:
    paths = resolve_paths()
    loads = unpublished_loads(paths.work_db)
    if not loads:
        return dict(NOTHING_TO_VALIDATE)
    gx = import_gx()
    # definitions are rebuilt every run from expectations/; past validation results stay,
    # so Data Docs keep the history of every night
    for stale in ("checkpoints", "validation_definitions", "expectations"):
        shutil.rmtree(paths.work_dir / "gx" / stale, ignore_errors=True)
    context = file_context(gx, paths)
    datasource = work_datasource(context, paths.work_db)
    definitions, batch_queries = [], {}
    for source in loads:
        suite_json = read_suite(SUITES / f"{source}.json")
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(
                name=suite_json["name"],
                meta=suite_json.get("meta", {}),
                expectations=[expectation(gx, e) for e in suite_json["expectations"]],
            )
        )
        # a query asset (GX's table asset loses the schema name in some metrics on DuckDB):
        # GX runs it as a subquery per metric, and DuckDB pushes the load filter into the scan
        ids = ", ".join(str(i) for i in loads[source])
        batch_queries[source] = f"select * from raw.{source} where _load_id in ({ids})"
        asset = datasource.add_query_asset(
            name=f"{source}__loaded_this_run", query=batch_queries[source]
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
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
        )
    )
    latest = (started_at + CLOCK_TOLERANCE).strftime("%Y-%m-%d %H:%M:%S")
    result = checkpoint.run(
        expectation_parameters={"latest_allowed_timestamp": latest},
        run_id=gx.RunIdentifier(run_name=run_id),
    )
    engine = datasource.get_execution_engine()
    out = []
    for validation in result.run_results.values():
        source = validation.suite_name.removeprefix("landing.")
        for r in validation.results:
            config = r.expectation_config
            count, sample = _unexpected(r.result)
            if not r.success and "unexpected_rows_query" in config.kwargs:
                sample = _sample_rows(
                    engine, config.kwargs["unexpected_rows_query"], batch_queries[source]
                )
            out.append(
                {
                    "source": source,
                    "expectation": SUITE_TYPE.get(config.type, config.type),
                    "rule": (config.meta or {}).get("rule", config.type),
                    "success": bool(r.success),
                    "unexpected_count": count,
                    "sample": sample,
                    "error": exception_message(r),
                }
            )
    engine.close()
    return {"results": out, "data_docs": update_data_docs(context, result)}


def _unexpected(result: dict) -> tuple[int | None, list[str]]:
    """How many rows or values failed, and up to 5 failing values of a column expectation
    (an ``unexpected_rows_expectation`` reports only its count in the SUMMARY format)."""
    count = result.get("unexpected_count", result.get("observed_value"))
    return count, [str(v) for v in (result.get("partial_unexpected_list") or [])][:5]


def _sample_rows(engine, unexpected_rows_query: str, batch_query: str) -> list[str]:
    """Up to 5 rows of a failed ``unexpected_rows_expectation``, over the same batch (GX
    keeps them only in its COMPLETE format, which would list every failing value of every
    column expectation too)."""
    import sqlalchemy as sa

    query = unexpected_rows_query.replace("{batch}", f"({batch_query}) as batch")
    rows = engine.execute_query(sa.text(f"select * from ({query}) as unexpected limit 5"))
    return [str(tuple(row)) for row in rows.fetchall()]


NOTHING_TO_VALIDATE = {"results": [], "data_docs": None}  # what ``validate`` says then


def _child_args(run_id: str, started_at: datetime) -> list[str]:
    return ["--run-id", run_id, "--started-at", started_at.isoformat()]


def prepare(run_id: str, started_at: datetime) -> None:
    """Start the import checks' child now (the ingest calls it once a file loads), so it
    imports Great Expectations (about 3 s) while the night ingests; it touches nothing until
    ``validate_in_child`` lets it go (``gx_runtime``: only where the night runs in this
    process)."""
    start_ahead("import checks", __name__, _child_args(run_id, started_at))


def validate_in_child(run_id: str, started_at: datetime) -> dict:
    """Run ``validate`` in a child process (see the module's doc), the prepared one if it is
    still there, and return its report."""
    return run_child("import checks", __name__, _child_args(run_id, started_at))


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
    parser = child_parser(__doc__)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--started-at", required=True, type=datetime.fromisoformat)
    args = parser.parse_args(argv)
    return serve(args.wait, lambda: validate(args.run_id, args.started_at))


if __name__ == "__main__":
    sys.exit(main())
