"""Hand-built candidate tables in a DuckDB file, audited by the reclassification suites
(``expectations/reclassification/``) the way the night runs them: Great Expectations' SQL
path on the file, relations resolved by name (here from the tables the test created, at
night from dbt's manifest). GX runs in-process with an in-memory context (no Data Docs)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from customer_status.checks import gx_reclassification
from customer_status.checks.dbt_relations import Relations
from customer_status.checks.gx_runtime import engine_kwargs
from customer_status.checks.results import CheckResult
from customer_status.settings import Paths


class Candidates:
    def __init__(self, folder: Path, ddl: str):
        self.paths = Paths(landing=folder, warehouse=folder / "wh.duckdb", work_dir=folder)
        # connected as GX connects (a process may open a DuckDB file with one configuration
        # only, and GX's instance outlives its validation)
        self.engine = sa.create_engine(f"duckdb:///{self.paths.work_db}", **engine_kwargs())
        self.execute(ddl)

    def execute(self, sql: str, *params):
        con = self.engine.raw_connection()
        try:
            con.cursor().execute(sql, *params)
        finally:
            con.close()

    def executemany(self, sql: str, rows):
        con = self.engine.raw_connection()
        try:
            con.cursor().executemany(sql, rows)
        finally:
            con.close()

    def relations(self) -> Relations:
        con = self.engine.raw_connection()
        try:
            cursor = con.cursor()
            cursor.execute("select table_name, schema_name from duckdb_tables()")
            tables = cursor.fetchall()
        finally:
            con.close()
        return Relations({name: f"{schema}.{name}" for name, schema in tables})

    def check(self, *names: str, accept_swing: bool = False) -> list[CheckResult]:
        """The results of the named checks (expectations' ``meta.check``)."""
        report = gx_reclassification.validate(
            self.paths, "test", self.relations(), data_docs=False, only=set(names)
        )
        assert {e["check"] for e in report["results"]} == set(names), report
        return gx_reclassification.check_results(report, accept_swing=accept_swing)
