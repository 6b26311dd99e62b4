"""One empty build of the dbt project per session, shared by the dbt tests: the unit tests
run on it (test_dbt_unit_tests.py) and the project's layout is checked on the manifest it
parsed (test_project_layout.py)."""

from __future__ import annotations

import json
import shutil
import subprocess

import duckdb
import pytest

from customer_status.ingest.loader import ensure_raw_schema
from customer_status.pipeline import published
from customer_status.pipeline.build import dbt_command, dbt_env, dbt_folder
from customer_status.settings import Paths, resolve_paths

VARS = json.dumps({"as_of_date": "2026-11-01"})


def _dbt(paths: Paths, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        dbt_command(paths, *args, "--vars", VARS),
        env=dbt_env(paths),
        cwd=dbt_folder(paths),
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def run_dbt():
    """``run_dbt(paths, *args)``: dbt in a child process on the test's work file, with the
    pipeline's environment and an as-of date (a fixture, not an import: pytest loads every
    folder's conftest as the same module name)."""
    return _dbt


@pytest.fixture(scope="session")
def empty_build(tmp_path_factory) -> Paths:
    """Every model built empty: unit tests read their inputs' column types from the database.
    The manifest of that build (a full parse: the target folder is new) is kept beside it as
    ``parsed-manifest.json`` before any later dbt command writes the target again."""
    root = tmp_path_factory.mktemp("dbt")
    paths = resolve_paths(root / "landing", root / "warehouse.duckdb")
    paths.work_dir.mkdir(parents=True)
    with duckdb.connect(str(paths.work_db)) as con:
        ensure_raw_schema(con)  # unit tests read the sources' column types
        published.create_empty(con)
    empty = _dbt(paths, "build", "--empty", "--exclude-resource-type", "unit_test")
    assert empty.returncode == 0, empty.stdout[-6000:]
    shutil.copyfile(paths.dbt_target / "target" / "manifest.json", root / "parsed-manifest.json")
    return paths


@pytest.fixture(scope="session")
def manifest(empty_build) -> dict:
    """The whole parsed project (every node, macro and unit test, whatever the build selected)."""
    return json.loads((empty_build.work_dir.parent / "parsed-manifest.json").read_text())
