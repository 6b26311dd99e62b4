"""Issue 18, the full night's ingest: a large file is typed in one scan and its rows are written
into the raw table without a sort, in the file's row order all the same; rows not stored in
that order are sorted as before."""

from __future__ import annotations

import re
from datetime import date, datetime

import duckdb

from customer_status.ingest import loader, rules

EVENTS_FILE = "engagement_events/t1/part-00001.parquet"
ROWS = 60_000


def _logged(con: duckdb.DuckDBPyConnection, run) -> list[str]:
    """The SQL statements ``run()`` sends to ``con`` (DuckDB's query log), spaces collapsed."""
    con.execute("call truncate_duckdb_logs()")
    con.execute("call enable_logging('QueryLog')")
    try:
        run()
    finally:
        con.execute("call disable_logging()")
    return [
        " ".join(m.split())
        for (m,) in con.execute(
            "select message from duckdb_logs where type = 'QueryLog' order by timestamp"
        ).fetchall()
    ]


def _events_parquet(landing, relative: str = EVENTS_FILE, rows: int = ROWS, dup: bool = False):
    """A Parquet part of many small row groups (each a task of DuckDB's parallel scan)."""
    path = landing.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    event = "'e' || (i % 50000)" if dup else "'e' || i"
    landing.db.execute(
        f"copy (select 't1' as tenant_id, {event} as event_id, 'c' || (i % 97) as customer_id, "
        "case when i % 3 = 0 then 'email' end as channel, 'open' as event_type, "
        "timestamptz '2026-10-01 00:00:00+00' + to_seconds(i) as occurred_at "
        f"from range({rows}) t(i)) to '{path}' (format parquet, row_group_size 1024)"
    )
    return path


def _ingest_recorded(landing, threads: int = 4) -> list[str]:
    landing.db.execute(f"set threads = {threads}")
    return _logged(landing.db, landing.ingest)


def _dates():
    # the as-of date and run start of the ``landing`` fixture's nights
    return date(2026, 11, 1), datetime(2026, 11, 2, 6, 0, 0)


def _physical_row_numbers(landing, table: str) -> list[int]:
    return [r[0] for r in landing.rows(f"select _row_number from {table} order by rowid")]


def test_a_large_parquet_file_is_scanned_once_and_written_without_a_sort(landing):
    _events_parquet(landing)
    statements = _ingest_recorded(landing)
    statements = statements[next(i for i, s in enumerate(statements) if "read_parquet(" in s) :]
    # the file's rows are typed and checked once, on their way into the raw table (a count
    # of the batch reads no column); no copy of every row is made
    typing = [
        s for s in statements if re.search(r"\bfrom batch\b", s) and "count(*) from batch" not in s
    ]
    assert len(typing) == 1, [t[:60] for t in typing]
    assert typing[0].startswith("insert into raw.engagement_events"), typing[0][:60]
    assert "order by" not in typing[0]
    assert not [s for s in statements if "temp table checked" in s]
    # ... and yet stored in the file's row order, every row loaded
    assert _physical_row_numbers(landing, "raw.engagement_events") == list(range(1, ROWS + 1))


def test_the_rows_fill_whole_row_groups_so_a_checkpoint_has_nothing_to_rewrite(landing):
    # 300,000 rows in Parquet row groups of 1,024: the raw table's row groups of 122,880
    # rows come out whole (3, not one cut at every boundary of the file's own), as a sorted
    # insert left them
    _events_parquet(landing, rows=300_000)
    _ingest_recorded(landing, threads=2)
    landing.db.execute("checkpoint")
    sizes = landing.rows(
        "select row_group_id, max(count) from pragma_storage_info('raw.engagement_events') "
        "group by row_group_id order by row_group_id"
    )
    assert [n for _, n in sizes] == [122_880, 122_880, 300_000 - 2 * 122_880]
    assert landing.rows("select current_setting('threads')") == [(2,)]  # given back


def test_bad_rows_alone_are_kept_aside_for_the_rejects(landing):
    landing.write(
        "orders/t1/day.csv",
        "tenant_id,order_id,customer_id,created_at,amount\n"
        + "".join(
            f"t1,o{i},c1,2026-10-01,{'x' if i % 100 == 0 else i % 50}\n" for i in range(1, 3001)
        ),
    )
    statements = _ingest_recorded(landing)
    kept = [s for s in statements if s.startswith("create or replace temp table checked")]
    assert len(kept) == 1 and kept[0].endswith("where _error is not null"), kept
    assert landing.rejects("orders/t1/day.csv")[:2] == [
        (100, "amount 'x' is not a number"),
        (200, "amount 'x' is not a number"),
    ]
    assert len(landing.rejects("orders/t1/day.csv")) == 30
    assert _physical_row_numbers(landing, "raw.orders") == [i for i in range(1, 3001) if i % 100]


def test_csv_and_jsonl_rows_are_written_without_a_sort_in_row_order(landing):
    landing.write(
        "engagement_events/t1/day.jsonl",
        "".join(
            f'{{"tenant_id": "t1", "event_id": "j{i}", "customer_id": "c1", '
            f'"occurred_at": "2026-10-01T00:00:00Z"}}\n' + ("\n" if i % 7 == 0 else "")
            for i in range(3000)
        ),
    )
    landing.write(
        "orders/t1/day.csv",
        "tenant_id,order_id,customer_id,created_at,amount\n"
        + "".join(f"t1,o{i},c1,2026-10-01,{i % 50}.25\n" for i in range(3000)),
    )
    statements = _ingest_recorded(landing)
    for table in ("raw.engagement_events", "raw.orders"):
        insert = [s for s in statements if s.startswith(f"insert into {table}")]
        assert len(insert) == 1 and "order by" not in insert[0], insert
        assert _physical_row_numbers(landing, table) == list(range(1, 3001))


