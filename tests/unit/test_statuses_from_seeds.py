"""Statuses are data (issue 15): the Python that needs a status list reads the dbt project's
seeds (``customer_status.seeds``), as ``bulk.py`` does; none keeps its own copy.

- ingestion's check of ``status_labels.status`` (rules §4) takes the account statuses of the
  seed ``account_statuses``, read when a file is checked;
- the night report stacks the status mix in the headline statuses' order (rules §2), from
  the seeds;
- no literal list of statuses is left in ``plugins/`` or ``dags/`` (the explanations of
  ``explain.py`` and the generator's scenarios are messages and made-up data, not lists).
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from customer_status import seeds
from customer_status.ingest.sources import SOURCES
from customer_status.report.data import TenantView
from customer_status.report.page import _status_mix
from customer_status.settings import PROJECT_ROOT

LABELS_HEADER = "tenant_id,label,status\n"


@pytest.fixture
def project_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the dbt project's seeds the pipeline reads (CUSTOMER_STATUS_DBT_PROJECT)."""
    copy = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_ROOT / "dbt_project" / "seeds", copy / "seeds")
    monkeypatch.setenv("CUSTOMER_STATUS_DBT_PROJECT", str(copy))
    return copy


def add_account_status(project: Path, status: str) -> None:
    path = project / "seeds" / "account_statuses.csv"
    path.write_text(path.read_text() + f"{status},8,true,false,false,false,false\n")


def test_status_labels_accept_the_seeds_account_statuses():
    assert SOURCES["status_labels"].column("status").values == seeds.account_statuses()


def test_a_status_added_to_the_seed_is_accepted_by_ingestion(landing, project_copy):
    landing.write("status_labels/a.csv", LABELS_HEADER + "t1,vip,active\nt1,hold,on_hold\n")
    landing.ingest()
    (error,) = [e for _, e in landing.rejects("status_labels/a.csv")]
    assert "status 'on_hold' is not one of active, suspended" in error

    add_account_status(project_copy, "on_hold")
    landing.write("status_labels/b.csv", LABELS_HEADER + "t1,hold,on_hold\n")
    landing.ingest()
    assert landing.rejects("status_labels/b.csv") == []
    assert landing.rows(
        "select label, status from raw.status_labels where _source_file = 'status_labels/b.csv'"
    ) == [("hold", "on_hold")]


def test_the_report_stacks_the_status_mix_in_the_seeds_headline_order(project_copy):
    add_account_status(project_copy, "on_hold")
    mix = {s: [("2026-03-31", 1)] for s in ("sleeping", "on_hold", "fraud_confirmed", "active")}
    mix["no_such_status"] = [("2026-03-31", 1)]
    names = [trace.name for trace in _status_mix(TenantView("t1", status_mix=mix)).data]
    assert names == ["fraud_confirmed", "on_hold", "active", "sleeping", "no_such_status"]


def _literal_status_lists(path: Path, statuses: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            texts = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if sum(isinstance(t, str) and t in statuses for t in texts) >= 3:
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    return found


def test_no_literal_status_list_in_python():
    statuses = {*seeds.account_statuses(), *seeds.headline_statuses()}
    generator = PROJECT_ROOT / "plugins" / "customer_status" / "generate"
    found = [
        hit
        for folder in ("plugins", "dags")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if generator not in path.parents
        for hit in _literal_status_lists(path, statuses)
    ]
    assert found == []


def test_the_import_suites_allow_exactly_the_sources_values():
    """The import suites are versioned JSON (expectations/), so their value sets repeat the
    sources' enums, the account statuses among them: a status added to the seed must be
    added to ``expectations/status_labels.json`` too, or the night's import check fails."""
    from customer_status.checks import gx_imports

    for name, source in SOURCES.items():
        suite = json.loads((gx_imports.SUITES / f"{name}.json").read_text())
        in_set = {
            e["kwargs"]["column"]: tuple(e["kwargs"]["value_set"])
            for e in suite["expectations"]
            if e["type"] == "expect_column_values_to_be_in_set"
        }
        for column in source.columns:
            if column.kind == "enum":
                assert in_set[column.name] == column.values, (name, column.name)
