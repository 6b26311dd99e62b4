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
from ..settings import PROJECT_ROOT, duckdb_memory_limit, resolve_paths
from .results import CheckResult

SUITES = Path(os.environ.get("CUSTOMER_STATUS_EXPECTATIONS") or PROJECT_ROOT / "expectations")
CLOCK_TOLERANCE = timedelta(hours=1)


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
        name="work",
        connection_string=f"duckdb:///{paths.work_db}",
        # the run's DuckDB settings (settings.tune), as connect-time config of GX's engine
        kwargs={"connect_args": {"config": {"memory_limit": duckdb_memory_limit()}}},
    )
    definitions, batch_queries = [], {}
    for source in loads:
        suite_json = json.loads((SUITES / f"{source}.json").read_text())
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(
                name=suite_json["name"],
                meta=suite_json.get("meta", {}),
                expectations=[_expectation(gx, e) for e in suite_json["expectations"]],
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
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
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
                    "expectation": config.type,
                    "rule": (config.meta or {}).get("rule", config.type),
                    "success": bool(r.success),
                    "unexpected_count": count,
                    "sample": sample,
                    "error": (r.exception_info or {}).get("exception_message")
                    if isinstance(r.exception_info, dict)
                    and r.exception_info.get("raised_exception")
                    else None,
                }
            )
    docs = context.get_docs_sites_urls()
    engine.close()
    return {"results": out, "data_docs": docs[0]["site_url"] if docs else None}


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
