"""The reclassification suites and the module that names dbt's tables: readable suites whose
queries name relations only through dbt's manifest, tenant settings from the model that
carries them, and no import circle in ``checks/``."""

from __future__ import annotations

import ast
import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from reclassification_harness import Candidates

from customer_status import started_ahead
from customer_status.checks import dbt_relations, gx_reclassification, gx_runtime
from customer_status.checks.dbt_relations import Relations, UnknownRelation

ROOT = Path(__file__).resolve().parents[2]
CHECKS_DIR = ROOT / "plugins" / "customer_status" / "checks"
REF = re.compile(r"ref\('(\w+)'\)")
SUITES = [(p.stem, gx_reclassification.read_suite(p)) for p in gx_reclassification.suite_files()]


def test_every_run_wide_check_has_one_expectation():
    checks = [e["meta"]["check"] for _, s in SUITES for e in s["expectations"]]
    assert sorted(checks) == sorted(
        [
            "only_allowed_account_transitions",
            "nothing_leaves_deleted_but_a_restore",
            "every_change_has_reason_and_actor",
            "one_row_per_customer_per_day",
            "statuses_add_up",
            "every_status_change_has_reason_and_actor",
            "daily_counts_reach_the_as_of_date",
            "billable_swing_within_limit",
        ]
    )


@pytest.mark.parametrize(("stem", "suite"), SUITES, ids=[stem for stem, _ in SUITES])
def test_a_suite_is_readable_and_names_tables_only_through_dbt(stem, suite):
    assert suite["name"] == f"reclassification.{stem}"
    assert suite["meta"]["batch"]  # the dbt model validated: the query's {batch}
    for e in suite["expectations"]:
        assert e["type"] == "unexpected_rows_expectation"
        meta = e["meta"]
        assert all(meta[k] for k in ("check", "rule", "severity", "passed", "failed", "columns"))
        query = e["kwargs"]["unexpected_rows_query"]
        assert "{batch}" in query
        # no schema written out: every other relation is a ref() resolved from the manifest
        assert not re.search(r"\b(raw|staging|intermediate|rules|marts)\.", query), query
        assert "order by all" not in query.lower()  # DuckDB-only; samples are ordered apart
        rendered = Relations(
            {n: f"s.{n}" for n in re.findall(r"ref\('(\w+)'\)", query)}
        ).render(query)
        assert "{{" not in rendered and rendered.lstrip().startswith(("select", "with"))


def test_relations_come_from_dbt_s_manifest(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "nodes": {
                    "model.p.int_run_parameters": {
                        "name": "int_run_parameters",
                        "resource_type": "model",
                        "relation_name": '"work"."intermediate"."int_run_parameters"',
                    },
                    "seed.p.account_status_transitions": {
                        "name": "account_status_transitions",
                        "resource_type": "seed",
                        "relation_name": '"work"."rules"."account_status_transitions"',
                    },
                    "test.p.not_null_x": {
                        "name": "not_null_x",
                        "resource_type": "test",
                        "relation_name": None,
                    },
                }
            }
        )
    )
    relations = Relations.from_manifest(manifest)
    assert relations.render(
        "select * from {batch} b join {{ ref('int_run_parameters') }} p on true "
        "join {{ref( 'account_status_transitions' )}} t on true"
    ) == (
        'select * from {batch} b join "work"."intermediate"."int_run_parameters" p on true '
        'join "work"."rules"."account_status_transitions" t on true'
    )
    with pytest.raises(UnknownRelation, match="no dbt model or seed named 'int_nothing'"):
        relations.render("select * from {{ ref('int_nothing') }}")
    with pytest.raises(ValueError, match="cannot resolve"):
        relations.render("select * from {{ source('landing', 'orders') }}")
    with pytest.raises(FileNotFoundError, match="dbt build"):
        Relations.from_manifest(tmp_path / "missing.json")


