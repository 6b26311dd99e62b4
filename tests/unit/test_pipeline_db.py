"""One database helper (issue 15, item 5): ``customer_status.pipeline_db`` holds the DuckDB
connection with the project's settings, quoting, the clock and the pipeline's own tables.

The shapes below are those the tables had before their DDL moved here (taken from
``runs.DDL``, ``build.BUILDS_DDL`` and ``loader.DDL`` at the commit before): a work file
made by any version keeps working, and one made by an older version is migrated.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from customer_status import pipeline_db
from customer_status.ingest import loader, readers, rules
from customer_status.pipeline import build, published, runs
from customer_status.pipeline.context import RunContext
from customer_status.settings import PROJECT_ROOT

#: every own table's columns: name, type, NOT NULL, default, primary key (as before the move)
SHAPES = {
    "ops.dbt_builds": (
        "run_id VARCHAR",
        "built_at TIMESTAMP",
        "fingerprint VARCHAR",
        "full_refresh BOOLEAN",
        "through_load_id BIGINT",
    ),
    "ops.pipeline_runs": (
        "run_id VARCHAR not null primary key",
        "as_of_date DATE",
        "started_at TIMESTAMP not null",
        "finished_at TIMESTAMP",
        "outcome VARCHAR not null",
        "checks_passed INTEGER",
        "checks_failed INTEGER",
        "accepted_swing BOOLEAN not null",
        "failed_step VARCHAR",
        "message VARCHAR",
    ),
    "raw.import_reject_keys": (
        "_load_id BIGINT not null",
        "row_number BIGINT not null",
        "tenant_id VARCHAR",
        "customer_id VARCHAR not null",
    ),
    "ops.erasure_key": ("key VARCHAR not null",),
    "ops.erasure_checked": ("through_load_id BIGINT",),
    "ops.erasure_scrubs": (
        "run_id VARCHAR",
        "scrubbed_at TIMESTAMP",
        "through_load_id BIGINT",
        "customers BIGINT",
        "rows_changed BIGINT",
        "files_changed BIGINT",
    ),
    "raw.import_rejects": (
        "source VARCHAR not null",
        "file VARCHAR not null",
        "row_number BIGINT",
        "tenant_id VARCHAR",
        "error VARCHAR not null",
        "_load_id BIGINT not null",
    ),
    "raw.ingest_ledger": (
        "load_id BIGINT not null primary key",
        "source VARCHAR not null",
        "file VARCHAR not null",
        "sha256 VARCHAR not null",
        "bytes BIGINT not null",
        "rows_in_file BIGINT not null",
        "rows_loaded BIGINT not null",
        "rows_rejected BIGINT not null",
        "outcome VARCHAR not null",
        "message VARCHAR",
        "run_id VARCHAR",
        "as_of_date DATE",
        "loaded_at TIMESTAMP not null",
    ),
    "raw.ingest_ledger_meaning": (
        "load_id BIGINT not null primary key",
        "meaning VARCHAR",
        "physical_rows BIGINT",
        "by_settings BOOLEAN not null default false",
        "file_stat VARCHAR",
    ),
    "raw.status_imports": (
        "tenant_id VARCHAR not null",
        "customer_id VARCHAR",
        "code VARCHAR",
        "email VARCHAR",
        "member_status VARCHAR not null",
        "reason VARCHAR",
        "effective_at TIMESTAMP",
        "loaded_for_as_of_date DATE not null",
        "_source_file VARCHAR",
        "_row_number BIGINT",
        "_load_id BIGINT",
    ),
}


def shapes(con: duckdb.DuckDBPyConnection, tables=SHAPES) -> dict[str, tuple[str, ...]]:
    keys = {
        (f"{s}.{t}", c)
        for s, t, cols in con.execute(
            "select schema_name, table_name, constraint_column_names from duckdb_constraints() "
            "where constraint_type = 'PRIMARY KEY'"
        ).fetchall()
        for c in cols
    }
    out: dict[str, list[str]] = {}
    for table, column, data_type, nullable, default in con.execute(
        "select schema_name || '.' || table_name, column_name, data_type, is_nullable, "
        "column_default from duckdb_columns() where schema_name in ('ops', 'raw') "
        "order by schema_name, table_name, column_index"
    ).fetchall():
        if table in tables:
            out.setdefault(table, []).append(
                f"{column} {data_type}"
                + ("" if nullable else " not null")
                + (f" default {default}" if default else "")
                + (" primary key" if (table, column) in keys else "")
            )
    return {t: tuple(cols) for t, cols in out.items()}


@pytest.fixture
def con():
    con = duckdb.connect()
    yield con
    con.close()


def ctx(run_id: str = "r1") -> RunContext:
    return RunContext(run_id, date(2026, 3, 31), pipeline_db.utc_timestamp())


def test_own_tables_are_the_ones_the_pipeline_writes_with_their_shapes(con):
    assert set(pipeline_db.OWN_TABLES) == set(SHAPES)
    pipeline_db.ensure(con, *pipeline_db.OWN_TABLES)
    assert shapes(con) == SHAPES


def test_the_steps_create_their_tables_through_the_helper_with_the_same_shapes(con):
    """The callers (ingest, run log, build record) get exactly these tables."""
    loader.ensure_raw_schema(con)
    runs.begin(con, ctx())
    build.plan_build(con, "fingerprint")
    # the erasure scrub's tables (ingest/erasure.apply_erasures creates them first thing; the
    # scrub itself needs the landing sources' raw tables)
    pipeline_db.ensure(con, *pipeline_db.ERASURE_TABLES)
    assert shapes(con) == SHAPES


def test_ensure_is_idempotent_and_keeps_rows(con):
    runs.begin(con, ctx("r1"))
    pipeline_db.ensure(con, *pipeline_db.OWN_TABLES)
    pipeline_db.ensure(con, *pipeline_db.OWN_TABLES)
    assert con.execute("select run_id, outcome from ops.pipeline_runs").fetchall() == [
        ("r1", "running")
    ]
    assert shapes(con) == SHAPES


def test_a_work_file_made_by_an_older_version_is_migrated(con):
    """Before: the run log's as_of_date was NOT NULL and builds had no ledger watermark."""
    con.execute("create schema ops")
    con.execute(
        "create table ops.pipeline_runs (run_id varchar primary key, as_of_date date not null, "
        "started_at timestamp not null, finished_at timestamp, outcome varchar not null, "
        "checks_passed integer, checks_failed integer, accepted_swing boolean not null, "
        "failed_step varchar, message varchar)"
    )
    con.execute(
        "create table ops.dbt_builds (run_id varchar, built_at timestamp, fingerprint varchar, "
        "full_refresh boolean)"
    )
    con.execute("insert into ops.dbt_builds values ('old', timestamp '2026-01-01', 'f', true)")
    pipeline_db.ensure(con, pipeline_db.RUN_LOG, pipeline_db.DBT_BUILDS)
    assert shapes(con) == {t: SHAPES[t] for t in ("ops.pipeline_runs", "ops.dbt_builds")}
    assert con.execute("select run_id, through_load_id from ops.dbt_builds").fetchall() == [
        ("old", None)
    ]
    # a run refused for want of a date can now be recorded
    runs.begin(con, RunContext("no-date", None, pipeline_db.utc_timestamp()))