def test_repeated_keys_still_give_their_rejects_and_the_rows_stay_in_order(landing):
    _events_parquet(landing, dup=True)
    _ingest_recorded(landing)
    rejects = landing.rejects(EVENTS_FILE)
    # rows 50001-60000 repeat the keys of rows 1-10000 with other values
    assert len(rejects) == ROWS - 50_000
    assert rejects[0] == (
        50_001,
        "duplicate key (tenant_id=t1, event_id=e0) with other values than row 1 of the same file",
    )
    assert [r[0] for r in rejects] == list(range(50_001, ROWS + 1))
    assert _physical_row_numbers(landing, "raw.engagement_events") == list(range(1, 50_001))


def test_rows_not_stored_in_row_order_are_sorted_on_the_way_in(landing):
    landing.ingest()  # the raw tables, and the tenant
    con = landing.db
    con.execute(
        "create temp table checked as select 't1' as tenant_id, 'e' || i as event_id, "
        "'c1' as customer_id, null::varchar as channel, null::varchar as event_type, "
        "timestamp '2026-10-01 00:00:00' as occurred_at, i as _row_number, "
        "case when i % 10 = 0 then 'bad' end as _error from range(1, 2001) t(i) order by i desc"
    )
    assert not loader._in_row_order(con)
    ctx = loader.LoadContext(landing.root, "by-hand", *_dates())
    columns = ["tenant_id", "event_id", "customer_id", "channel", "event_type", "occurred_at"]
    results = []
    statements = _logged(con, lambda: results.append(loader._commit_checked(
        con, ctx, "engagement_events", "by-hand.parquet", 99, columns, "raw.engagement_events",
    )))  # fmt: skip
    assert (results[0].rows_loaded, results[0].rows_rejected) == (1800, 200)
    insert = [s for s in statements if s.startswith("insert into raw.engagement_events")]
    assert "order by _row_number" in insert[0]
    assert _physical_row_numbers(landing, "raw.engagement_events") == [
        i for i in range(1, 2001) if i % 10
    ]
    # with insertion order off, even rows in order are sorted
    con.execute("drop table checked")
    con.execute(
        "create temp table checked as select 't1' as tenant_id, 'f' || i as event_id, "
        "'c1' as customer_id, null::varchar as channel, null::varchar as event_type, "
        "timestamp '2026-10-01 00:00:00' as occurred_at, i as _row_number, "
        "null::varchar as _error from range(1, 11) t(i)"
    )
    con.execute("set preserve_insertion_order = false")
    statements = _logged(con, lambda: loader._commit_checked(
        con, ctx, "engagement_events", "by-hand-2.parquet", 100, columns,
        "raw.engagement_events", True,
    ))  # fmt: skip
    insert = [s for s in statements if s.startswith("insert into raw.engagement_events")]
    assert "order by _row_number" in insert[0]


# every Unicode space separator (Zs): what DuckDB's trim() removes
SPACE_SEPARATORS = [
    " ", "\u00a0", "\u1680", *(chr(c) for c in range(0x2000, 0x200B)), "\u202f", "\u205f", "\u3000"
]  # fmt: skip


def test_trimmed_gives_what_trim_gives():
    con = duckdb.connect()
    # the shortcut's premise: of the ASCII characters, trim() removes the space alone
    removed = con.execute(
        "select list(i order by i) from range(1, 128) t(i) where trim(chr(i::int) || 'a') = 'a'"
    ).fetchone()[0]
    assert removed == [32]
    others = ["\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\u200b", "\ufeff", "x", "é", "日", "😀"]
    cores = ["", "a", "ab c", "é", "a\u00a0b", "t1", "e12345678"]
    values = [None, ""] + [
        f"{left}{core}{right}"
        for core in cores
        for left in ["", *SPACE_SEPARATORS, *others]
        for right in ["", " ", "\u3000", "\u00a0", *others]
    ]
    con.execute("create table v (s varchar)")
    con.executemany("insert into v values (?)", [[v] for v in values])
    differ = con.execute(
        f"select s from v where ({rules.trimmed('s')}) is distinct from trim(s)"
    ).fetchall()
    assert differ == []
    assert con.execute("select count(*) from v").fetchone()[0] == len(values)


def test_utc_timestamp_gives_what_timezone_utc_gives():
    con = duckdb.connect()
    con.execute("set TimeZone = 'Europe/Paris'")  # the session's zone plays no part
    con.execute("create table v (t timestamptz)")
    con.execute(
        "insert into v values (null), ('infinity'), ('-infinity'), "
        "('2026-03-29 01:30:00+00'), ('2026-10-25 00:59:59.999999+00'), ('1900-01-01 00:00:00+00'), "
        "('0001-01-01 00:00:00+00'), ('9999-12-31 23:59:59.999999+00'), ('1969-12-31 23:59:59.5+00'), "
        "('2026-11-01 06:00:00+05:30')"
    )
    con.execute(
        "insert into v select timestamptz '1960-01-01 00:00:00+00' + to_microseconds(i * 7919191919) "
        "from range(20000) t(i)"
    )
    differ = con.execute(
        f"select t from v where ({rules.utc_timestamp('t')}) is distinct from timezone('UTC', t)"
    ).fetchall()
    assert differ == []
