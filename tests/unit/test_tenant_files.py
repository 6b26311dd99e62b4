"""Per-tenant files (``publish.publish_marts`` with a ``TenantFiles`` plan), on a working file
made by hand (``publish_harness``): every contracted mart filled with rows of three declared
tenants (``t1``, ``t2`` and ``../evil``), rows of no tenant and rows of an undeclared one.

No dbt and no Airflow here: the nights themselves are ``tests/e2e/test_publish_per_tenant.py``
and ``tests/e2e/test_real_inputs_pertenant.py``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from publish_harness import ROW_TENANTS, ROWS_PER_TENANT, fill_work_file, work_area

from customer_status.pipeline import publish


@pytest.fixture
def paths(tmp_path, monkeypatch):
    return work_area(tmp_path, monkeypatch)


def _plan(paths, pii: str = "full") -> publish.TenantFiles:
    with duckdb.connect(str(paths.work_db), read_only=True) as con:
        return publish.plan_tenant_files(con, "intermediate.int_tenants", paths.warehouse, pii)


def _tables(con, catalog: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = ? "
            "and schema_name = 'marts'",
            [catalog],
        ).fetchall()
    }


# --- options ----------------------------------------------------------------------------


def test_options_come_from_the_arguments_else_the_environment(monkeypatch):
    monkeypatch.delenv(publish.PER_TENANT_ENV, raising=False)
    monkeypatch.delenv(publish.PII_ENV, raising=False)
    assert publish.tenant_publishing() == publish.TenantPublishing(False, "full")
    monkeypatch.setenv(publish.PER_TENANT_ENV, "yes")
    monkeypatch.setenv(publish.PII_ENV, "NONE")
    assert publish.tenant_publishing() == publish.TenantPublishing(True, "none")
    assert publish.tenant_publishing(False, "full") == publish.TenantPublishing(False, "full")
    monkeypatch.setenv(publish.PER_TENANT_ENV, "maybe")
    with pytest.raises(ValueError, match="CUSTOMER_STATUS_PUBLISH_PER_TENANT='maybe'"):
        publish.tenant_publishing()
    with pytest.raises(ValueError, match="'some'"):
        publish.tenant_publishing(True, "some")


# --- tenant ids in paths ----------------------------------------------------------------


@pytest.mark.parametrize(
    "tenant_id",
    [
        "../evil", "..", ".", "", None, "a/b", "a\\b", "/etc/passwd", "a\x00b", "x" * 65,
        "CON", "nul", "Com1", "lpt9", "-rf", "_hidden", "a b", "a.b", "café", "t1\n",
    ],
)
def test_a_tenant_id_that_is_not_a_plain_identifier_is_no_file_name(tenant_id):
    assert publish.unsafe_tenant_id(tenant_id)


@pytest.mark.parametrize("tenant_id", ["t1", "Shop_2", "a-b", "x" * 64, "CONSOLE", "com10"])
def test_a_plain_identifier_is_a_file_name(tenant_id):
    assert publish.unsafe_tenant_id(tenant_id) is None


def test_ids_that_differ_only_by_case_get_no_file(paths):
    fill_work_file(paths)
    with duckdb.connect(str(paths.work_db)) as con:
        con.execute("insert into intermediate.int_tenants values ('T1')")
    plan = _plan(paths)
    assert plan.tenants == ["t2"]
    assert set(plan.refused) == {"../evil", "T1", "t1"}
    assert "only by case" in plan.refused["t1"]


# --- the files ----------------------------------------------------------------------------


def test_each_declared_tenant_gets_exactly_its_rows_of_every_mart(paths):
    marts = fill_work_file(paths)
    plan = _plan(paths)
    assert plan.tenants == ["t1", "t2"]
    assert "not a plain identifier" in plan.refused["../evil"]
    publish.publish_marts(paths, "r1", tenant_files=plan)

    folder = paths.warehouse.parent / "tenants"
    assert sorted(p.name for p in folder.iterdir()) == ["t1.duckdb", "t2.duckdb"]
    # nothing was written outside the tenants folder: no "evil" anywhere under tmp
    root = paths.warehouse.parent.parent
    assert not [p for p in root.rglob("*") if "evil" in p.name]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        for tenant_id in plan.tenants:
            con.execute(f"attach '{folder / tenant_id}.duckdb' as tf (read_only)")
            assert _tables(con, "tf") == set(marts) | {"pipeline_runs"}
            for mart in marts.values():
                cols = ", ".join(f'"{c}"' for c in mart.column_names)
                mine = f"select {cols} from marts.{mart.name} where tenant_id = '{tenant_id}'"
                theirs = f"select {cols} from tf.marts.{mart.name}"
                for a, b in ((mine, theirs), (theirs, mine)):
                    diff = con.execute(f"select count(*) from ({a} except all {b})").fetchone()
                    assert diff == (0,), (tenant_id, mart.name)
                n = con.execute(f"select count(*) from tf.marts.{mart.name}").fetchone()[0]
                assert n == ROWS_PER_TENANT, (tenant_id, mart.name)
            runs = con.execute(
                "select run_id, outcome, message from tf.marts.pipeline_runs order by run_id"
            ).fetchall()
            assert runs == [("r0", "failed", None), ("r1", "published", None)]
            con.execute("detach tf")
        note = con.execute(
            "select message from marts.pipeline_runs where run_id = 'r1'"
        ).fetchone()[0]
    assert "2 written" in note and "'../evil'" in note and "not a plain identifier" in note


def test_pii_none_keeps_the_tables_and_columns_without_personal_values(paths):
    marts = fill_work_file(paths)
    publish.publish_marts(paths, "r1", tenant_files=_plan(paths, "none"))
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        personal = [
            r[0]
            for r in con.execute(
                "select email from marts.customer_status union all "
                "select phone from marts.customer_status union all "
                "select full_name from marts.customer_status union all "
                "select code from marts.customer_status"
            ).fetchall()
        ]
        assert len(personal) == 4 * len(ROW_TENANTS) * ROWS_PER_TENANT  # the warehouse keeps them
        t1 = paths.warehouse.parent / "tenants" / "t1.duckdb"
        con.execute(f"attach '{t1}' as tf (read_only)")
        for mart in marts.values():
            got = con.execute(
                "select column_name, lower(data_type) from duckdb_columns() "
                "where database_name = 'tf' and table_name = ? order by column_index",
                [mart.name],
            ).fetchall()
            assert got == list(mart.columns), mart.name  # same shape: same dashboard queries
            for column in mart.pii:
                assert con.execute(
                    f"select count(*) from tf.marts.{mart.name} where \"{column}\" is not null"
                ).fetchone() == (0,), (mart.name, column)
        assert con.execute("select count(*) from tf.marts.customer_status").fetchone()[0] == 4
        withheld = con.execute(
            "select source, error from tf.marts.import_rejects order by all"
        ).fetchall()
        assert withheld == [
            ("customers", publish.PII_WITHHELD_TEXT),
            ("customers", publish.PII_WITHHELD_TEXT),
            ("orders", "error 1 of t1"),
            ("orders", "error 3 of t1"),
        ]
        # no personal value of any customer anywhere in the file, in any column
        for table in _tables(con, "tf"):
            text = con.execute(
                f"select string_agg(cast(columns(*) as varchar), '|') from tf.marts.{table}"
            ).fetchone()
            blob = "|".join(str(v) for v in text)
            found = [v for v in personal if v in blob]
            assert not found, (table, found[:3])


def test_a_tenant_no_longer_declared_loses_its_file_other_files_stay(paths):
    fill_work_file(paths)
    publish.publish_marts(paths, "r1", tenant_files=_plan(paths))
    folder = paths.warehouse.parent / "tenants"
    (folder / "notes.txt").write_text("not ours to remove")
    with duckdb.connect(str(paths.work_db)) as con:
        con.execute("delete from intermediate.int_tenants where tenant_id = 't2'")
        con.execute("update ops.pipeline_runs set outcome = 'published'")
        con.execute(
            "insert into ops.pipeline_runs values ('r2', date '2026-04-01', "
            "timestamp '2026-04-02 01:00:00', null, 'running', 1, 0, false, null, null)"
        )
    publish.publish_marts(paths, "r2", tenant_files=_plan(paths))
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "t1.duckdb"]


def test_a_failed_publish_leaves_every_tenant_file_as_it_was(paths):
    fill_work_file(paths)
    publish.publish_marts(paths, "r1", tenant_files=_plan(paths))
    folder = paths.warehouse.parent / "tenants"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with duckdb.connect(str(paths.work_db)) as con:
        con.execute("drop table marts.billing_monthly")
    with pytest.raises(publish.PublishError):
        publish.publish_marts(paths, "r1", tenant_files=_plan(paths))
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("select count(*) from marts.pipeline_runs").fetchone()[0], flush=True)
    sys.stdin.readline()  # hold the file open until told
    print(con.execute("select count(*) from marts.pipeline_runs").fetchone()[0], flush=True)
    """
)


