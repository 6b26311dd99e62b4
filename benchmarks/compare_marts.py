"""Compare every published table of two warehouses row for row (EXCEPT ALL both ways).

    python benchmarks/compare_marts.py BEFORE.duckdb AFTER.duckdb

Used to show that a refactoring of the dbt project publishes identical tables: build the
same landing zone with the old and the new code, then compare. Columns that describe the run
itself rather than the data (``pipeline_runs``' run id and times, ``billing_restatements``'
run id and time) are left out of the comparison. Exit 0 when every table is identical, 1
otherwise (the differing tables and row counts are printed).
"""

from __future__ import annotations

import sys

import duckdb

#: per table, the columns that differ from one run to the next by design
RUN_COLUMNS = {
    "pipeline_runs": {"run_id", "started_at", "finished_at", "duration_seconds"},
    "billing_restatements": {"restated_by_run", "restated_at"},
}


def _tables(con: duckdb.DuckDBPyConnection, db: str) -> list[str]:
    rows = con.sql(
        "select table_name from information_schema.tables"
        f" where table_catalog = '{db}' and table_schema = 'marts' order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def _columns(con: duckdb.DuckDBPyConnection, db: str, table: str) -> list[str]:
    rows = con.sql(
        "select column_name from information_schema.columns"
        f" where table_catalog = '{db}' and table_schema = 'marts' and table_name = '{table}'"
        " order by ordinal_position"
    ).fetchall()
    return [r[0] for r in rows if r[0] not in RUN_COLUMNS.get(table, set())]


def compare(before: str, after: str) -> list[str]:
    """The differences, one line each; empty when the published tables are identical."""
    con = duckdb.connect()
    con.execute(f"attach '{before}' as before_db (read_only)")
    con.execute(f"attach '{after}' as after_db (read_only)")
    problems = []
    tables_before, tables_after = _tables(con, "before_db"), _tables(con, "after_db")
    if tables_before != tables_after:
        problems.append(f"tables differ: {tables_before} vs {tables_after}")
    for table in sorted(set(tables_before) & set(tables_after)):
        columns = _columns(con, "before_db", table)
        if columns != _columns(con, "after_db", table):
            problems.append(f"{table}: columns differ")
            continue
        select = ", ".join(f'"{c}"' for c in columns)
        counts = []
        for left, right in (("before_db", "after_db"), ("after_db", "before_db")):
            counts.append(
                con.sql(
                    f"select count(*) from (select {select} from {left}.marts.{table}"
                    f" except all select {select} from {right}.marts.{table})"
                ).fetchall()[0][0]
            )
        rows = con.sql(f"select count(*) from before_db.marts.{table}").fetchall()[0][0]
        status = "identical" if counts == [0, 0] else "DIFFERENT"
        print(f"{table:28} {rows:>8} rows  before-after {counts[0]:>6}  after-before {counts[1]:>6}  {status}")
        if counts != [0, 0]:
            problems.append(f"{table}: {counts[0]} rows only before, {counts[1]} only after")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = compare(*argv)
    for line in problems:
        print(line, file=sys.stderr)
    print("identical" if not problems else f"{len(problems)} difference(s)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
