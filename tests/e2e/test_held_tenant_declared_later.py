"""A held tenant, declared later, is computed from its own dates (issue 14, item 7).

Two nights over a small landing zone of its own (the shared ``real_inputs`` zone runs one
night only):

- night 1, as of 2026-03-30: tenant ``late``'s only ``tenants`` row has the time zone
  ``Mars/Olympus`` and is rejected, so its customers l-1 (created 2026-01-10, paid 2026-03-10)
  and l-2 (created 2026-02-01, one engagement event on 2026-03-15) are held: in
  ``import_rejects`` only. Tenant ``early`` is declared and computed as usual.
- night 2, as of 2026-03-31: a corrected ``tenants`` row declares ``late`` (UTC,
  ``reactivation_trigger`` any_engagement, ``sunset_after_days`` 30). Nothing else of
  ``late`` lands: the rows held since night 1 are computed from their own dates. l-2's
  engagement, staged on night 1 while the tenant was held, must still reactivate it (the
  engagement staging model is incremental per load), so on 2026-03-31 l-2 is an active
  member; without it, it would be inactive (no_engagement) since 2026-03-03.
- tenant ``early``'s order eo-1 (paid 2026-03-20) names e-2, a customer that lands only on
  night 2 (``customers/early-2.csv``, created 2026-03-01): flagged ``unknown customer`` on
  night 1; on night 2 it is a sound payment and e-2 is active from 2026-03-20.
"""

from __future__ import annotations

from datetime import date

import pytest
from conftest import Zone

pytestmark = pytest.mark.e2e


def _write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    root = tmp_path_factory.mktemp("held-later")
    landing = root / "landing"
    _write(landing / "tenants" / "early.csv", "tenant_id,name,timezone\nearly,Early,UTC\n")
    _write(
        landing / "tenants" / "late-v1.csv",
        "tenant_id,name,timezone,updated_at\nlate,Late,Mars/Olympus,2026-03-01T00:00:00Z\n",
    )
    _write(
        landing / "customers" / "late.csv",
        "tenant_id,customer_id,email,created_at\n"
        "early,e-1,one@early.test,2026-01-05T10:00:00Z\n"
        "late,l-1,one@late.test,2026-01-10T12:00:00Z\n"
        "late,l-2,two@late.test,2026-02-01T12:00:00Z\n",
    )
    _write(
        landing / "orders" / "late.csv",
        "tenant_id,order_id,customer_id,created_at,paid_at,amount,currency\n"
        "late,lo-1,l-1,2026-03-10T12:00:00Z,2026-03-10T12:05:00Z,10.00,EUR\n"
        "early,eo-1,e-2,2026-03-20T12:00:00Z,2026-03-20T12:05:00Z,10.00,EUR\n",
    )
    _write(
        landing / "engagement_events" / "late.csv",
        "tenant_id,event_id,customer_id,channel,event_type,occurred_at\n"
        "late,le-1,l-2,email,open,2026-03-15T12:00:00Z\n",
    )
    zone = Zone(landing, root / "warehouse.duckdb", root / "warehouse.work" / "work.duckdb", {})
    first = zone.run("--date", "2026-03-30")
    assert first.code == 0, first.output
    before = {
        "customers": zone.published(
            "select count(*) from marts.customer_status where tenant_id = 'late'"
        )[0][0],
        "held": zone.published(
            "select source, tenant_id, held_rows from marts.import_rejects "
            "where scope = 'held' order by source"
        ),
        "eo-1": zone.published(
            "select invalid_reason from marts.orders where tenant_id = 'early' "
            "and order_id = 'eo-1'"
        ),
    }
    _write(
        landing / "tenants" / "late-v2.csv",
        "tenant_id,name,timezone,reactivation_trigger,sunset_after_days,updated_at\n"
        "late,Late,UTC,any_engagement,30,2026-03-31T00:00:00Z\n",
    )
    _write(
        landing / "customers" / "early-2.csv",
        "tenant_id,customer_id,email,created_at\nearly,e-2,two@early.test,2026-03-01T10:00:00Z\n",
    )
    second = zone.run("--date", "2026-03-31")
    assert second.code == 0, second.output
    return zone, before


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
