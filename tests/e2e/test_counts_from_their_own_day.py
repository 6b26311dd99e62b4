"""rules §1: a row counts from its own day on, so nothing stamped on day X changes a day
before X. Case `firstval` of ``tests/e2e/two_nights/``: five customers created 03-01..03-03,
nobody ever suspended on night 1 (2026-03-25); night 2 (2026-03-31) lands a staff action
suspending f3 on 03-28, the first time the tenant meets `suspended`. The daily counts of
the days up to 03-25 must read the same after night 2 as after night 1: the new value
gets rows (and zeros after its last customer leaves it) from 03-28 on only."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

DAILY = {
    "status_counts_daily": "select * from marts.status_counts_daily "
    "where tenant_id = 'firstval' and date <= date '2026-03-25' order by all",
    "billable_counts_daily": "select * from marts.billable_counts_daily "
    "where tenant_id = 'firstval' and date <= date '2026-03-25' order by all",
}


def test_the_days_before_a_value_first_met_read_the_same(two_nights):
    for table, sql in DAILY.items():
        before = two_nights.published(two_nights.after_night_1, sql)
        after = two_nights.published(two_nights.after_night_2, sql)
        assert before, f"{table}: no rows for firstval up to 03-25 after night 1"
        assert after == before, (
            f"{table}: night 2 changed days up to 03-25: "
            f"{sorted(set(after) - set(before))[:5]} appeared, "
            f"{sorted(set(before) - set(after))[:5]} went"
        )


def test_the_new_value_counts_from_its_own_day(two_nights):
    rows = two_nights.published(
        two_nights.after_night_2,
        "select date, customers from marts.status_counts_daily where tenant_id = 'firstval' "
        "and dimension = 'account_status' and value = 'suspended' order by date",
    )
    assert [str(d) for d, _ in rows] == ["2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31"]
    assert {n for _, n in rows} == {1}
    # every day still adds up: the five customers, split over the account statuses
    totals = two_nights.published(
        two_nights.after_night_2,
        "select date, sum(customers) from marts.status_counts_daily where tenant_id = 'firstval' "
        "and dimension = 'account_status' and date >= date '2026-03-03' group by date "
        "having sum(customers) <> 5",
    )
    assert totals == []