def test_ensure_names_an_unknown_table(con):
    with pytest.raises(KeyError, match="raw.orders"):
        pipeline_db.ensure(con, "raw.orders")


def test_no_own_table_ddl_outside_the_helper():
    """The pipeline's own tables are created in pipeline_db only (the landing sources' raw
    tables come from their declarations, ``loader.raw_table_ddl``)."""
    own = "|".join(re.escape(t) for t in SHAPES)
    pattern = re.compile(rf"(create|alter)\s+table\s+(if\s+not\s+exists\s+)?({own})\b", re.I)
    found = [
        f"{path.relative_to(PROJECT_ROOT)}: {m.group(0)}"
        for folder in ("plugins", "dags")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if path.name != "pipeline_db.py"
        for m in pattern.finditer(path.read_text())
    ]
    assert found == []


def test_connect_applies_the_project_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMER_STATUS_DUCKDB_MEMORY_LIMIT", "1GB")
    path = tmp_path / "x.duckdb"
    with pipeline_db.connect(path) as con:
        con.execute("create table t (x int)")
        assert con.execute("select current_setting('TimeZone')").fetchone()[0] == "UTC"
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "") in ("953.6MiB", "1.0GiB", "1000.0MB", "1GB"), limit
    with pipeline_db.connect(path, read_only=True) as con:
        assert con.execute("select current_setting('TimeZone')").fetchone()[0] == "UTC"
        with pytest.raises(duckdb.Error):
            con.execute("insert into t values (1)")


def test_quoting_has_one_home():
    assert pipeline_db.quote_ident('my "odd" name') == '"my ""odd"" name"'
    assert pipeline_db.quote_literal("it's") == "'it''s'"
    # the ingest and publish modules use the same functions, not copies
    for module in (readers, rules, loader, published):
        assert module.quote_ident is pipeline_db.quote_ident
    assert readers.quote_literal is pipeline_db.quote_literal


def test_the_clock_is_timezone_aware_utc():
    now = pipeline_db.utc_now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    stamp = pipeline_db.utc_timestamp()
    assert stamp.tzinfo is None and stamp.microsecond == 0
    assert abs(stamp - datetime.now(UTC).replace(tzinfo=None)) < timedelta(seconds=2)


def test_run_log_times_come_without_deprecation_warnings(con):
    """``datetime.utcnow()`` is deprecated; the run log's clock is
    pipeline_db's (no warning, the same naive-UTC values as before)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        run = ctx("r1")
        runs.begin(con, run)
        runs.finish(con, "r1", "published")
    started, finished = con.execute(
        "select started_at, finished_at from ops.pipeline_runs"
    ).fetchone()
    assert started <= finished <= datetime.now(UTC).replace(tzinfo=None)
    assert finished.microsecond == 0


def lines_matching(pattern: str, folders=("plugins", "dags"), unless: str = "") -> list[str]:
    """``path:line`` of every line of the folders' Python (pipeline_db.py aside) that matches
    ``pattern`` and does not contain ``unless``."""
    return [
        f"{path.relative_to(PROJECT_ROOT)}:{n}"
        for folder in folders
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if path.name != "pipeline_db.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(pattern, line) and not (unless and unless in line)
    ]


def test_nothing_calls_the_deprecated_utc_clock():
    deprecated = r"\bdatetime\.(utcnow|utcfromtimestamp)\("
    assert lines_matching(deprecated, ("plugins", "dags", "benchmarks")) == []


def test_the_pipeline_has_one_clock():
    """The package reads the wall clock through pipeline_db only (one place to freeze it)."""
    assert lines_matching(r"\bdatetime\.(now|utcnow|today)\(|\bdate\.today\(") == []


def test_every_duckdb_file_is_opened_through_the_helper():
    """One way to open a DuckDB file, with the project's settings (the demo's printed
    one-liner for a person to paste is text, not a call)."""
    assert lines_matching(r"\bduckdb\.connect\(", unless="try: {python} -c") == []