def test_no_dbt_table_is_named_in_python_sql_outside_the_manifest_module():
    """Issue 15's check: `git grep -niE "(from|join)\\s+(intermediate|staging|rules)\\.[a-z_]+"`."""
    pattern = re.compile(r"(from|join)\s+(intermediate|staging|rules)\.[a-z_]+", re.I)
    found = [
        str(p.relative_to(ROOT))
        for folder in ("plugins", "dags")
        for p in (ROOT / folder).rglob("*.py")
        if pattern.search(p.read_text()) and p.name != "dbt_relations.py"
    ]
    assert found == []


def test_the_swing_limit_comes_from_the_tenant_settings_model(tmp_path):
    """No Python literal: the limit (and its default) is the tenant settings model's
    ``max_billable_swing`` (``int_tenants``: the default applied there, once)."""
    assert "0.25" not in "".join(p.read_text() for p in CHECKS_DIR.glob("*.py"))
    db = Candidates(
        tmp_path,
        """
        create schema intermediate; create schema marts;
        create table intermediate.int_run_parameters as select date '2026-03-31' as as_of_date;
        create table marts.billable_counts_daily (
            tenant_id varchar, date date, billable_customers bigint, customers bigint);
        insert into marts.billable_counts_daily values
            ('t1', '2026-03-30', 10, 10), ('t1', '2026-03-31', 5, 5);
        create table intermediate.int_tenants (tenant_id varchar, max_billable_swing double);
        insert into intermediate.int_tenants values ('t1', 0.6);
        """,
    )
    [result] = db.check("billable_swing_within_limit")
    assert result.passed, result.describe()  # 50 % is within this tenant's 60 %
    db.execute("update intermediate.int_tenants set max_billable_swing = 0.4")
    [result] = db.check("billable_swing_within_limit")
    assert not result.passed and result.tenant_id == "t1"
    assert "10 -> 5 (50.0%) exceeds max_billable_swing 40%" in result.detail
    db.execute("delete from intermediate.int_tenants")  # no settings row: refused, said so
    [result] = db.check("billable_swing_within_limit")
    assert not result.passed and "none set" in result.detail


def test_samples_are_per_tenant_and_capped_at_five(tmp_path):
    db = Candidates(
        tmp_path,
        """
        create schema marts;
        create table marts.status_changes (
            tenant_id varchar, customer_id varchar, changed_on date, dimension varchar,
            to_value varchar, reason varchar, actor varchar);
        insert into marts.status_changes
            select 't1', 'c' || lpad(i::varchar, 2, '0'), date '2026-03-01', 'member_status',
                   'inactive', '', 'system'
            from range(7) r(i);
        insert into marts.status_changes values
            ('t2', 'x1', '2026-03-02', 'member_status', 'active', 'ok', '  ');
        """,
    )
    results = db.check("every_status_change_has_reason_and_actor")
    assert [(r.tenant_id, r.passed) for r in results] == [("t1", False), ("t2", False)]
    assert results[0].detail.startswith("7 status change(s) without a reason or an actor")
    assert [row[0] for row in results[0].sample] == ["c00", "c01", "c02", "c03", "c04"]
    assert results[1].sample == [("x1", date(2026, 3, 2), "member_status", "active", "ok", "  ")]


def test_a_check_that_cannot_run_fails_the_night_and_says_why(tmp_path):
    db = Candidates(
        tmp_path,
        "create schema marts; create table marts.status_changes (tenant_id varchar, note varchar);",
    )
    [result] = db.check("every_status_change_has_reason_and_actor")
    assert not result.passed and "could not be evaluated" in result.detail
    assert "reason" in result.detail, result.detail  # the column it could not find


def test_sample_rows_keep_their_types_across_the_child_process():
    report = {"rows": [[date(2026, 3, 31), datetime(2026, 3, 31, 6, 0), Decimal("0.25"), None]]}
    assert gx_runtime.loads(gx_runtime.dumps(report)) == report


