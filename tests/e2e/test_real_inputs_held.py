"""Rows that must not be computed or published as they are (issue 14, items 7, 9 and 11), on
the one night over the hand-made landing zone (``tests/e2e/real_inputs/``, as of 2026-03-31).

Files (all ``*/held.csv`` plus ``tenants/held-badtz.csv``):

- ``tenants/held.csv`` declares ``held`` (America/Los_Angeles: D ends 2026-04-01 07:00 UTC);
  ``tenants/held-badtz.csv`` is ``held-badtz`` with the time zone ``Mars/Olympus``: rejected,
  so ``held-badtz`` is not declared.
- ``customers/held.csv``: ``held`` h-1..h-5; and customers of tenants no accepted row declares:
  ``HELD`` (ids are data: not ``held``), ``T1`` (two), ``tUNK``, ``../evil``, ``held-badtz``.
- ``orders/held.csv``: h-1 ``ok-1`` paid 03-20 (active); ``stranger-1`` for the unknown h-404;
  h-2 ``early-pay-1`` paid before it was created; h-3 ``early-refund-1`` refunded before it was
  paid; h-5 ``paid-later-1`` paid after D; h-1 ``refund-later-1`` refunded after D and
  ``created-later-1`` created after D; one order each for ``tUNK`` and ``T1`` (held).
- ``status_actions/held.csv``: h-4 suspended on 03-10 and made active again after D; h-1
  suspended after D; one action of ``tUNK`` (held).
- ``engagement_events``, ``subscription_events``, ``status_labels``, ``suppressions`` and
  ``status_imports/tUNK/``: one row each of an undeclared tenant (held).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

UNDECLARED = ("HELD", "T1", "tUNK", "../evil", "held-badtz")


def _marts_with_tenants(zone) -> list[str]:
    return [
        name
        for (name,) in zone.published(
            "select table_name from information_schema.columns "
            "where table_schema = 'marts' and column_name = 'tenant_id' order by 1"
        )
    ]


def test_the_night_publishes(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output


# The two tables that report on landing files rather than compute from them: they name the
# held tenant's rows and files on purpose.
REPORTS = {"import_rejects", "landing_files"}


def test_undeclared_tenants_are_in_no_mart_but_the_reports(real_inputs):
    zone, _ = real_inputs
    tables = _marts_with_tenants(zone)
    assert {"customer_status", "billing_monthly", "orders", "import_rejects"} <= set(tables)
    ids = ", ".join(f"'{t}'" for t in UNDECLARED)
    for table in tables:
        if table in REPORTS:
            continue
        found = zone.published(
            f"select distinct tenant_id from marts.{table} where tenant_id in ({ids})"
        )
        assert found == [], (table, found)
    assert zone.published(
        "select outcome from marts.landing_files where file = 'status_imports/tUNK/held.csv'"
    ) == [("loaded",)]
    # the declared tenant next to them is computed
    assert zone.published(
        "select count(*) from marts.customer_status where tenant_id = 'held'"
    ) == [(5,)]


def test_held_rows_are_reported_per_source_file_and_tenant(real_inputs):
    zone, _ = real_inputs
    held = zone.published(
        "select source, file, tenant_id, held_rows, error from marts.import_rejects "
        "where scope = 'held' order by source, tenant_id"
    )
    assert (
        "customers",
        "customers/held.csv",
        "T1",
        2,
        "tenant 'T1' is not declared in tenants: 2 rows held",
    ) in held
    by_source = {(source, tenant): n for source, _, tenant, n, _ in held}
    assert by_source == {
        ("customers", "../evil"): 1,
        ("customers", "HELD"): 1,
        ("customers", "T1"): 2,
        ("customers", "held-badtz"): 1,
        ("customers", "tUNK"): 1,
        ("engagement_events", "tUNK"): 1,
        ("orders", "T1"): 1,
        ("orders", "tUNK"): 1,
        ("status_actions", "tUNK"): 1,
        ("status_imports", "tUNK"): 1,
        ("status_labels", "tUNK"): 1,
        ("subscription_events", "T1"): 1,
        ("suppressions", "tUNK"): 1,
    }
    assert all(
        row_number is None
        for (row_number,) in zone.published(
            "select row_number from marts.import_rejects where scope = 'held'"
        )
    )
    # the rejected tenants row is reported with its reason too
    (error,) = zone.published(
        "select error from marts.import_rejects where file = 'tenants/held-badtz.csv'"
    )[0]
    assert "Mars/Olympus" in error


def test_held_rows_are_kept_and_not_counted_as_lost(real_inputs):
    zone, run = real_inputs
    assert "PASS rows_reconcile" in run.output
    assert zone.work("select count(*) from raw.customers where tenant_id in ('T1', 'tUNK')") == [
        (3,)
    ]


def test_orders_that_cannot_be_right_are_flagged(real_inputs):
    zone, _ = real_inputs
    flagged = dict(
        zone.published("select order_id, invalid_reason from marts.orders where tenant_id = 'held'")
    )
    assert flagged["stranger-1"] == "unknown customer"
    assert flagged["early-pay-1"] == "paid before it was created"
    assert flagged["early-refund-1"] == "refunded before it was paid"
    assert flagged["ok-1"] is None and flagged["refund-later-1"] is None


def test_flagged_orders_count_in_no_status_or_billing(real_inputs):
    zone, _ = real_inputs
    lifecycle = dict(
        zone.published(
            "select customer_id, lifecycle_status from marts.customer_status "
            "where tenant_id = 'held'"
        )
    )
    # h-1 paid a sound order; h-2's and h-3's only orders are flagged; h-404 does not exist
    assert lifecycle == {
        "h-1": "active",
        "h-2": "prospect",
        "h-3": "prospect",
        "h-4": "prospect",
        "h-5": "prospect",
    }
    assert zone.published(
        "select value, customers from marts.status_counts_daily where tenant_id = 'held' "
        "and date = date '2026-03-31' and dimension = 'lifecycle_status' and customers > 0 "
        "order by value"
    ) == [("active", 1), ("prospect", 4)]
    assert zone.published(
        "select customers, billable_customers from marts.billable_counts_daily "
        "where tenant_id = 'held' and date = date '2026-03-31'"
    ) == [(5, 5)]


def test_a_run_for_d_publishes_the_world_of_d(real_inputs):
    zone, _ = real_inputs
    orders = {
        order_id: (paid_at, refunded_at)
        for order_id, paid_at, refunded_at in zone.published(
            "select order_id, paid_at, refunded_at from marts.orders where tenant_id = 'held'"
        )
    }
    assert "created-later-1" not in orders
    assert orders["paid-later-1"] == (None, None)
    assert orders["refund-later-1"][1] is None and orders["refund-later-1"][0] is not None
    assert zone.published(
        "select action_id from marts.status_action_outcomes where tenant_id = 'held'"
    ) == [("held-a1",)]
    assert zone.published(
        "select account_status, valid_to from marts.account_status_history "
        "where tenant_id = 'held' and customer_id = 'h-4' order by valid_from"
    )[-1] == ("suspended", None)
    assert zone.published(
        "select count(*) from marts.account_status_history where tenant_id = 'held' "
        "and valid_from >= timestamp '2026-04-01 07:00:00'"
    ) == [(0,)]


def test_the_run_output_names_flagged_orders_and_held_tenants(real_inputs):
    _, run = real_inputs
    assert (
        "tenant 'held': 3 order(s) flagged in marts.orders and left out of every status and "
        "revenue figure (1 paid before it was created, 1 refunded before it was paid, "
        "1 unknown customer)"
    ) in run.output
    assert "tenant 'tUNK' is not declared in tenants: 7 row(s) held" in run.output
