"""Customer attributes are history (rules §1): each version of a ``customers`` row counts from
its own day, never before it. One night over the hand-made landing zone, as of 2026-03-31.

Files (tenant ``attr_subs``, UTC, billing basis ``subscribers``, internal domain
``staff.attrs.test``, ``max_billable_swing`` 0.9 because two opt-outs on the as-of date are the
point of the case):

- ``tenants/attrs.csv``: the tenant.
- ``suppressions/attrs.csv``: the domain ``blocked.test`` suppressed since 2026-01-02.
- ``customers/attrs-1-first.csv``: six customers created 2026-01-05, all accepting marketing,
  none on a suppressed or internal domain, none with a phone.
- ``customers/attrs-2-changes.csv``: a second version of each, landed in the same night:
  - ``as-1`` withdraws marketing consent on 2026-03-31 (the as-of date): billable through
    03-30, not on 03-31;
  - ``as-2`` moves its email to ``mail.blocked.test`` on 2026-03-15: domain-suppressed from
    03-15, an active member before;
  - ``as-3`` adds a phone on 2026-04-02 (after the as-of date): no SMS yet on 03-31;
  - ``as-4`` withdraws consent on 2026-04-05 (after the as-of date): still billable on 03-31;
  - ``as-5`` withdraws consent in a version without ``updated_at``: it holds from the as-of
    date of the run that loaded it (03-31), the first version (also without) from creation;
  - ``as-6`` moves its email to the internal domain on 2026-03-01: ``internal`` is decided at
    creation, so it stays an active, counted, billable customer.
"""

from __future__ import annotations

from datetime import date as d

import pytest

pytestmark = pytest.mark.e2e

TENANT = "attr_subs"


def _billable(zone, day: str) -> int:
    rows = zone.published(
        "select billable_customers from marts.billable_counts_daily "
        f"where tenant_id = '{TENANT}' and date = date '{day}'"
    )
    assert len(rows) == 1, rows
    return rows[0][0]


def test_the_night_publishes(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output


def test_billable_counts_change_from_each_versions_own_day(real_inputs):
    zone, _ = real_inputs
    # all six bill until as-2's email change; the as-of date loses as-1 and as-5 only
    assert _billable(zone, "2026-01-05") == 6
    assert _billable(zone, "2026-03-14") == 6
    assert _billable(zone, "2026-03-15") == 5
    assert _billable(zone, "2026-03-30") == 5
    assert _billable(zone, "2026-03-31") == 3
    # every customer is counted every day (as-6 never became internal)
    assert zone.published(
        f"select distinct customers from marts.billable_counts_daily where tenant_id = '{TENANT}'"
    ) == [(6,)]


def test_history_splits_on_the_change_date_only(real_inputs):
    zone, _ = real_inputs
    history = zone.published(
        "select customer_id, valid_from, valid_to, member_status, inactive_reason, is_billable "
        "from marts.customer_status_history "
        f"where tenant_id = '{TENANT}' and customer_id in ('as-1', 'as-2', 'as-5') "
        "order by customer_id, valid_from"
    )
    assert history == [
        ("as-1", d(2026, 1, 5), d(2026, 3, 31), "active", None, True),
        ("as-1", d(2026, 3, 31), None, "active", None, False),
        ("as-2", d(2026, 1, 5), d(2026, 3, 15), "active", None, True),
        ("as-2", d(2026, 3, 15), None, "inactive", "domain_suppressed", False),
        ("as-5", d(2026, 1, 5), d(2026, 3, 31), "active", None, True),
        ("as-5", d(2026, 3, 31), None, "active", None, False),
    ]


def test_status_changes_name_the_day_and_the_reason(real_inputs):
    zone, _ = real_inputs
    changes = zone.published(
        "select customer_id, cast(changed_on as varchar), dimension, from_value, to_value, reason "
        "from marts.status_changes "
        f"where tenant_id = '{TENANT}' order by customer_id, changed_on, dimension"
    )
    subscribers = "does not accept marketing (billing basis: subscribers)"
    assert changes == [
        ("as-1", "2026-03-31", "is_billable", "true", "false", subscribers),
        (
            "as-2",
            "2026-03-15",
            "is_billable",
            "true",
            "false",
            "member inactive: domain_suppressed",
        ),
        (
            "as-2",
            "2026-03-15",
            "member_status",
            "active",
            "inactive",
            "email domain suppressed (blocked.test): reseller",
        ),
        ("as-5", "2026-03-31", "is_billable", "true", "false", subscribers),
    ]


def test_customer_status_shows_the_version_holding_on_the_as_of_date(real_inputs):
    zone, _ = real_inputs
    rows = zone.published(
        "select customer_id, account_status, member_status, is_billable, can_email, can_sms, "
        "email, phone, accepts_marketing "
        f"from marts.customer_status where tenant_id = '{TENANT}' order by customer_id"
    )
    assert rows == [
        ("as-1", "active", "active", False, True, False, "one@shop.test", None, False),
        ("as-2", "active", "inactive", False, False, False, "two@mail.blocked.test", None, True),
        # the phone stamped 04-02 and the opt-out stamped 04-05 count from their own days
        ("as-3", "active", "active", True, True, False, "three@shop.test", None, True),
        ("as-4", "active", "active", True, True, False, "four@shop.test", None, True),
        ("as-5", "active", "active", False, True, False, "five@shop.test", None, False),
        ("as-6", "active", "active", True, True, False, "six@staff.attrs.test", None, True),
    ]
