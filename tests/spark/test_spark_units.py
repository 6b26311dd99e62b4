"""The Spark engine's pieces that need no cluster (run in `make test`): engine choice and
plans, where the Thrift server is, what `spark stop` may end, the recursion limits."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from customer_status.cli import main
from customer_status.ingest.loader import ensure_raw_schema
from customer_status.pipeline import build, published
from customer_status.pipeline.build import BuildPlan, plan_build, record_build, resolve_engine
from customer_status.settings import PROJECT_ROOT, resolve_paths
from customer_status.spark import cluster, night

PROJECT = PROJECT_ROOT / "dbt_project"


def test_engine_from_flag_then_environment_then_duckdb(monkeypatch):
    monkeypatch.delenv("CUSTOMER_STATUS_ENGINE", raising=False)
    assert resolve_engine(None) == "duckdb"
    monkeypatch.setenv("CUSTOMER_STATUS_ENGINE", "Spark")
    assert resolve_engine(None) == "spark"
    assert resolve_engine("duckdb") == "duckdb"
    with pytest.raises(ValueError, match="unknown engine 'flink'"):
        resolve_engine("flink")


@pytest.fixture
def ledger():
    con = duckdb.connect()
    ensure_raw_schema(con)
    yield con
    con.close()


def _land(con, load_id: int, source: str) -> None:
    con.execute(
        "insert into raw.ingest_ledger values (?, ?, ?, 'sha', 1, 1, 1, 0, 'loaded', null, "
        "'run', date '2026-11-01', current_timestamp::timestamp)",
        [load_id, source, f"{source}/{load_id}.csv"],
    )


def test_a_spark_night_after_a_spark_build_is_incremental(ledger):
    """Each engine continues only its own last build: Spark after Spark is incremental (the
    cluster keeps its tables), a switch of engine either way rebuilds everything."""
    _land(ledger, 1, "orders")
    first = plan_build(ledger, "abc", "spark")
    assert first.full_refresh and first.fingerprint == "spark:abc"
    record_build(ledger, "night-1", first)
    _land(ledger, 2, "engagement_events")
    second = plan_build(ledger, "abc", "spark")
    assert second == BuildPlan("spark:abc", False, 2, ("engagement_events",))
    assert "--full-refresh" not in second.dbt_args()
    assert plan_build(ledger, "abc", "duckdb").full_refresh  # DuckDB after Spark: whole
    record_build(ledger, "night-2", plan_build(ledger, "abc", "duckdb"))
    assert not plan_build(ledger, "abc", "duckdb").full_refresh
    assert plan_build(ledger, "abc", "spark").full_refresh  # Spark after DuckDB: whole


def test_a_spark_build_that_did_not_finish_makes_the_next_a_full_refresh(tmp_path, monkeypatch):
    """A Spark table has no transaction: a build killed between a per-customer model's
    rewrite and its append leaves customers out, so the next Spark night rebuilds whole."""
    paths = resolve_paths(tmp_path / "landing", tmp_path / "warehouse.duckdb")
    calls = []
    monkeypatch.setattr(night, "run_build", lambda p, d, env, args: calls.append(args))
    incremental = BuildPlan("spark:abc", False, 7, ("orders",))
    assert build.run_dbt_build(paths, "2026-03-31", incremental, engine="spark") == incremental
    assert "--full-refresh" not in calls[-1] and "--select" in calls[-1]
    night.unfinished_marker(paths.work_dir).parent.mkdir(parents=True)
    night.unfinished_marker(paths.work_dir).write_text("{}")
    done = build.run_dbt_build(paths, "2026-04-01", incremental, engine="spark")
    assert done == BuildPlan("spark:abc", True, 7, None)
    assert "--full-refresh" in calls[-1] and "--select" not in calls[-1]


def test_only_a_night_built_on_spark_rewrites_the_clusters_marts(tmp_path, monkeypatch):
    paths = resolve_paths(tmp_path / "landing", tmp_path / "warehouse.duckdb")
    paths.work_dir.mkdir(parents=True)
    with duckdb.connect(str(paths.work_db)) as con:
        record_build(con, "duck-night", BuildPlan("abc", True, 1, None))
        record_build(con, "spark-night", BuildPlan("spark:abc", False, 2, ()))
    assert not night.built_on_spark(paths, "duck-night")
    assert night.built_on_spark(paths, "spark-night")
    assert not night.built_on_spark(paths, "unknown-night")
    # a DuckDB night never asks for a cluster
    monkeypatch.delenv(cluster.THRIFT_ENV, raising=False)
    assert night.publish_cluster_marts(paths, "duck-night") == []
    with pytest.raises(cluster.SparkError, match="no Spark cluster"):
        night.publish_cluster_marts(paths, "spark-night")


def test_thrift_address_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(cluster.THRIFT_ENV, "spark.example.net:10001")
    assert cluster.thrift_address(tmp_path) == cluster.Thrift("spark.example.net", 10001)
    monkeypatch.setenv(cluster.THRIFT_ENV, "spark.example.net")
    with pytest.raises(cluster.SparkError, match="expected host:port"):
        cluster.thrift_address(tmp_path)


def test_no_cluster_says_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.delenv(cluster.THRIFT_ENV, raising=False)
    with pytest.raises(cluster.SparkError, match="customer-status spark start"):
        cluster.thrift_address(tmp_path)


def test_run_on_spark_without_a_cluster_is_refused_before_the_night(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(cluster.THRIFT_ENV, raising=False)
    monkeypatch.delenv("CUSTOMER_STATUS_ENGINE", raising=False)
    (tmp_path / "landing").mkdir()
    code = main(
        [
            "run",
            "--engine",
            "spark",
            "--date",
            "2026-03-31",
            "--landing",
            str(tmp_path / "landing"),
            "--warehouse",
            str(tmp_path / "warehouse.duckdb"),
        ]
    )
    assert code == 2
    assert not (tmp_path / "warehouse.duckdb").exists()
    assert "CUSTOMER_STATUS_ENGINE" not in os.environ  # nothing leaks into later runs


def _fake_component(work_dir: Path, component: str) -> subprocess.Popen:
    """A stand-in for a started component: its own process group, a child of its own (like
    the worker's executors), and the class and work area on its command line."""
    script = (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
        "time.sleep(600)"
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            cluster.CLASSES[component],
            str(cluster.spark_dir(work_dir)),
        ],
        start_new_session=True,
    )


