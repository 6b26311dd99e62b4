"""The hand-made landing zone (``tests/e2e/real_inputs/``) publishes: tenant ``base`` has one
customer, created 2026-01-05, and is counted on the as-of date."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_the_night_over_hand_made_files_publishes(real_inputs):
    zone, run = real_inputs
    assert run.code == 0, run.output
    assert zone.published(
        "select customers from marts.billable_counts_daily "
        "where tenant_id = 'base' and date = date '2026-03-31'"
    ) == [(1,)]
