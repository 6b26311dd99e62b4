"""The same nights on a real local Spark cluster (``customer-status spark start``) and on
DuckDB publish the same tables (``make test-spark``).

The landing zone is the e2e timelines (tests/e2e/test_status_timelines.py's FILES). Night 1
(2026-03-31) lands them all; before night 2 (2026-04-01) a second file of orders, events and
status actions arrives, so the second night is incremental on both engines (on Spark the
per-customer models rewrite their tables without the touched customers and append them):
the published tables must still be equal, every table, every column, both ways (EXCEPT
ALL), with the same column names and types. Night 2 moves a billable count beyond its
tenant's limit: on Spark, too, the audit fails and nothing is published until the swing is
accepted, neither in the DuckDB warehouse nor in the cluster's own `marts` database (the
night's marts wait in `marts_candidate`). Then a Spark night killed while publishing leaves
the last good night in place, and the dbt unit tests pass on Spark too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from customer_status.pipeline.build import dbt_command, dbt_env, dbt_folder
from customer_status.settings import resolve_paths
from customer_status.spark import cluster

pytestmark = pytest.mark.spark
CLI = str(Path(sys.executable).with_name("customer-status"))
TIMELINES = Path(__file__).parents[1] / "e2e" / "test_status_timelines.py"
NIGHTS = ("2026-03-31", "2026-04-01")
SECOND_NIGHT_FILES = {
    "orders/orders-0401.csv": """\
tenant_id,order_id,customer_id,created_at,paid_at,refunded_at,amount,currency
ny,o-spark-1,n-unpaid,2026-04-01T14:00:00Z,2026-04-01T14:05:00Z,,25.00,USD
sun,o-spark-2,s-quiet,2026-04-01T10:00:00Z,2026-04-01T10:01:00Z,,5.00,USD
""",
    "engagement_events/events-0401.csv": """\
tenant_id,event_id,customer_id,channel,event_type,occurred_at
eng,ev-spark-1,e-mkt,email,open,2026-04-01T09:00:00Z
""",
    "status_actions/actions-0401.csv": """\
