"""The published tables have one source of truth: the marts' enforced dbt contracts.

``published.marts()`` reads them from the YAML; publish copies exactly those tables with
those columns in that order, and the restatement snapshot creates its tables from them."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from customer_status.pipeline import publish, published
from customer_status.settings import PROJECT_ROOT, resolve_paths

PROJECT = PROJECT_ROOT / "dbt_project"

# The public interface (docs/contract.md, "Published tables"): these columns, in this order,
# at the start of each table. Marts may gain columns, never lose or rename one.
PUBLIC_COLUMNS = {
    "customer_status": "tenant_id customer_id as_of_date status account_status status_label "
    "lifecycle_status member_status inactive_reason is_billable can_email can_sms can_push "
    "can_redeem account_status_reason account_status_updated_at account_status_updated_by "
    "status_since",
    "customer_status_history": "tenant_id customer_id valid_from valid_to status "
    "account_status status_label lifecycle_status member_status inactive_reason is_billable",
    "status_changes": "tenant_id customer_id changed_on dimension from_value to_value reason "
    "actor source",
    "status_action_outcomes": "tenant_id action_id customer_id action",
    "status_counts_daily": "tenant_id date dimension value customers",
    "billable_counts_daily": "tenant_id date billable_customers active_members "
    "inactive_members customers",
    "billing_monthly": "tenant_id month billing_basis month_end_billable peak_billable "
    "peak_date average_billable days_computed is_complete",
    "billing_restatements": "tenant_id period metric old_value new_value restated_by_run "
    "restated_at",
    "orders": "tenant_id order_id customer_id",
    "import_rejects": "source file row_number tenant_id error",
    "erasures": "tenant_id customer_id request_id requested_at erased_by_run actor reason",
}
# columns the contract promises but not as a prefix (additions sit between them today)
PUBLIC_ANYWHERE = {
    "status_action_outcomes": "requested_at outcome rejection_reason source actor",
    "orders": "paid_at refunded_at amount currency is_outlier outlier_reason",
}


def test_every_mart_model_is_published_with_a_typed_contract():
    marts = published.marts(PROJECT)
    models = sorted(p.stem for p in (PROJECT / "models" / "marts").rglob("*.sql"))
    assert sorted(marts) == models
    for mart in marts.values():
        assert mart.columns, mart.name
        assert all(data_type for _, data_type in mart.columns), mart.name


def test_the_contracts_keep_every_public_column_in_order():
    marts = published.marts(PROJECT)
    for table, columns in PUBLIC_COLUMNS.items():
        expected = columns.split()
        assert marts[table].column_names[: len(expected)] == expected, table
    for table, columns in PUBLIC_ANYWHERE.items():
        names = marts[table].column_names
        wanted = columns.split()
        assert [c for c in names if c in wanted] == wanted, table


def test_the_snapshot_tables_are_the_billing_marts_with_their_contracted_columns():
    tables = published.snapshot_tables(PROJECT)
    marts = published.marts(PROJECT)
    assert list(tables) == ["billable_counts_daily", "billing_monthly", "billing_restatements"]
    assert all(tables[t] == marts[t] for t in tables)


def _project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "dbt_project"
    shutil.copytree(PROJECT / "models", copy / "models")
    return copy


def test_a_mart_without_an_enforced_contract_is_an_error_naming_it(tmp_path):
    project = _project_copy(tmp_path)
    yml = project / "models" / "marts" / "billing" / "_billing__models.yml"
    text = yml.read_text()
    assert text.count("contract: {enforced: true}") == 3
    yml.write_text(text.replace("contract: {enforced: true}", "contract: {enforced: false}", 1))
    with pytest.raises(published.ContractError, match="billable_counts_daily"):
        published.marts(project)


def test_a_column_without_a_type_is_an_error_naming_it(tmp_path):
    project = _project_copy(tmp_path)
    yml = project / "models" / "marts" / "billing" / "_billing__models.yml"
    yml.write_text(yml.read_text().replace("        data_type: date\n", "", 1))
    with pytest.raises(published.ContractError, match="billable_counts_daily.*column date"):
        published.marts(project)


def test_a_mart_model_missing_from_the_yaml_is_an_error(tmp_path):
    project = _project_copy(tmp_path)
    (project / "models" / "marts" / "billing" / "billing_forecast.sql").write_text("select 1\n")
    with pytest.raises(published.ContractError, match="billing_forecast"):
        published.marts(project)


def test_the_snapshot_is_created_from_the_contract_and_reads_an_older_warehouse(tmp_path):
    """A warehouse published before a mart gained a column still snapshots: the new column
    is NULL; the snapshot's columns and types are the contract's."""
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.billable_counts_daily as select 't1' as tenant_id, "
            "date '2026-03-01' as date, 5::bigint as billable_customers, "
            "6::bigint as active_members, 1::bigint as inactive_members"  # no `customers`
        )
    with duckdb.connect(str(tmp_path / "work.duckdb")) as con:
        counts = published.snapshot(con, warehouse, PROJECT)
        assert counts == {
            "billable_counts_daily": 1,
            "billing_monthly": 0,
            "billing_restatements": 0,
        }
        assert con.execute("select * from published.billable_counts_daily").fetchall() == [
            ("t1", date(2026, 3, 1), 5, 6, 1, None)
        ]
        for table, mart in published.snapshot_tables(PROJECT).items():
            got = con.execute(
                "select column_name, lower(data_type) from duckdb_columns() "
                "where schema_name = 'published' and table_name = ? order by column_index",
                [table],
            ).fetchall()
            assert got == list(mart.columns), table


def _work_area(tmp_path: Path, monkeypatch) -> tuple:
    """A work file whose ``marts`` hold every contracted mart (columns in reverse order, one
    row each) and a table no contract names; the run log the publish copies."""
    monkeypatch.setenv("CUSTOMER_STATUS_DBT_PROJECT", str(PROJECT))
    paths = resolve_paths(tmp_path / "landing", tmp_path / "warehouse.duckdb")
    paths.work_dir.mkdir(parents=True)
    marts = published.marts(PROJECT)
    with duckdb.connect(str(paths.work_db)) as con:
        con.execute("create schema marts")
        con.execute("create schema ops")
        for mart in marts.values():
            reversed_ddl = ", ".join(f'"{n}" {t}' for n, t in reversed(mart.columns))
            con.execute(f"create table marts.{mart.name} ({reversed_ddl})")
            con.execute(f"insert into marts.{mart.name} default values")
        con.execute("create table marts.old_renamed_model as select 1 as x")
        con.execute(
            "create table ops.pipeline_runs (run_id varchar, as_of_date date, "
            "started_at timestamp, finished_at timestamp, outcome varchar, "
            "checks_passed integer, checks_failed integer, accepted_swing boolean, "
            "failed_step varchar, message varchar)"
        )
        con.execute(
            "insert into ops.pipeline_runs values ('r1', date '2026-03-31', "
            "timestamp '2026-04-01 01:00:00', null, 'running', 1, 0, false, null, null)"
        )
    return paths, marts


def test_publish_copies_exactly_the_contracted_marts_in_contract_column_order(
    tmp_path, monkeypatch
):
    paths, marts = _work_area(tmp_path, monkeypatch)
    counts = publish.publish_marts(paths, "r1")
    assert set(counts) == set(marts)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        }
        assert tables == set(marts) | {"pipeline_runs"}  # not old_renamed_model
        for mart in marts.values():
            got = con.execute(
                "select column_name, lower(data_type) from duckdb_columns() "
                "where schema_name = 'marts' and table_name = ? order by column_index",
                [mart.name],
            ).fetchall()
            assert got == list(mart.columns), mart.name


def test_publish_refuses_when_a_contracted_mart_was_not_built(tmp_path, monkeypatch):
    paths, _ = _work_area(tmp_path, monkeypatch)
    with duckdb.connect(str(paths.work_db)) as con:
        con.execute("drop table marts.billing_monthly")
    with pytest.raises(publish.PublishError, match="billing_monthly"):
        publish.publish_marts(paths, "r1")
    assert not paths.warehouse.exists()
    assert not list(paths.warehouse.parent.glob("*.publishing"))