def test_a_reader_holding_a_tenant_file_never_blocks_the_next_publish(paths):
    fill_work_file(paths)
    publish.publish_marts(paths, "r1", tenant_files=_plan(paths))
    tenant_file = paths.warehouse.parent / "tenants" / "t1.duckdb"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(tenant_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert reader.stdout.readline().strip() == "2"
        with duckdb.connect(str(paths.work_db)) as con:
            con.execute("update ops.pipeline_runs set outcome = 'published'")
            con.execute(
                "insert into ops.pipeline_runs values ('r2', date '2026-04-01', "
                "timestamp '2026-04-02 01:00:00', null, 'running', 1, 0, false, null, null)"
            )
        publish.publish_marts(paths, "r2", tenant_files=_plan(paths))  # does not wait or fail
        out, _ = reader.communicate("\n", timeout=60)
        assert out.strip() == "2"  # the open reader keeps the night it opened
    finally:
        reader.kill()
    with duckdb.connect(str(tenant_file), read_only=True) as con:  # a new reader: the next night
        assert con.execute("select count(*) from marts.pipeline_runs").fetchone()[0] == 3
    assert not list(Path(tenant_file.parent).glob(".*.publishing"))


# --- the command line -------------------------------------------------------------------


@pytest.fixture
def cli_nights(tmp_path, monkeypatch):
    """``customer-status run/backfill`` up to the nights: what the nights would see."""
    from customer_status import cli

    monkeypatch.delenv(publish.PER_TENANT_ENV, raising=False)
    monkeypatch.delenv(publish.PII_ENV, raising=False)
    seen = []
    monkeypatch.setattr(
        cli,
        "_run_nights",
        lambda paths, dates, *a: seen.append(
            (dates, os.environ[publish.PER_TENANT_ENV], os.environ[publish.PII_ENV])
        )
        or 0,
    )
    monkeypatch.setattr(cli, "_use_engine", lambda args, paths: None)
    (tmp_path / "landing").mkdir()
    where = ["--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w.duckdb")]

    def command(*args, env=None):
        for name in (publish.PER_TENANT_ENV, publish.PII_ENV):  # one command, one process
            monkeypatch.delenv(name, raising=False)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        return cli.main([*args, *where]), seen

    return command