def _group_members(pgid: int) -> list[int]:
    members = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(proc.name))
    return members


def test_stop_ends_what_start_started_whole_groups_and_nothing_else(tmp_path):
    work = tmp_path / "work"
    cluster.spark_dir(work).mkdir(parents=True)
    ours = _fake_component(work, "master")
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        time.sleep(1)  # the child of `ours` exists
        assert len(_group_members(ours.pid)) == 2
        state = {"thrift_port": 1, "pids": {"master": ours.pid, "worker": stranger.pid}}
        (cluster.spark_dir(work) / "cluster.json").write_text(json.dumps(state))
        assert cluster.status(work) == {"master": ours.pid, "worker": None, "thrift": None}

        assert cluster.stop(work, grace_s=5) == ["master"]
        ours.wait(timeout=10)
        assert _group_members(ours.pid) == []  # its child too
        assert stranger.poll() is None  # a pid that is not ours is never signalled
        assert cluster.status(work) == {"master": None, "worker": None, "thrift": None}
    finally:
        for proc in (ours, stranger):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


def test_recursion_limits_cover_the_longest_history(tmp_path):
    con = duckdb.connect(str(tmp_path / "work.duckdb"))
    con.execute("create schema raw")
    con.execute(
        "create table raw.customers as select 't' as tenant_id, 'c' || i as customer_id "
        "from range(5) r(i)"
    )
    con.execute(
        "create table raw.status_actions as select 't' as tenant_id, 'c1' as customer_id "
        "from range(150)"
    )
    con.execute("create table raw.status_imports (tenant_id varchar, customer_id varchar)")
    levels, rows = night.recursion_limits(con)
    assert levels >= 151  # c1: one version, 150 actions
    assert rows >= 1_000_000  # never below Spark's default
    con.execute("insert into raw.status_actions select 't', 'c' || i from range(600000) r(i)")
    assert night.recursion_limits(con)[1] >= 600_155


