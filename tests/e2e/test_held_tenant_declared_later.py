"""A held tenant, declared later, is computed from its own dates (issue 14, item 7). Case
``held`` of the shared ``two_nights`` zone (``tests/e2e/two_nights/``):

- night 1, as of 2026-03-25: tenant ``late``'s only ``tenants`` row
  (``tenants/held-late-v1.csv``) has the time zone ``Mars/Olympus`` and is rejected, so its
  customers l-1 (created 2026-01-10, paid 2026-03-10) and l-2 (created 2026-02-01, one
  engagement event on 2026-03-15) are held: in ``import_rejects`` only. Tenant ``early`` is
  declared and computed as usual.
- night 2, as of 2026-03-31: a corrected ``tenants`` row (``tenants/held-late-v2.csv``)
  declares ``late`` (UTC, ``reactivation_trigger`` any_engagement, ``sunset_after_days`` 30).
  Nothing else of ``late`` lands: the rows held since night 1 are computed from their own
  dates. l-2's engagement, staged on night 1 while the tenant was held, must still reactivate
  it (the engagement staging model is incremental per load), so on 2026-03-31 l-2 is an
  active member; without it, it would be inactive (no_engagement) since 2026-03-03.
- tenant ``early``'s order eo-1 (paid 2026-03-20) names e-2, a customer that lands only on
  night 2 (``customers/held-early-2.csv``, created 2026-03-01): flagged ``unknown customer``
  on night 1; on night 2 it is a sound payment and e-2 is active from 2026-03-20.
"""

from __future__ import annotations

from datetime import date

import pytest

pytestmark = pytest.mark.e2e


class _Published:
    def __init__(self, two_nights, warehouse):
        self.two_nights, self.warehouse = two_nights, warehouse

    def published(self, sql: str) -> list[tuple]:
        return self.two_nights.published(self.warehouse, sql)


@pytest.fixture(scope="module")
def nights(two_nights):
    first = _Published(two_nights, two_nights.after_night_1)
    before = {
        "customers": first.published(
            "select count(*) from marts.customer_status where tenant_id = 'late'"
        )[0][0],
        "held": first.published(
            "select source, tenant_id, held_rows from marts.import_rejects "
            "where scope = 'held' order by source"
        ),
        "eo-1": first.published(
            "select invalid_reason from marts.orders where tenant_id = 'early' "
            "and order_id = 'eo-1'"
        ),
    }
    return _Published(two_nights, two_nights.after_night_2), before


def test_held_on_the_first_night(nights):
    _, before = nights
    assert before["customers"] == 0
    assert before["held"] == [
        ("customers", "late", 2),
        ("engagement_events", "late", 1),
        ("orders", "late", 1),
    ]


def test_declared_tenant_is_computed_from_its_customers_creation(nights):
    zone, _ = nights
    assert zone.published("select count(*) from marts.import_rejects where scope = 'held'") == [
        (0,)
    ]
    first_ranges = zone.published(
        "select customer_id, min(valid_from) from marts.customer_status_history "
        "where tenant_id = 'late' group by 1 order by 1"
    )
    assert [(c, str(d)[:10]) for c, d in first_ranges] == [
        ("l-1", "2026-01-10"),
        ("l-2", "2026-02-01"),
    ]
    assert zone.published(
        "select min(date), max(date) from marts.billable_counts_daily where tenant_id = 'late'"
    )[0] == (
        date(2026, 1, 10),
        date(2026, 3, 31),
    )
    # l-1's payment of 2026-03-10, held until tonight, counts from its own date
    assert zone.published(
        "select changed_on from marts.status_changes where tenant_id = 'late' "
        "and customer_id = 'l-1' and dimension = 'lifecycle_status' and to_value = 'active'"
    ) == [(date(2026, 3, 10),)]


def test_engagement_landed_while_held_is_not_lost(nights):
    zone, _ = nights
    assert zone.published(
        "select member_status, inactive_reason from marts.customer_status "
        "where tenant_id = 'late' and customer_id = 'l-2'"
    ) == [("active", None)]
    assert zone.published(
        "select changed_on, to_value from marts.status_changes where tenant_id = 'late' "
        "and customer_id = 'l-2' and dimension = 'member_status' order by changed_on"
    ) == [
        (date(2026, 3, 3), "inactive"),
        (date(2026, 3, 15), "active"),
    ]


def test_an_unknown_customers_order_counts_once_the_customer_lands(nights):
    zone, before = nights
    assert before["eo-1"] == [("unknown customer",)]
    assert zone.published(
        "select invalid_reason from marts.orders where tenant_id = 'early' and order_id = 'eo-1'"
    ) == [(None,)]
    assert zone.published(
        "select changed_on from marts.status_changes where tenant_id = 'early' "
        "and customer_id = 'e-2' and dimension = 'lifecycle_status' and to_value = 'active'"
    ) == [(date(2026, 3, 20),)]
