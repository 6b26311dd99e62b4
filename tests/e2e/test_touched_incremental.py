"""The models upstream of the status engine recompute only the touched customers on an
incremental night (issue 18: the attribute history, the account-status fold and its ranges,
the flagged orders and the attributed payments are per-customer models), and still publish
what a rebuild publishes. Case ``touched`` of the shared ``two_nights`` zone
(``tests/e2e/two_nights/``), tenant ``touched`` (UTC, activity window 30 days).

Night 1 (as of 2026-03-25) lands:

- ``customers/touched-night-1.csv``: ``em``, ``pa``, ``pb``, ``mm`` and ``sv``, created 01-01;
- ``orders/touched-night-1.csv``: ``o-move`` paid by ``pa`` on 03-10, ``o-late`` of
  ``late`` (no such customer yet: invalid), ``o-mm`` paid by ``mm`` on 03-05;
- ``status_actions/touched-night-1.csv``: ``a-move`` suspends ``pa`` from 03-20.

Night 2 (as of 2026-03-31, incremental) lands:

- ``customers/touched-night-2.csv``: a new version of ``em`` (email and consent changed on
  03-20); ``late`` (its order becomes valid); a new version of ``mm`` merged into ``sv`` on
  03-15 (``mm``'s payment counts for ``sv`` from 03-15);
- ``orders/touched-night-2.csv``: ``o-move`` again, now naming ``pb`` (the record moved:
  ``pa`` loses it), and ``o-ghost`` of a customer that never lands;
- ``status_actions/touched-night-2.csv``: ``a-move`` again, now naming ``pb``.

The incremental night must publish, for ``touched``, what the fresh rebuild over all files
and the rebuild in place publish.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import published_rows

pytestmark = pytest.mark.e2e

TENANT = "touched"


@pytest.fixture(scope="module")
def warehouses(two_nights) -> dict[str, Path]:
    return {
        "nightly": two_nights.after_night_2,
        "rebuild": two_nights.fresh_rebuild,
        "in_place": two_nights.rebuilt_in_place,
    }


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, [TENANT]).fetchall()


def _history(warehouse: Path) -> list[tuple]:
    return _rows(
        warehouse,
        "select customer_id, valid_from::varchar, status, account_status, lifecycle_status "
        "from marts.customer_status_history where tenant_id = ? order by all",
    )


def test_the_rebuild_publishes_what_the_docstring_says(warehouses):
    rebuild = warehouses["rebuild"]
    orders = _rows(
        rebuild,
        "select order_id, customer_id from marts.orders where tenant_id = ? order by all",
    )
    assert orders == [("o-ghost", "ghost"), ("o-late", "late"), ("o-mm", "mm"), ("o-move", "pb")]
    account = _rows(
        rebuild,
        "select customer_id, account_status from marts.customer_status "
        "where tenant_id = ? and customer_id in ('pa', 'pb') order by all",
    )
    assert account == [("pa", "active"), ("pb", "suspended")]
    history = _history(rebuild)
    # the moved order counts for pb (paid 03-10), not for pa
    assert ("pa", "2026-03-10") not in {(c, d) for c, d, *_ in history}
    assert ("pb", "2026-03-10") in {(c, d) for c, d, *_ in history}
    # mm's payment counts for sv from the merge day on
    assert ("sv", "2026-03-15") in {(c, d) for c, d, *_ in history}
    # late's order counts from its own day once late landed
    assert ("late", "2026-03-12") in {(c, d) for c, d, *_ in history}
    em = _rows(
        rebuild,
        "select email, accepts_marketing from marts.customer_status "
        "where tenant_id = ? and customer_id = 'em'",
    )
    assert em == [("em@other.test", False)]


def test_the_second_night_was_incremental(two_nights):
    assert two_nights.builds_after_night_2 == [True, False]


def test_the_record_that_moved_left_its_earlier_customer(warehouses):
    """``pa`` is touched because an earlier version of ``o-move`` and ``a-move`` named it."""
    for name in ("nightly", "rebuild"):
        assert _rows(
            warehouses[name],
            "select count(*) from marts.orders where tenant_id = ? and order_id = 'o-move'",
        ) == [(1,)], name
    assert _history(warehouses["nightly"]) == _history(warehouses["rebuild"])


@pytest.mark.parametrize("reference", ["rebuild", "in_place"])
def test_the_incremental_night_equals_the_rebuilds(warehouses, reference):
    expected = published_rows(warehouses[reference], TENANT)
    actual = published_rows(warehouses["nightly"], TENANT)
    assert set(actual) == set(expected)
    for table, rows in expected.items():
        assert actual[table] == rows, table
