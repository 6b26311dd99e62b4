"""Issue 18: the per-file typing query checks every rule in one pass over the batch. The
duplicate-key comparison (a grouping of the whole file by its key's text) runs only for the
keys whose 64-bit hashes repeat among the typed rows (sorted in numpy); rejects read as
before."""

from __future__ import annotations

from datetime import datetime

import duckdb

from customer_status.ingest import loader, rules
from customer_status.ingest.sources import SOURCES

EVENTS = SOURCES["engagement_events"]


def _parquet(landing, relative: str, values: str):
    path = landing.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    landing.db.execute(
        "copy (select * from (values " + values + ") as t(tenant_id, event_id, customer_id, "
        "channel, event_type, occurred_at)) to '" + str(path) + "' (format parquet)"
    )
    return path


def _plan(con, sql: str) -> str:
    """The physical plan's operator names, lower case ("hash group by", "hash join", "cte")."""
    return "\n".join(row[1] for row in con.execute("explain " + sql).fetchall()).lower()


def test_a_file_without_repeated_keys_is_checked_in_one_pass():
    con = duckdb.connect()
    con.execute(
        "create temp table batch as select 't1' as tenant_id, 'e' || i as event_id, "
        "'c1' as customer_id, null::varchar as channel, null::varchar as event_type, "
        "timestamptz '2026-10-01 00:00:00+00' as occurred_at, i + 1 as \"cs:row_number\", "
        'null::varchar as "cs:read_error" from range(1000) t(i)'
    )
    present = dict(con.execute("select column_name, column_type from (describe batch)").fetchall())
    present = {c: present[c] for c in EVENTS.column_names}
    query = rules.checked_query(EVENTS, present, datetime(2026, 11, 2, 6))
    plan = _plan(con, query)
    assert "group by" not in plan and "cte" not in plan and "join" not in plan, plan
    con.execute(f"create temp table checked as {query}")
    assert loader._key_repeats(con, EVENTS) == (None, True)
    # a repeated key is found by its hash
    con.execute("insert into checked select * from checked where _row_number = 7")
    repeats, in_order = loader._key_repeats(con, EVENTS)
    assert repeats.to_pylist() == [con.execute("select hash('t1', 'e6')").fetchone()[0]]
    assert not in_order
    # with repeated keys the comparison is there, limited to their hashes
    con.execute("create temp table reps as select hash('t1', 'e1') as _key_hash")
    plan = _plan(con, rules.checked_query(EVENTS, present, datetime(2026, 11, 2, 6), "reps"))
    assert "group by" in plan and "join" in plan


def test_parquet_repeats_and_rules_are_rejected_as_before(landing):
    _parquet(
        landing,
        "engagement_events/t1/part.parquet",
        "('t1', 'e1', 'c1', 'email', 'open', timestamptz '2026-10-01 00:00:00+00'), "
        "('t1', 'e2', 'c1', 'email', 'open', timestamptz '2026-10-01 00:00:00+00'), "
        "('t1', 'e1', 'c2', 'email', 'open', timestamptz '2026-10-01 00:00:00+00'), "  # other values
        "('t1', 'e2', 'c1', 'email', 'open', timestamptz '2026-10-01 00:00:00+00'), "  # identical
        "('t1', ' e3 ', 'c1', null, null, timestamptz '2026-10-01 00:00:00+00'), "
        "('t1', 'e3', 'c9', null, null, timestamptz '2026-10-02 00:00:00+00'), "  # trimmed key repeats
        "('t1', null, 'c1', null, null, timestamptz '2026-10-01 00:00:00+00'), "
        "('t1', null, 'c2', null, null, timestamptz '2026-10-01 00:00:00+00'), "
        "('t1', 'e4', 'c1', null, null, timestamptz '2099-01-01 00:00:00+00'), "
        "('t1', 'e5', 'c1', null, null, timestamptz '2026-10-01 00:00:00+00'), "
        "('t1', 'e6', 'c1', null, null, timestamptz '2026-10-01 00:00:00+00'), "
        "('t1', 'e7', 'c1', null, null, timestamptz '2026-10-01 00:00:00+00'), "
        "('t1', 'e8', 'c1', null, null, timestamptz '2026-10-01 00:00:00+00'), "
        "('t1', 'e9', 'c1', null, null, timestamptz '2026-10-01 00:00:00+00')",
    )
    result = landing.ingest()["engagement_events/t1/part.parquet"]
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (14, 9, 5)
    assert landing.rejects("engagement_events/t1/part.parquet") == [
        (3, "duplicate key (tenant_id=t1, event_id=e1) with other values than row 1 of the same file"),
        (6, "duplicate key (tenant_id=t1, event_id=e3) with other values than row 5 of the same file"),
        (7, "event_id is missing"),
        (8, "event_id is missing"),
        (
            9,
            "occurred_at 2099-01-01 00:00:00 UTC is later than the start of this run "
            "(2026-11-02 06:00:00 UTC)",
        ),
    ]  # fmt: skip
    assert landing.rows(
        "select event_id, customer_id, _row_number from raw.engagement_events "
        "where event_id in ('e1', 'e2', 'e3') order by _row_number"
    ) == [("e1", "c1", 1), ("e2", "c1", 2), ("e2", "c1", 4), ("e3", "c1", 5)]


def test_a_version_column_is_part_of_the_key(landing):
    header = "tenant_id,order_id,customer_id,created_at,amount,updated_at\n"
    landing.write(
        "orders/t1/day.csv",
        header
        + "t1,o1,c1,2026-10-01,1.00,2026-10-01T00:00:00Z\n"
        + "t1,o1,c1,2026-10-01,2.00,2026-10-02T00:00:00Z\n"  # a later version: fine
        + "t1,o1,c1,2026-10-01,3.00,2026-10-02T00:00:00Z\n"  # same version, other values
        + "t1,o2,c1,2026-10-01,1.00,\n"
        + "t1,o2,c1,2026-10-01,5.00,\n",  # no version twice: a repeat
    )
    landing.ingest()
    assert landing.rejects("orders/t1/day.csv") == [
        (3, "duplicate key (tenant_id=t1, order_id=o1) with other values than row 2 of the same file"),
        (5, "duplicate key (tenant_id=t1, order_id=o2) with other values than row 4 of the same file"),
    ]  # fmt: skip
