"""Dates that cannot be right are bad input (rules §1): a ``created_at`` before 1900-01-01 or
later than the run's start rejects its row with the reason; any other date, in any year
(1900, 1970, 1997), is data and loads."""

from __future__ import annotations

import pytest

CUSTOMERS = "tenant_id,customer_id,email,created_at\n"
GOOD = (
    "t1,first-day,a@shop.test,1900-01-01T00:00:00Z\n"
    "t1,epoch,b@shop.test,1970-01-01T00:00:00Z\n"
    "t1,nineties,c@shop.test,1997-03-02T15:00:00Z\n"
    "t1,recent,d@shop.test,2026-10-01T10:00:00Z\n"
)


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        (
            "t1,victorian,e@shop.test,1850-06-01T12:00:00Z\n",
            "created_at 1850-06-01 12:00:00 UTC is before 1900-01-01: not a plausible date",
        ),
        (
            "t1,last-second,e@shop.test,1899-12-31T23:59:59Z\n",
            "created_at 1899-12-31 23:59:59 UTC is before 1900-01-01: not a plausible date",
        ),
        (
            # the run starts 2026-11-02 06:00 UTC (tests/conftest.py): a clock drift of up
            # to an hour is tolerated, a day is not
            "t1,tomorrow,e@shop.test,2026-11-03T06:00:00Z\n",
            "created_at 2026-11-03 06:00:00 UTC is later than the start of this run "
            "(2026-11-02 06:00:00 UTC)",
        ),
    ],
    ids=["1850", "just_before_1900", "after_the_run_start"],
)
def test_an_implausible_created_at_is_rejected_with_its_reason(landing, bad_row, reason):
    landing.write("customers/t1/dates.csv", CUSTOMERS + GOOD + bad_row)
    result = landing.ingest()["customers/t1/dates.csv"]
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (5, 4, 1)
    assert landing.rejects("customers/t1/dates.csv") == [(5, reason)]
    loaded = landing.rows("select customer_id from raw.customers order by created_at")
    assert [c for (c,) in loaded] == ["first-day", "epoch", "nineties", "recent"]


def test_an_order_created_before_1900_is_rejected_too(landing):
    landing.write(
        "orders/t1/old.csv",
        "tenant_id,order_id,customer_id,created_at,amount,currency\n"
        "t1,o1,c1,1997-03-05T10:00:00Z,25.00,usd\n"
        "t1,o2,c1,0001-01-01T00:00:00Z,25.00,usd\n",
    )
    result = landing.ingest()["orders/t1/old.csv"]
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    [(row, error)] = landing.rejects("orders/t1/old.csv")
    assert row == 2
    assert "created_at 0001-01-01 00:00:00 UTC is before 1900-01-01" in error
