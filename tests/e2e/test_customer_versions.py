"""End to end, rules §1: a later version of a ``customers`` row without ``updated_at`` holds from
the as-of date of the run that first loaded it, recorded so that a rebuild gives the same
answer. Case ``versions`` of the shared ``two_nights`` zone (``tests/e2e/two_nights/``):

- night 2026-03-25 loads ``customers/versions-1-first.csv`` (``n-1`` accepting marketing, no
  ``updated_at``: the creation version) and ``customers/versions-2-second.csv`` (``n-1``
  again, opt-out, no ``updated_at``: holds from 03-25, the as-of date of the run that loaded
  it);
- the same work file is rebuilt from scratch (``CUSTOMER_STATUS_FULL_REFRESH=1``) for
  2026-03-31: the opt-out still counts from 03-25, not from 03-31 and not from creation.

``n-2`` (consenting, never changed) keeps the tenant's billable count from dropping to zero;
the tenant's ``max_billable_swing`` is 1 (the opt-out moves 1 of 2 billable customers).
"""

from __future__ import annotations

from datetime import date

import pytest

pytestmark = pytest.mark.e2e

HISTORY = (
    "select customer_id, valid_from, valid_to, is_billable from marts.customer_status_history "
    "where tenant_id = 'n_subs' order by customer_id, valid_from"
)
CHANGES = (
    "select customer_id, changed_on, dimension, from_value, to_value from marts.status_changes "
    "where tenant_id = 'n_subs' order by all"
)


def test_a_version_without_updated_at_holds_from_the_night_that_loaded_it(two_nights):
    first = two_nights.after_night_1
    assert two_nights.published(first, HISTORY) == [
        ("n-1", date(2026, 1, 5), date(2026, 3, 25), True),
        ("n-1", date(2026, 3, 25), None, False),
        ("n-2", date(2026, 1, 5), None, True),
    ]
    assert two_nights.published(first, CHANGES) == [
        ("n-1", date(2026, 3, 25), "is_billable", "true", "false"),
    ]


def test_a_rebuild_on_a_later_night_gives_the_same_answer(two_nights):
    first, rebuilt = two_nights.after_night_1, two_nights.rebuilt_in_place
    for sql in (HISTORY, CHANGES):
        assert two_nights.published(rebuilt, sql) == two_nights.published(first, sql)
    billable = dict(
        two_nights.published(
            rebuilt,
            "select date, billable_customers from marts.billable_counts_daily "
            "where tenant_id = 'n_subs'",
        )
    )
    assert billable[date(2026, 1, 5)] == 2
    assert billable[date(2026, 3, 24)] == 2
    assert billable[date(2026, 3, 25)] == 1
    assert billable[date(2026, 3, 31)] == 1