tenant_id,action_id,customer_id,action,status,reason,actor,requested_at,source
ny,a-spark-1,n-late,set_status,suspended,spark night two,staff:kim,2026-04-01T15:00:00Z,ui
ny,a-spark-2,n-deact,deactivate,,spark night two,staff:kim,2026-04-01T16:00:00Z,ui
""",
}


def _timeline_files() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("timelines_files", TIMELINES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FILES


def _write(landing: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def _run(
    landing: Path, warehouse: Path, day: str, engine: str, *flags: str, **env
) -> subprocess.CompletedProcess:
    started = time.monotonic()
    proc = subprocess.run(
        [CLI, "run", "--engine", engine, "--date", day, *flags]
        + ["--landing", str(landing), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        timeout=1200,
        env={**{k: v for k, v in os.environ.items() if k != "CUSTOMER_STATUS_SPARK_THRIFT"}, **env},
    )
    print(f"{engine} night {day}: {time.monotonic() - started:.1f}s")
    return proc


def _published_tables(con: duckdb.DuckDBPyConnection, db: str) -> dict[str, list[tuple]]:
    rows = con.execute(
        "select table_name, column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = 'marts' order by table_name, column_index",
        [db],
    ).fetchall()
    tables: dict[str, list[tuple]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append((column, data_type))
    return tables


def assert_same_published(duck: Path, spark: Path) -> None:
    con = duckdb.connect()
    con.execute(f"attach '{duck}' as d (read_only)")
    con.execute(f"attach '{spark}' as s (read_only)")
    d_tables, s_tables = _published_tables(con, "d"), _published_tables(con, "s")
    assert d_tables == s_tables  # same tables, same columns, same types
    assert len(d_tables) >= 12
    for table in d_tables:
        columns, where = "*", ""
        if table == "pipeline_runs":  # run ids and times differ, and Spark's has a failed run
            columns = "as_of_date, outcome, checks_passed, checks_failed, accepted_swing"
            where = " where outcome = 'published'"
        for a, b in (("d", "s"), ("s", "d")):
            extra = con.execute(
                f"select * from (select {columns} from {a}.marts.{table}{where} "
                f"except all select {columns} from {b}.marts.{table}{where}) limit 5"
            ).fetchall()
            assert extra == [], f"marts.{table}: rows in {a} and not in {b}: {extra}"
    con.close()


@pytest.fixture(scope="module")
def zones(tmp_path_factory, spark_cluster):
    """Two copies of the landing zone and their warehouses: DuckDB's, and Spark's (the
    cluster's own work area, so the night finds it without CUSTOMER_STATUS_SPARK_THRIFT)."""
    spark_warehouse, _ = spark_cluster
    root = tmp_path_factory.mktemp("engines")
    files = _timeline_files()
    zones = {"duckdb": (root / "duck-landing", root / "duck.duckdb")}
    zones["spark"] = (root / "spark-landing", spark_warehouse)
    for landing, _ in zones.values():
        _write(landing, files)
    return zones


FIRST_NIGHT_OUTPUT: dict[str, str] = {}  # engine -> what the first night printed


@pytest.fixture(scope="module")
def first_night(zones):
    for engine, (landing, warehouse) in zones.items():
        proc = _run(landing, warehouse, NIGHTS[0], engine)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
        FIRST_NIGHT_OUTPUT[engine] = proc.stdout + proc.stderr
    return zones


def test_first_night_on_spark_publishes_what_duckdb_publishes(first_night):
    assert_same_published(first_night["duckdb"][1], first_night["spark"][1])
    # the working file holds the candidate marts and the two small tables Python reads,
    # not the rest of the build (it stays on the cluster)
    work = resolve_paths(*first_night["spark"]).work_db
    with duckdb.connect(str(work), read_only=True) as con:
        schemas = dict(
            con.execute(
                "select schema_name, count(*) from duckdb_tables() "
                "where schema_name in ('rules', 'staging', 'intermediate', 'marts') group by all"
            ).fetchall()
        )
    assert schemas.get("marts", 0) >= 12 and schemas.get("intermediate") == 2, schemas
    assert "staging" not in schemas and "rules" not in schemas, schemas


def _last_run_id(work: Path) -> str:
    with duckdb.connect(str(work), read_only=True) as con:
        return con.execute(
            "select run_id from ops.dbt_builds order by built_at desc limit 1"
        ).fetchone()[0]


def test_the_audit_runs_on_the_cluster(first_night, spark_cluster):
    """The reclassification suites query the tables on the cluster, not a copy: the night
    says so, and a status change without a reason that exists only in a table on the
    cluster fails its check there, with its tenant and sample row."""
    from customer_status.checks import gx_reclassification
    from customer_status.checks.dbt_relations import Relations

    _, address = spark_cluster
    landing, warehouse = first_night["spark"]
    paths = resolve_paths(landing, warehouse)
    host, port = address.rsplit(":", 1)
    con = cluster.connect(cluster.Thrift(host, int(port)))
    cur = con.cursor()
    try:
        cur.execute("create database if not exists audit_probe")
        cur.execute("drop table if exists audit_probe.status_changes")
        cur.execute(
            "create table audit_probe.status_changes using parquet as "
            "select * from marts_candidate.status_changes"
        )
        cur.execute("describe marts_candidate.status_changes")
        columns = [row[0] for row in cur.fetchall() if row[0] and not row[0].startswith("#")]
        select = ", ".join("'' as reason" if c == "reason" else f"`{c}`" for c in columns)
        cur.execute(
            f"insert into audit_probe.status_changes select {select} "
            "from marts_candidate.status_changes where tenant_id = 'ny' limit 1"
        )
        built = Relations.of_build(paths)
        assert built.adapter_type == "spark"
        relations = Relations(
            {**built.by_name, "status_changes": "audit_probe.status_changes"},
            adapter_type="spark",
        )
        report = gx_reclassification.validate(
            paths,
            _last_run_id(paths.work_db),
            relations,
            data_docs=False,
            only={"every_status_change_has_reason_and_actor"},
        )
    finally:
        cur.execute("drop database if exists audit_probe cascade")
        con.close()
    assert report["ran_on"] == f"the Spark cluster at {address}"
    (outcome,) = report["results"]
    assert outcome["error"] is None, outcome
    assert not outcome["success"] and outcome["unexpected_count"] == 1, outcome
    assert list(outcome["tenants"]) == ["ny"] and outcome["tenants"]["ny"]["rows"] == 1
    # each night said where its audit ran
    assert f"audit: ran on the Spark cluster at {address}" in FIRST_NIGHT_OUTPUT["spark"]
    assert "audit: ran on the working DuckDB file" in FIRST_NIGHT_OUTPUT["duckdb"]


def _cluster_marts(address: str, schema: str = "marts") -> dict[str, list[tuple]]:
    """Every table of the cluster's ``schema`` database, rows sorted (as text)."""
    host, port = address.rsplit(":", 1)
    con = cluster.connect(cluster.Thrift(host, int(port)))
    try:
        cur = con.cursor()
        cur.execute(f"show tables in {schema}")
        tables = sorted(row[1] for row in cur.fetchall() if not row[2])
        found = {}
        for table in tables:
            cur.execute(f"select * from {schema}.`{table}`")
            found[table] = sorted(tuple(map(str, row)) for row in cur.fetchall())
        return found
    finally:
        con.close()


@pytest.fixture(scope="module")
def second_night(first_night, spark_cluster):
    """Night two moves tenant sun's billable count 2 -> 3 (50 %, above its 25 % limit): on
    Spark the audit fails first and nothing is published, in the warehouse or on the
    cluster; accepted, it publishes, incrementally on both engines."""
    _, address = spark_cluster
    landing, warehouse = first_night["spark"]
    _write(landing, SECOND_NIGHT_FILES)
    before = _snapshot(warehouse)
    on_cluster = _cluster_marts(address)
    assert len(on_cluster) >= 12 and on_cluster == _cluster_marts(address, "marts_candidate")
    refused = _run(landing, warehouse, NIGHTS[1], "spark")
    assert refused.returncode == 1, (refused.stdout + refused.stderr)[-5000:]
    assert "billable_swing_within_limit [tenant sun]" in refused.stderr, refused.stderr[-3000:]
    after = _snapshot(warehouse)
    runs = after.pop("pipeline_runs")
    assert after == {t: rows for t, rows in before.items() if t != "pipeline_runs"}
    assert [(r[4], r[8]) for r in runs][-1] == ("failed", "audit")
    # the cluster's readers still see night one; the refused night waits in the candidate
    assert _cluster_marts(address) == on_cluster
    assert _cluster_marts(address, "marts_candidate") != on_cluster
    _assert_incremental("spark", refused, resolve_paths(landing, warehouse).work_db, True, address)
    for engine, (landing, warehouse) in first_night.items():
        _write(landing, SECOND_NIGHT_FILES)
        proc = _run(landing, warehouse, NIGHTS[1], engine, "--accept-swing")
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
        # Spark's refused night built night two already: its rerun has nothing to recompute
        work = resolve_paths(landing, warehouse).work_db
        _assert_incremental(engine, proc, work, engine == "duckdb", address)
    return first_night


def _assert_incremental(
    engine, proc, work: Path, touched_some: bool = True, address: str | None = None
) -> None:
    """The night's build was incremental and recomputed some customers, not all (on Spark
    the intermediate tables stay on the cluster at ``address``)."""
    assert "full refresh" not in proc.stderr, proc.stderr[-3000:]
    counts = (
        "select (select count(*) from intermediate.int_customers_touched), "
        "(select count(*) from intermediate.int_customers_enriched)"
    )
    with duckdb.connect(str(work), read_only=True) as con:
        assert con.execute(
            "select full_refresh from ops.dbt_builds order by built_at desc limit 1"
        ).fetchone() == (False,)
        if engine == "duckdb":
            touched, customers = con.execute(counts).fetchone()
        else:  # not copied back to the working file
            assert con.execute(
                "select table_name from duckdb_tables() where schema_name = 'intermediate' "
                "order by all"
            ).fetchall() == [("int_run_parameters",), ("int_tenants",)]
    if engine != "duckdb":
        host, port = address.rsplit(":", 1)
        con = cluster.connect(cluster.Thrift(host, int(port)))
        try:
            cur = con.cursor()
            cur.execute(counts)
            touched, customers = cur.fetchone()
        finally:
            con.close()
    assert touched < customers, (engine, touched, customers)
    assert touched > 0 or not touched_some, (engine, touched, customers)


def test_incremental_second_night_on_spark_equals_duckdbs(second_night, spark_cluster):
    assert_same_published(second_night["duckdb"][1], second_night["spark"][1])
    with duckdb.connect(str(second_night["spark"][1]), read_only=True) as con:
        assert con.execute(
            "select count(*) from marts.orders where order_id = 'o-spark-1'"
        ).fetchone() == (1,)
        tables = con.execute(
            "select table_name from duckdb_tables() "
            "where schema_name = 'marts' and table_name <> 'pipeline_runs'"
        ).fetchall()
        published = {
            t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for (t,) in tables
        }
    # the published night is the cluster's `marts` now too: the candidate, switched in
    _, address = spark_cluster
    on_cluster = _cluster_marts(address)
    assert on_cluster == _cluster_marts(address, "marts_candidate")
    assert {t: len(rows) for t, rows in on_cluster.items()} == published


def _snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        ]
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in tables}


