"""Merges are point-in-time (rules §4, §1), over the hand-made landing zone
(``tests/e2e/real_inputs/``), tenant ``merge`` (UTC, activity window 3 days):

- ``tenants/merge.csv``: the tenant, with a 3-day window so each payment is visible on its own;
- ``customers/merge.csv``: ``m-a`` merged into ``m-b`` on 2026-03-10 ("day 1"), ``m-b`` merged
  into ``m-c`` on 2026-03-20 ("day 4"); ``m-x`` names ``merged_into`` ``m-c`` without a
  ``merged_at`` (bad input: the merge is ignored and published in ``import_rejects``);
- ``orders/merge.csv``: three payments of ``m-a``: 03-05 (before day 1), 03-15 (between day 1
  and day 4), 03-25 (after day 4);
- ``subscription_events/merge.csv``: a subscription of ``m-a``, live 03-18 .. 03-22.

So ``m-a``'s history counts for ``m-b`` on 03-10 .. 03-19 and for ``m-c`` from 03-20 on: the
merge stamped on day 4 changes nothing before day 4.
"""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.e2e

D = dt.date.fromisoformat


def _lifecycle(zone, customer_id: str) -> list[tuple]:
    return zone.published(
        "select valid_from, valid_to, status, account_status, lifecycle_status, is_billable "
        "from marts.customer_status_history "
        f"where tenant_id = 'merge' and customer_id = '{customer_id}' order by valid_from"
    )


def test_the_first_survivor_has_the_history_from_day_1_until_day_4(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output
    assert _lifecycle(zone, "m-b") == [
        (D("2026-01-01"), D("2026-03-10"), "prospect", "active", "prospect", True),
        # the payment of 03-05 counts from the merge day: paid ever, not in the window
        (D("2026-03-10"), D("2026-03-15"), "sleeping", "active", "sleeping", True),
        # the payment of 03-15, between day 1 and day 4
        (D("2026-03-15"), D("2026-03-18"), "active", "active", "active", True),
        # the subscription, live from 03-18
        (D("2026-03-18"), D("2026-03-20"), "subscribed", "active", "subscribed", True),
        # day 4: m-b is merged into m-c, and m-a's history goes on to m-c
        (D("2026-03-20"), None, "archived", "archived", "prospect", False),
    ]


def test_the_last_survivor_has_the_history_from_day_4_only(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output
    assert _lifecycle(zone, "m-c") == [
        # nothing stamped on day 4 changes a day before it
        (D("2026-01-01"), D("2026-03-20"), "prospect", "active", "prospect", True),
        (D("2026-03-20"), D("2026-03-23"), "subscribed", "active", "subscribed", True),
        (D("2026-03-23"), D("2026-03-25"), "unsubscribed", "active", "unsubscribed", True),
        # the payment of 03-25, after day 4
        (D("2026-03-25"), D("2026-03-28"), "active", "active", "active", True),
        (D("2026-03-28"), None, "unsubscribed", "active", "unsubscribed", True),
    ]


def test_billable_counts_drop_with_each_merge_on_its_own_day(real_inputs):
    """Tenant counts do not tell m-b from m-c (the history above does); each merge archives
    its customer from its own day."""
    zone, run = real_inputs
    assert run.code == 0, run.output
    assert zone.published(
        "select date, billable_customers from marts.billable_counts_daily "
        "where tenant_id = 'merge' and date in "
        "(date '2026-03-09', date '2026-03-10', date '2026-03-19', date '2026-03-20', "
        "date '2026-03-31') order by date"
    ) == [
        (D("2026-03-09"), 4),
        (D("2026-03-10"), 3),  # m-a archived
        (D("2026-03-19"), 3),
        (D("2026-03-20"), 2),  # m-b archived; m-x's merge without a date is ignored
        (D("2026-03-31"), 2),
    ]


def test_merged_into_without_merged_at_is_rejected_with_a_reason(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output
    assert zone.published(
        "select source, file, row_number, error, scope from marts.import_rejects "
        "where tenant_id = 'merge'"
    ) == [
        (
            "customers",
            "customers/merge.csv",
            4,
            "merged into m-c without merged_at; the merge is ignored",
            "merge",
        )
    ]
    # the customer itself is loaded, and not archived
    assert zone.published(
        "select account_status from marts.customer_status "
        "where tenant_id = 'merge' and customer_id = 'm-x'"
    ) == [("active",)]
