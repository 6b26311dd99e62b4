"""A night whose candidate account statuses break rules §4 fails its audit: the command exits 1
naming the check, the tenant and sample rows, and every published table stays as it was
(only ``pipeline_runs`` gains the failed run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e
CLI = str(Path(sys.executable).with_name("customer-status"))
PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
FOLD = "models/intermediate/customer_status/per_customer/int_account_status_events.sql"


def published_tables(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' "
                "and table_name <> 'pipeline_runs' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in names}


def test_a_fold_that_applies_forbidden_transitions_is_stopped_by_the_audit(
    generated_history, tmp_path
):
    # a copy of the generated history after its good night of 2026-10-31 (fixture
    # ``generated_history``), every generated file landed for the next night
    zone = generated_history.copy_after_first_night(tmp_path / "zone")
    generated_history.land(zone.landing, up_to=None)
    landing, warehouse = zone.landing, zone.warehouse
    base = [CLI, "run", "--landing", str(landing), "--warehouse", str(warehouse)]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select as_of_date::varchar, outcome from marts.pipeline_runs"
        ).fetchall() == [("2026-10-31", "published")]
    before = published_tables(warehouse)

    # a copy of the project whose fold no longer checks transitions (a bug someone could write)
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))
    fold = project / FOLD
    sql = fold.read_text()
    for rule in (
        "when not coalesce(transitions.is_allowed, false)",
        "when next_request.target_status = 'fraud_confirmed'",
    ):
        assert rule in sql, f"the fold changed shape: {rule!r} not found"
        sql = sql.replace(rule, "when 1 = 0")
    fold.write_text(sql)

    bad = subprocess.run(
        [*base, "--date", "2026-11-01"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CUSTOMER_STATUS_DBT_PROJECT": str(project)},
    )
    assert bad.returncode == 1
    output = bad.stdout + bad.stderr
    assert "step: audit" in output
    assert "FAIL only_allowed_account_transitions [tenant t1]" in output
    assert "'active', 'fraud_confirmed'" in output  # a sample row: customer, request, from, to
    assert published_tables(warehouse) == before
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select as_of_date::varchar, outcome, failed_step, checks_failed > 0 from marts.pipeline_runs "
            "order by started_at"
        ).fetchall() == [
            ("2026-10-31", "published", None, False),
            ("2026-11-01", "failed", "audit", True),
        ]
