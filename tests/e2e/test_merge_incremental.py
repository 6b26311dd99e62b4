"""Point-in-time merges on incremental nights (issue 14 item 3): a night that recomputes only
the touched customers (``int_customers_touched``) publishes what a rebuild publishes, when
the rows that land change who holds a merged customer's history. Case ``merge`` of the
shared ``two_nights`` zone (``tests/e2e/two_nights/``), tenant ``t1`` (UTC, window 3 days).

Night 1 (as of 2026-03-25) lands:

- ``customers/merge-night-1.csv``: ``a`` merged into ``b`` on 03-10, ``b`` into ``c`` on 03-15,
  ``c`` into ``d`` on 03-20 (so ``a``'s history counts for ``b``, then ``c``, then ``d``);
  ``u`` merged into ``v`` on 03-12, ``v`` not landed yet (the merge is rejected).

Night 2 (as of 2026-03-31, incremental) lands:

- ``orders/merge-night-2.csv``: a payment of ``a`` on 03-05: it counts for ``b`` on
  03-10..14, ``c`` on 03-15..19 (the middle of the chain) and ``d`` from 03-20;
- ``customers/merge-night-2.csv``: ``v``: ``u``'s merge applies now, ``u`` is archived from
  03-12.

The fresh rebuild over all files (one night, as of 03-31) must publish the same rows for
``t1``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import published_rows

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def warehouses(two_nights) -> dict[str, Path]:
    return {"nightly": two_nights.after_night_2, "rebuild": two_nights.fresh_rebuild}


def _history(warehouse: Path, customer_id: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select valid_from::varchar, status from marts.customer_status_history "
            "where tenant_id = 't1' and customer_id = ? order by valid_from",
            [customer_id],
        ).fetchall()


def test_the_rebuild_gives_the_middle_of_the_chain_its_days(warehouses):
    """Sanity: the case is what the docstring says, in the rebuild."""
    rebuild = warehouses["rebuild"]
    assert _history(rebuild, "c") == [
        ("2026-01-01", "prospect"),
        ("2026-03-15", "sleeping"),  # a's payment, inherited through b
        ("2026-03-20", "archived"),  # merged into d; a's history goes on to d
    ]
    assert _history(rebuild, "d") == [("2026-01-01", "prospect"), ("2026-03-20", "sleeping")]
    assert _history(rebuild, "u") == [("2026-01-01", "prospect"), ("2026-03-12", "archived")]


def test_the_second_night_recomputed_only_touched_customers(two_nights):
    assert two_nights.builds_after_night_2 == [True, False]


@pytest.mark.parametrize(
    "customer_id",
    [
        "c",  # the middle of the chain: holds a's payment on 03-15..19 only
        "u",  # merged into v, which landed on the second night
    ],
)
def test_the_incremental_night_recomputed_the_merge_partners(warehouses, customer_id):
    assert _history(warehouses["nightly"], customer_id) == _history(
        warehouses["rebuild"], customer_id
    )


def test_incremental_nights_equal_the_rebuild(warehouses):
    expected, actual = (
        published_rows(warehouses["rebuild"], "t1"),
        published_rows(warehouses["nightly"], "t1"),
    )
    assert sorted(actual) == sorted(expected)
    for name, rows in expected.items():
        assert actual[name] == rows, (
            f"marts.{name}: only in the rebuild "
            f"{[r for r in rows if r not in actual[name]][:3]}; only in the nightly "
            f"{[r for r in actual[name] if r not in rows][:3]}"
        )