def test_the_flags_reach_the_nights_through_the_environment(cli_nights):
    code, seen = cli_nights("run", "--date", "2026-03-31", "--publish-per-tenant",
                            "--publish-pii", "none")
    assert code == 0 and seen[-1][1:] == ("1", "none")
    code, seen = cli_nights("backfill", "--start", "2026-03-30", "--end", "2026-03-31",
                            "--publish-per-tenant")
    assert code == 0 and seen[-1][1:] == ("1", "full") and len(seen[-1][0]) == 2
    code, seen = cli_nights("run", "--date", "2026-03-31")
    assert code == 0 and seen[-1][1:] == ("0", "full")


def test_publish_pii_without_per_tenant_files_is_bad_usage(cli_nights):
    code, seen = cli_nights("run", "--date", "2026-03-31", "--publish-pii", "none")
    assert code == 2 and seen == []
    # the environment asks for the files
    code, seen = cli_nights("run", "--date", "2026-03-31", "--publish-pii", "none",
                            env={publish.PER_TENANT_ENV: "1"})
    assert code == 0 and seen[-1][1:] == ("1", "none")
    code, _ = cli_nights("run", "--date", "2026-03-31", env={publish.PER_TENANT_ENV: "perhaps"})
    assert code == 2


# --- the publish step -------------------------------------------------------------------


def test_a_night_without_tenant_files_leaves_earlier_ones_and_says_they_are_old(
    paths, monkeypatch, caplog
):
    from datetime import datetime

    from customer_status.pipeline import nightly
    from customer_status.pipeline.context import RunContext

    fill_work_file(paths)
    monkeypatch.setenv("CUSTOMER_STATUS_WAREHOUSE", str(paths.warehouse))
    monkeypatch.setenv("CUSTOMER_STATUS_WORK_DIR", str(paths.work_dir))
    monkeypatch.delenv(publish.PER_TENANT_ENV, raising=False)
    folder = paths.warehouse.parent / "tenants"
    folder.mkdir(parents=True)
    (folder / "t1.duckdb").write_bytes(b"an earlier night's file")
    ctx = RunContext("r1", None, datetime(2026, 4, 1, 1))
    nightly.publish(ctx)
    assert (folder / "t1.duckdb").read_bytes() == b"an earlier night's file"
    assert "1 per-tenant file(s) in" in caplog.text and "not updated tonight" in caplog.text
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute(
            "select outcome, message from marts.pipeline_runs where run_id = 'r1'"
        ).fetchall() == [("published", None)]