def test_killed_spark_night_leaves_the_last_good_night(second_night):
    landing, warehouse = second_night["spark"]
    before = _snapshot(warehouse)
    proc = _run(
        landing,
        warehouse,
        "2026-04-02",
        "spark",
        CUSTOMER_STATUS_FAILPOINT="publish_before_replace",
    )
    assert proc.returncode == -signal.SIGKILL, (proc.stdout + proc.stderr)[-3000:]
    assert _snapshot(warehouse) == before  # (its half-written copy goes at the next publish)


def test_dbt_unit_tests_pass_on_spark(second_night, spark_cluster):
    """The rules' unit tests on the cluster (they read their inputs' column types from the
    tables the nights built there); the end-of-local-day one fails when a microsecond is
    subtracted with dbt's dateadd."""
    warehouse, address = spark_cluster
    host, port = address.rsplit(":", 1)
    paths = resolve_paths(None, warehouse)
    env = {
        **dbt_env(paths),
        "CUSTOMER_STATUS_SPARK_HOST": host,
        "CUSTOMER_STATUS_SPARK_PORT": port,
    }
    started = time.monotonic()
    proc = subprocess.run(
        dbt_command(
            paths, "test", "--select", "test_type:unit", "--target", "spark", "--threads", "2"
        )
        + ["--vars", json.dumps({"as_of_date": "2026-11-01"})],
        env=env,
        cwd=dbt_folder(paths),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(f"dbt unit tests on spark: {time.monotonic() - started:.1f}s")
    results = json.loads((paths.dbt_target / "target" / "run_results.json").read_text())["results"]
    unit = [r for r in results if r["unique_id"].startswith("unit_test.")]
    # name what failed, with the start of Spark's message (dbt's output ends in a stack trace)
    failed = [(r["unique_id"], r["status"], (r.get("message") or "")[:600]) for r in unit]
    assert all(r[1] == "pass" for r in failed), [r for r in failed if r[1] != "pass"]
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert len(unit) >= 36
