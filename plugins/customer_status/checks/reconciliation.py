"""Nothing is lost: every row of every file loaded this run is either loaded or rejected.

The rows of a file are those physically in it (``raw.ingest_ledger_meaning.physical_rows``: its
non-blank lines, or a Parquet file's own row count, counted apart from the parser), so a
reader that merged lines (an unclosed quote) or dropped rows cannot pass unnoticed.
"""

from __future__ import annotations

import duckdb

from ..ingest.loader import UNPUBLISHED_LOADS
from ..ingest.sources import SOURCES
from .results import CheckResult


def rows_reconcile(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    """Per file not yet published (this run's and failed runs'): rows physically in the file =
    rows in file = rows loaded + rows rejected, as the ledger says and as the raw tables and
    ``import_rejects`` hold (``physical_rows`` is NULL where the file could not be read)."""
    raw_tables = [f"raw.{name}" for name in SOURCES] + ["raw.status_imports"]
    loaded = " union all ".join(
        f"select _load_id, count(*) as n from {t} group by _load_id" for t in raw_tables
    )
    rows = con.execute(
        f"""
        with loaded as ({loaded}),
        loaded_per_file as (select _load_id, sum(n) as n from loaded group by _load_id),
        rejected as (
            select _load_id, count(*) as n, count(*) filter (where row_number is null) as whole
            from raw.import_rejects group by _load_id
        )
        select l.file, m.physical_rows, l.rows_in_file, l.rows_loaded, l.rows_rejected,
               coalesce(p.n, 0) as in_raw, coalesce(r.n, 0) as in_rejects,
               coalesce(r.whole, 0) as whole_file_rejects
        from ({UNPUBLISHED_LOADS}) l
        left join raw.ingest_ledger_meaning m on m.load_id = l.load_id
        left join loaded_per_file p on p._load_id = l.load_id
        left join rejected r on r._load_id = l.load_id
        where not (
              l.rows_in_file = l.rows_loaded + l.rows_rejected
              and coalesce(m.physical_rows, l.rows_in_file) = l.rows_in_file
              and coalesce(p.n, 0) = l.rows_loaded
              and (case when l.outcome = 'rejected' then coalesce(r.whole, 0) = 1
                        else coalesce(r.n, 0) = l.rows_rejected end)
          )
        order by l.file
        """
    ).fetchall()
    files = con.execute(f"select count(*) from ({UNPUBLISHED_LOADS})").fetchone()[0]
    if rows:
        return [
            CheckResult(
                "rows_reconcile",
                False,
                f"{len(rows)} of {files} file(s) loaded this run do not add up "
                "(file, rows physically in file, rows read, loaded, rejected, in raw, in "
                "rejects, whole-file rejects)",
                sample=rows[:5],
            )
        ]
    return [
        CheckResult(
            "rows_reconcile",
            True,
            f"{files} file(s): rows loaded + rejected = rows physically in the file",
        )
    ]
