"""Issue 14.2 in the hand-made zone: one customer stamped 1970-01-01 beside normal ones.

Files (tenant ``epoch``, Europe/Paris, max_reject_ratio 0.5 so the two bad rows reject only
themselves): ``tenants/epoch.csv``; ``customers/epoch.csv`` — ``e-1970`` created
1970-01-01 (data: counted from 1970 on), ``e-1``/``e-2``/``e-3`` created in 2026,
``e-1850`` created 1850-06-01 (before 1900: rejected), ``e-future`` created 2099-01-01
(after the run's start: rejected); ``orders/epoch.csv`` — one paid order of ``e-1``.

The daily history used to be counted 20 years forward from the first creation (1970 ->
1989): every 2026 figure was missing, rc 0, every audit passed. The night is for 2026-03-31
(``real_inputs``).
"""

from __future__ import annotations

from datetime import date

import pytest

pytestmark = pytest.mark.e2e

AS_OF = date(2026, 3, 31)


def test_the_daily_counts_run_from_1970_to_the_as_of_date(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output
    first, last, days = zone.published(
        "select min(date), max(date), count(*) from marts.billable_counts_daily "
        "where tenant_id = 'epoch'"
    )[0]
    assert (first, last) == (date(1970, 1, 1), AS_OF)
    assert days == (AS_OF - date(1970, 1, 1)).days + 1
    assert zone.published(
        "select date, customers, billable_customers from marts.billable_counts_daily "
        "where tenant_id = 'epoch' and date in "
        "(date '1970-01-01', date '2026-01-09', date '2026-01-10', date '2026-03-31') "
        "order by date"
    ) == [
        (date(1970, 1, 1), 1, 1),
        (date(2026, 1, 9), 1, 1),
        (date(2026, 1, 10), 2, 2),
        (AS_OF, 4, 4),
    ]


def test_the_2026_months_are_billed(real_inputs):
    zone, _ = real_inputs
    months = zone.published(
        "select month, days_computed from marts.billing_monthly where tenant_id = 'epoch' "
        "and month >= date '2026-01-01' order by month"
    )
    assert months == [(date(2026, 1, 1), 31), (date(2026, 2, 1), 28), (date(2026, 3, 1), 31)]
    assert zone.published(
        "select min(month), count(*) from marts.billing_monthly where tenant_id = 'epoch'"
    ) == [(date(1970, 1, 1), 56 * 12 + 3)]


def test_implausible_creation_dates_are_rejected_with_their_reason(real_inputs):
    zone, _ = real_inputs
    rejects = zone.published(
        "select row_number, error from marts.import_rejects "
        "where file = 'customers/epoch.csv' order by row_number"
    )
    assert [row for row, _ in rejects] == [5, 6]
    assert rejects[0][1] == (
        "created_at 1850-06-01 12:00:00 UTC is before 1900-01-01: not a plausible date"
    )
    assert rejects[1][1].startswith(
        "created_at 2099-01-01 00:00:00 UTC is later than the start of this run ("
    )
    assert zone.published(
        "select customer_id from marts.customer_status where tenant_id = 'epoch' order by 1"
    ) == [("e-1",), ("e-1970",), ("e-2",), ("e-3",)]
