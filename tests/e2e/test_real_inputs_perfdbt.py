"""What the dbt build spends its time on, checked on the one night over the hand-made zone
(``tests/e2e/real_inputs/``), tenant ``perfdbt`` (UTC, reactivation trigger any_engagement):

- ``tenants/perfdbt.csv``: the tenant;
- ``customers/perfdbt.csv``: ``pd-1`` (``a@sub.perfdbt.test``) and ``pd-2``
  (``b@perfdbt.test``), created 2026-01-01;
- ``suppressions/perfdbt.csv``: the domain ``perfdbt.test`` from 02-01 (reason "aaa parent
  domain", staff:ann) and ``sub.perfdbt.test`` from 02-10 ("zzz sub domain", staff:zoe): both
  cover ``pd-1`` from 02-10 on, two overlapping suppressions with different strings;
- ``engagement_events/perfdbt-1-first.csv``: ``pd-e1`` (open, 03-01) and ``pd-e2`` of ``pd-2``;
  ``perfdbt-2-resent.csv``: ``pd-e1`` sent again as a click, the only key of the zone that
  repeats (in another file, so another load).

The performance checks run the models' compiled selects (the night is a full build) under
DuckDB's profiler against the night's work file, and assert on what the plan did: the
engagement dedupe windows only the rows of keys that repeat (rules §1: the later arrival of a
key wins) and finds them by grouping a hash of the key, and the status engine's pivot over every fact piece aggregates no text (the strings
are attached once per segment afterwards).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e


def _compiled(zone, model: str) -> str:
    found = list((zone.work_db.parent / "dbt" / "target" / "compiled").rglob(f"{model}.sql"))
    assert len(found) == 1, found
    return found[0].read_text()


def _profile(zone, sql: str, tmp_path: Path) -> list[dict]:
    """Every operator of the plan that ran `sql` against the work file (read-only)."""
    out = tmp_path / "profile.json"
    con = duckdb.connect()
    try:
        con.execute(f"attach '{zone.work_db}' as work (read_only)")
        con.execute("pragma enable_profiling='json'")
        con.execute(f"pragma profiling_output='{out}'")
        con.execute(f"create temp table profiled as {sql}")
        con.execute("pragma disable_profiling")
    finally:
        con.close()
    operators = []

    def walk(node: dict) -> None:
        operators.append(node)
        for child in node.get("children", []):
            walk(child)

    for node in json.loads(out.read_text())["operator"]:
        walk(node)
    return operators


def test_a_resent_engagement_event_keeps_its_later_arrival(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output
    raw = zone.work(
        "select event_type, _load_id from raw.engagement_events"
        " where tenant_id = 'perfdbt' and event_id = 'pd-e1' order by _load_id"
    )
    assert [r[0] for r in raw] == ["open", "click"], raw
    staged = zone.work(
        "select event_id, event_type, _load_id from staging.stg_landing__engagement_events"
        " where tenant_id = 'perfdbt' order by event_id"
    )
    assert staged == [("pd-e1", "click", raw[-1][1]), ("pd-e2", "open", staged[1][2])]


def test_the_engagement_dedupe_windows_only_the_keys_that_repeat(real_inputs, tmp_path):
    zone, _ = real_inputs
    (rows,) = zone.work("select count(*) from raw.engagement_events")[0]
    (repeating,) = zone.work(
        "select coalesce(sum(n), 0) from (select count(*) as n from raw.engagement_events"
        " group by tenant_id, event_id having count(*) > 1) as repeats"
    )[0]
    assert repeating == 2 and rows > repeating  # pd-e1's two versions
    operators = _profile(zone, _compiled(zone, "stg_landing__engagement_events"), tmp_path)
    windowed = sum(op["intermediate_rows"] for op in operators if op["type"] == "WINDOW")
    assert windowed == repeating, f"{windowed} of {rows} rows went through a window"


def test_the_engagement_dedupe_groups_a_hash_of_every_key_not_its_text(real_inputs, tmp_path):
    """Which keys repeat is found by grouping a 64-bit hash of each row's key: the only
    aggregates that read every landed row group that one integer."""
    zone, _ = real_inputs
    (rows,) = zone.work("select count(*) from raw.engagement_events")[0]
    operators = _profile(zone, _compiled(zone, "stg_landing__engagement_events"), tmp_path)
    over_every_row = [
        op for op in operators
        if op["type"] == "HASH_GROUP_BY"
        and sum(c["intermediate_rows"] for c in op["children"]) == rows
    ]
    assert over_every_row, [op["type"] for op in operators]
    for op in over_every_row:
        assert op["extra_info"]["Groups"] == "#0", op["extra_info"]
        inputs = [c["extra_info"].get("Projections") for c in op["children"]]
        assert inputs == ["hash(tenant_id, event_id)"], inputs


def test_the_status_engine_pivots_no_text_over_every_fact_piece(real_inputs, tmp_path):
    zone, _ = real_inputs
    operators = _profile(zone, _compiled(zone, "int_customer_status_segments"), tmp_path)
    aggregates = [op for op in operators if op["type"] == "HASH_GROUP_BY" and op["extra_info"].get("Aggregates")]
    # the pivot: the aggregate that reads the most rows (every fact piece of every segment)
    pivot = max(aggregates, key=lambda op: sum(c["intermediate_rows"] for c in op["children"]))
    (segments,) = zone.work("select count(*) from intermediate.int_customer_status_segments")[0]
    assert pivot["intermediate_rows"] == segments
    inputs = [e for c in pivot["children"] for e in c["extra_info"].get("Projections", [])]
    assert inputs, pivot
    assert not [e for e in inputs if "VARCHAR" in e], inputs


def test_overlapping_suppressions_name_one_reason_and_actor(real_inputs):
    """Two domain entries hold for pd-1 from 02-10: its segment names the greatest reason and
    actor, as when every string went through the pivot; the change on 02-01 names the entry
    that started it."""
    zone, _ = real_inputs
    segments = zone.work(
        "select customer_id, cast(from_date as varchar), member_status, member_reason, member_actor"
        " from intermediate.int_customer_status_segments where tenant_id = 'perfdbt'"
        " order by customer_id, from_date"
    )
    assert segments == [
        ("pd-1", "2026-01-01", "active", "member active", "system"),
        ("pd-1", "2026-02-01", "inactive", "email domain suppressed (perfdbt.test): aaa parent domain", "staff:ann"),
        ("pd-1", "2026-02-10", "inactive", "email domain suppressed (sub.perfdbt.test): zzz sub domain", "staff:zoe"),
        ("pd-2", "2026-01-01", "active", "member active", "system"),
        ("pd-2", "2026-02-01", "inactive", "email domain suppressed (perfdbt.test): aaa parent domain", "staff:ann"),
    ]
    changes = zone.published(
        "select customer_id, cast(changed_on as varchar), from_value, to_value, reason, actor"
        " from marts.status_changes where tenant_id = 'perfdbt' and dimension = 'member_status'"
        " order by customer_id"
    )
    assert changes == [
        ("pd-1", "2026-02-01", "active", "inactive", "email domain suppressed (perfdbt.test): aaa parent domain", "staff:ann"),
        ("pd-2", "2026-02-01", "active", "inactive", "email domain suppressed (perfdbt.test): aaa parent domain", "staff:ann"),
    ]
