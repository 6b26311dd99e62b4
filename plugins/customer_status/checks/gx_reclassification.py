"""Reclassifications stay valid (rules §11): the Great Expectations suites in
``expectations/reclassification/``, run on the night's candidate tables before anything is
published.

One suite per candidate table (``meta.batch``: a dbt model, the suite's ``{batch}``); every
expectation is an ``unexpected_rows_expectation``, a query GX runs where the data is (SQL
pushdown: nothing is pulled into pandas) that returns the offending rows, ``tenant_id``
first. The other tables a query needs are named as in dbt (``{{ ref('name') }}``) and
resolved from dbt's manifest (``dbt_relations``). The suites run where the night's tables
were built: on the working DuckDB file, or on the Spark cluster through its Thrift server
for a night with ``--engine spark`` (``candidates_datasource``), so their SQL is written for
both engines. Results go to the night's Data Docs beside the import suites.

A failed expectation becomes one failed check per tenant: its count of offending rows and
up to 5 of them, in order (``check_results``). Runs in its own process
(``python -m customer_status.checks.gx_reclassification``, see ``gx_runtime``), started by
the ``audit`` step.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..settings import Paths, resolve_paths
from .dbt_relations import Relations
from .gx_runtime import (
    SAMPLE,
    SUITES,
    child_parser,
    cluster_datasource,
    exception_message,
    expectation,
    file_context,
    import_gx,
    isolate_failures,
    read_suite,
    run_child,
    serve,
    short_error,
    start_ahead,
    update_data_docs,
    work_datasource,
)
from .results import CheckResult

SUITE_DIR = SUITES / "reclassification"
SWING = "billable_swing_within_limit"


def suite_files(folder: Path = SUITE_DIR) -> list[Path]:
    return sorted(folder.glob("*.json"))


def validate(
    paths: Paths,
    run_id: str,
    relations: Relations | None = None,
    *,
    data_docs: bool = True,
    only: set[str] | None = None,
) -> dict:
    """Run every reclassification suite (or the checks named in ``only``) on the candidate
    tables of ``paths.work_db``; ``relations``: dbt's, from the night's manifest by default.
    ``data_docs``: keep the results in the work area's GX project and update its Data Docs
    (else an in-memory GX context: tests)."""
    gx = import_gx()
    relations = relations or Relations.of_build(paths)
    context = file_context(gx, paths) if data_docs else gx.get_context(mode="ephemeral")
    datasource, ran_on = candidates_datasource(context, paths, relations)
    definitions, batch_queries, specs = [], {}, {}
    for path in suite_files():
        suite_json = read_suite(path)
        entries = [
            e for e in suite_json["expectations"] if only is None or e["meta"]["check"] in only
        ]
        if not entries:
            continue
        name = suite_json["name"]
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(
                name=name,
                meta=suite_json.get("meta", {}),
                expectations=[expectation(gx, e, relations.render) for e in entries],
            )
        )
        batch = suite_json["meta"]["batch"]
        batch_queries[name] = f"select * from {relations.ref(batch)}"
        specs[name] = entries
        asset = datasource.add_query_asset(name=f"candidate_{batch}", query=batch_queries[name])
        definitions.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(
                    name=name, data=asset.add_batch_definition_whole_table("rows"), suite=suite
                )
            )
        )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name="audit_reclassifications",
            validation_definitions=definitions,
            result_format={"result_format": "SUMMARY"},
        )
    )
    engine = datasource.get_execution_engine()
    if engine.dialect_name == "duckdb":
        isolate_failures(engine)
    result = checkpoint.run(run_id=gx.RunIdentifier(run_name=run_id))
    found: dict[tuple[str, str], object] = {}
    for validation in result.run_results.values():
        for r in validation.results:
            found[(validation.suite_name, (r.expectation_config.meta or {}).get("check"))] = r
    out = []
    try:
        for name, entries in specs.items():
            for spec in entries:
                check = spec["meta"]["check"]
                r = found.get((name, check))
                error = "no result from Great Expectations" if r is None else exception_message(r)
                outcome = {
                    "suite": name,
                    "check": check,
                    "success": bool(r is not None and r.success and not error),
                    "unexpected_count": None if r is None else r.result.get("observed_value"),
                    "error": error,
                    "tenants": {},
                    **{k: spec["meta"][k] for k in ("passed", "failed", "columns")},
                }
                if not outcome["success"] and not error:
                    query = relations.render(spec["kwargs"]["unexpected_rows_query"])
                    try:
                        outcome["tenants"] = tenant_samples(engine, query, batch_queries[name])
                    except Exception as exc:  # the query itself is broken: say so, fail
                        error = short_error(f"{type(exc).__name__}: {exc}")
                        outcome["error"] = error.splitlines()[0]
                out.append(outcome)
    finally:
        engine.close()
    return {
        "results": out,
        "ran_on": ran_on,
        "data_docs": update_data_docs(context, result) if data_docs else None,
    }


def candidates_datasource(context, paths: Paths, relations: Relations):
    """Where the night's candidate tables are, as a GX datasource, and its description: the
    Spark cluster (its Thrift server) when dbt built ``relations`` there (the night's
    manifest says on which engine), so the suites run on the tables the cluster built; else
    the working DuckDB file."""
    from ..spark import cluster

    if relations.adapter_type == "spark":
        address = cluster.thrift_address(paths.work_dir)
        return cluster_datasource(context, address), f"the Spark cluster at {address}"
    return work_datasource(context, paths.work_db, name="candidates"), "the working DuckDB file"


def tenant_samples(engine, unexpected_rows_query: str, batch_query: str) -> dict:
    """Per tenant (the query's first column): how many rows failed, and the first ``SAMPLE``
    of them in the order of their columns, computed where the data is, over the same batch
    (GX keeps no failing rows in its SUMMARY format, and only the first 200 in COMPLETE)."""
    import sqlalchemy as sa

    query = unexpected_rows_query.replace("{batch}", f"({batch_query}) as batch_rows")
    columns = list(engine.execute_query(sa.text(f"select * from ({query}) u limit 0")).keys())
    quote = engine.engine.dialect.identifier_preparer.quote
    tenant, ordered = quote(columns[0]), ", ".join(quote(c) for c in columns)
    rows = engine.execute_query(
        sa.text(
            f"""select * from (
                select u.*, row_number() over (partition by {tenant} order by {ordered})
                    as sample_number__, count(*) over (partition by {tenant}) as tenant_rows__
                from ({query}) u
            ) numbered
            where sample_number__ <= {SAMPLE}
            order by {tenant}, sample_number__"""
        )
    ).fetchall()
    tenants: dict[str, dict] = {}
    for row in rows:
        values = tuple(row)
        entry = tenants.setdefault(values[0], {"rows": values[-1], "sample": []})
        entry["sample"].append(list(values[1:-2]))
    return tenants


def check_results(report: dict, accept_swing: bool = False) -> list[CheckResult]:
    """Checks as users see them: passed, or one failure per tenant with its sample rows;
    ``accept_swing``: the operator accepted a billable swing beyond the tenant's limit for
    this run (the check then passes and says so)."""
    results = []
    for e in report["results"]:
        name = e["check"]
        if e["error"]:
            results.append(CheckResult(name, False, f"could not be evaluated: {e['error']}"))
        elif e["success"]:
            results.append(CheckResult(name, True, e["passed"]))
        elif name == SWING:
            results.extend(_swing_results(e, accept_swing))
        else:
            for tenant, found in sorted(e["tenants"].items()):
                results.append(
                    CheckResult(
                        name,
                        False,
                        f"{found['rows']} {e['failed']} ({e['columns']})",
                        tenant_id=tenant,
                        sample=[tuple(row) for row in found["sample"]],
                    )
                )
    return results


def _swing_results(e: dict, accept_swing: bool) -> list[CheckResult]:
    results = []
    for tenant, found in sorted(e["tenants"].items()):
        before, after, swing, allowed = found["sample"][0]
        limit = f"{float(allowed):.0%}" if allowed is not None else "(none set for the tenant)"
        detail = (
            f"billable customers {before:,} -> {after:,} ({float(swing):.1%}) exceeds "
            f"max_billable_swing {limit}"
        )
        if accept_swing:
            detail += "; accepted by the operator (--accept-swing)"
            results.append(CheckResult(SWING, True, detail, tenant_id=tenant))
        else:
            detail += "; re-run with --accept-swing if it is expected"
            results.append(
                CheckResult(SWING, False, detail, tenant_id=tenant, sample=[(before, after)])
            )
    return results


def prepare(run_id: str) -> None:
    """Start the audit's child now, so it imports Great Expectations (about 3 s) while dbt
    builds; it touches nothing until ``validate_in_child`` lets it go (``gx_runtime``:
    only where the night runs in this process)."""
    start_ahead("audit", __name__, ["--run-id", run_id])


def validate_in_child(run_id: str) -> dict:
    """Run ``validate`` in a child process (see ``gx_runtime``), the prepared one if it is
    still there, and return its report."""
    return run_child("audit", __name__, ["--run-id", run_id])


def main(argv: list[str] | None = None) -> int:
    parser = child_parser(__doc__)
    parser.add_argument("--run-id", required=True)
    args = parser.parse_args(argv)
    return serve(args.wait, lambda: validate(resolve_paths(), args.run_id))


if __name__ == "__main__":
    sys.exit(main())