# Type names both engines accept as they are (DuckDB and Spark SQL). Not `varchar` (Spark
# wants a length: DATATYPE_MISSING_SIZE), nor DuckDB-only types such as hugeint, ubigint or
# `timestamp with time zone`.
PORTABLE_TYPE = re.compile(
    r"^(string|bigint|int|integer|boolean|date|timestamp|double|decimal\(\d+,\s*\d+\))$"
)


def _declared_types(project: Path) -> list[tuple[str, str]]:
    """Every type the project declares in YAML: the marts' contracted ``data_type``s and the
    seeds' ``column_types``, as (where, type)."""
    found = []
    for path in sorted((project / "models" / "marts").rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            for column in model.get("columns") or []:
                found.append((f"{model['name']}.{column['name']}", str(column.get("data_type"))))
    for path in sorted((project / "seeds").rglob("*.yml")):
        for seed in (yaml.safe_load(path.read_text()) or {}).get("seeds") or []:
            types = (seed.get("config") or {}).get("column_types") or {}
            found += [(f"seed {seed['name']}.{c}", str(t)) for c, t in types.items()]
    return found


def test_contracted_and_seed_types_are_spelled_for_both_engines():
    declared = _declared_types(PROJECT)
    assert len(declared) > 100
    not_portable = [(where, t) for where, t in declared if not PORTABLE_TYPE.match(t.lower())]
    assert not_portable == []


def test_the_published_duckdb_tables_keep_duckdb_type_names():
    """`string` in a contract is VARCHAR in the published DuckDB warehouse, as before."""
    marts = published.marts(PROJECT)
    types = {t for mart in marts.values() for _, t in mart.columns}
    assert "varchar" in types and "string" not in types
    con = duckdb.connect()
    mart = marts["customer_status"]
    con.execute(f"create table t ({mart.ddl()})")
    got = con.execute(
        "select column_name, lower(data_type) from duckdb_columns() where table_name = 't' "
        "order by column_index"
    ).fetchall()
    assert got == list(mart.columns)


def test_the_candidate_marts_come_back_as_marts_and_where_the_manifest_names_them(tmp_path):
    """Spark builds the marts into `marts_candidate`; the working file gets them as `marts`
    (what publish copies) and, for the audits that read dbt's manifest, under the cluster's
    name too."""
    out = tmp_path / "built"
    con = duckdb.connect(str(tmp_path / "work.duckdb"))
    for schema, table in (("marts", "customer_status"), ("intermediate", "int_x")):
        (out / schema / table).mkdir(parents=True)
        con.execute(
            f"copy (select 't1' as tenant_id, 1 as n) to "
            f"'{out / schema / table / 'part-0.parquet'}' (format parquet)"
        )
    built = {"intermediate": ["int_x"], "marts": ["customer_status"]}
    counts = night.import_built(con, out, built)
    assert counts == {'intermediate."int_x"': 1, 'marts."customer_status"': 1}
    assert con.execute("select * from marts_candidate.customer_status").fetchall() == [("t1", 1)]
    night.import_built(con, out, {"intermediate": ["int_x"], "marts": []})  # no stale view
    assert con.execute(
        "select count(*) from duckdb_views() where schema_name = 'marts_candidate'"
    ).fetchone() == (0,)