def test_results_import_no_check_module():
    """The import circle is gone: ``results`` is imported by the checks and imports none."""
    tree = ast.parse((CHECKS_DIR / "results.py").read_text())
    imported = [
        node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert imported == []


def test_a_prepared_audit_waits_while_the_file_is_written_then_runs(tmp_path, monkeypatch):
    """``prepare`` (called when the build starts) imports GX in the audit's child while dbt
    still writes the working file; the child opens nothing before the audit lets it go."""
    import time

    import duckdb

    db = Candidates(
        tmp_path,
        """
        create schema marts;
        create table marts.status_changes (
            tenant_id varchar, customer_id varchar, changed_on date, dimension varchar,
            to_value varchar, reason varchar, actor varchar);
        insert into marts.status_changes values
            ('t9', 'c1', '2026-03-02', 'member_status', 'active', '', 'system');
        """,
    )
    db.engine.dispose()
    manifest = dbt_relations.manifest_path(db.paths)
    manifest.parent.mkdir(parents=True)
    # every table the suites name is this one: the other checks cannot be evaluated on it
    names = {
        n
        for _, suite in SUITES
        for n in [suite["meta"]["batch"]]
        + [m for e in suite["expectations"] for m in REF.findall(str(e["kwargs"]))]
    }
    nodes = {
        f"model.p.{n}": {
            "name": n,
            "resource_type": "model",
            "relation_name": "marts.status_changes",
        }
        for n in names
    }
    manifest.write_text(json.dumps({"nodes": nodes}))
    monkeypatch.setenv("CUSTOMER_STATUS_WORK_DIR", str(db.paths.work_dir))
    monkeypatch.setenv("CUSTOMER_STATUS_WAREHOUSE", str(db.paths.warehouse))
    monkeypatch.setattr(started_ahead, "_enabled", [True])  # as in a night run in-process
    writer = duckdb.connect(str(db.paths.work_db))  # as dbt holds it during the build
    gx_reclassification.prepare("run-9")
    time.sleep(4)  # long enough for the child to be waiting, its import done
    proc = started_ahead.waiting("audit")
    assert proc is not None, "the prepared child did not wait"
    writer.close()
    report = gx_reclassification.validate_in_child("run-9")
    assert proc.returncode == 0 and started_ahead.waiting("audit") is None
    results = {
        r.check: r
        for r in gx_reclassification.check_results(report)
        if r.check.startswith("every_s")
    }
    found = results["every_status_change_has_reason_and_actor"]
    assert (found.passed, found.tenant_id) == (False, "t9"), found.describe()
    assert found.sample[0][0] == "c1", found.describe()
    assert report["data_docs"].endswith("index.html")


STATUS_CHANGES_DDL = """
    create schema marts;
    create table marts.status_changes (
        tenant_id varchar, customer_id varchar, changed_on date, dimension varchar,
        to_value varchar, reason varchar, actor varchar);
    insert into marts.status_changes values
        ('t1', 'c1', '2026-03-01', 'member_status', 'inactive', 'r', 'system'),
        ('t1', 'c2', '2026-03-01', 'member_status', 'inactive', {reason}, 'system');
"""


@pytest.fixture
def status_changes_queries():
    """Every statement GX sends that reads ``marts.status_changes``."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "status_changes" in statement and "duckdb_tables" not in statement:
            seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def test_an_audit_query_runs_once_when_the_check_passes(tmp_path, status_changes_queries):
    """Issue 18 (fixed cost of a night): GX's own ``unexpected_rows_expectation`` runs its
    query twice (the rows, then their count); the audit asks for the count only, as the
    import checks do (``gx_counted_once``), so every run-wide check scans its table once."""
    db = Candidates(tmp_path, STATUS_CHANGES_DDL.format(reason="'ok'"))
    [result] = db.check("every_status_change_has_reason_and_actor")
    assert result.passed, result.describe()
    assert len(status_changes_queries) == 1, status_changes_queries


def test_a_failing_audit_check_reads_as_before_with_its_query_counted_once(
    tmp_path, status_changes_queries
):
    db = Candidates(tmp_path, STATUS_CHANGES_DDL.format(reason="''"))
    [result] = db.check("every_status_change_has_reason_and_actor")
    assert not result.passed and result.tenant_id == "t1"
    assert result.detail.startswith("1 status change(s) without a reason or an actor")
    assert [row[0] for row in result.sample] == ["c2"]
    # GX's count, then the per-tenant sample of the failure (``tenant_samples``: its columns
    # by a ``limit 0``, then the sample): never the rows GX would fetch and throw away
    assert len(status_changes_queries) == 3, status_changes_queries
