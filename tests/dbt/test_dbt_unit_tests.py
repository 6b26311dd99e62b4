"""The dbt project's unit tests (rules in SQL) pass, run by dbt itself on an empty work file."""

from __future__ import annotations

import json
import subprocess

import duckdb

from customer_status.ingest.loader import ensure_raw_schema
from customer_status.pipeline import published
from customer_status.pipeline.build import dbt_command, dbt_env
from customer_status.settings import resolve_paths


def test_dbt_unit_tests_pass(tmp_path):
    paths = resolve_paths(tmp_path / "landing", tmp_path / "warehouse.duckdb")
    paths.work_dir.mkdir(parents=True)
    with duckdb.connect(str(paths.work_db)) as con:
        ensure_raw_schema(con)  # unit tests read the sources' column types
        published.create_empty(con)
    vars_arg = json.dumps({"as_of_date": "2026-11-01"})
    # unit tests read their inputs' column types from the database: build everything empty
    empty = subprocess.run(
        dbt_command(
            paths, "build", "--empty", "--exclude-resource-type", "unit_test", "--vars", vars_arg
        ),
        env=dbt_env(paths),
        cwd=paths.dbt_project,
        capture_output=True,
        text=True,
    )
    assert empty.returncode == 0, empty.stdout[-6000:]
    proc = subprocess.run(
        dbt_command(
            paths,
            "test",
            "--select",
            "test_type:unit",
            "--vars",
            json.dumps({"as_of_date": "2026-11-01"}),
        ),
        env=dbt_env(paths),
        cwd=paths.dbt_project,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    results = json.loads((paths.dbt_target / "target" / "run_results.json").read_text())["results"]
    unit = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit) >= 36, [r["unique_id"] for r in results]
    assert all(r["status"] == "pass" for r in unit), [(r["unique_id"], r["status"]) for r in unit]
