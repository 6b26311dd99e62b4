"""Reclassifications stay valid (SPEC §11): audits of the night's candidate statuses.

Each reads the candidate ``marts`` in the working file (never the published warehouse) and
fails per tenant with a sample of the offending rows:

- one row per customer per day: the history covers each customer's every day from creation
  to the as-of date exactly once (no gaps, no overlaps), and ``customer_status`` has one
  row per existing customer;
- the statuses add up: per tenant and day, each dimension's counts sum to the customers
  counted;
- every status change has a reason and an actor;
- the daily counts reach the as-of date: per tenant, ``billable_counts_daily`` and
  ``status_counts_daily`` have every day from their first day to the as-of date, no gap,
  nothing after it (CONTRACT: a run for D publishes every day up to D);
- the billable count on the as-of date moved by at most ``max_billable_swing`` of the day
  before's count, unless the operator accepted the run (``--accept-swing``).
"""

from __future__ import annotations

import duckdb

from .reclassification import per_tenant
from .results import CheckResult


def one_row_per_customer_per_day(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    return per_tenant(
        con,
        "one_row_per_customer_per_day",
        """
        with ranges as (
            select
                h.*,
                lag(valid_to) over w as previous_valid_to,
                row_number() over w as range_number,
                count(*) over (partition by tenant_id, customer_id) as ranges
            from marts.customer_status_history h
            window w as (partition by tenant_id, customer_id order by valid_from)
        ),
        problems as (
            select r.tenant_id, r.customer_id, r.valid_from, r.valid_to,
                case
                    when r.range_number = 1 and r.valid_from <> c.created_date
                        then 'history does not start on the creation day'
                    when r.range_number > 1 and r.previous_valid_to is distinct from r.valid_from
                        then 'gap or overlap with the previous range'
                    when r.valid_to is not null and r.valid_to <= r.valid_from
                        then 'empty range'
                    when r.range_number = r.ranges and r.valid_to is not null
                        then 'last range ends before the as-of date'
                    when r.range_number < r.ranges and r.valid_to is null
                        then 'open range before the last one'
                end as problem
            from ranges r
            left join intermediate.int_customers_enriched c
                on c.tenant_id = r.tenant_id and c.customer_id = r.customer_id
        ),
        status_rows as (
            select tenant_id, customer_id, count(*) as n
            from marts.customer_status group by all
        ),
        existing as (
            select c.tenant_id, c.customer_id, s.n
            from intermediate.int_customers_enriched c
            cross join intermediate.int_run_parameters as_of
            left join status_rows s using (tenant_id, customer_id)
            where c.created_date <= as_of.as_of_date
        )
        select tenant_id, customer_id, valid_from, valid_to, problem
        from problems where problem is not null
        union all
        select tenant_id, customer_id, null, null,
            'customer_status has ' || coalesce(n, 0) || ' rows for this customer'
        from existing where coalesce(n, 0) <> 1
        order by all
        """,
        "every customer has exactly one status per day from creation to the as-of date",
        "customer(s) without exactly one status per day",
        "customer, valid_from, valid_to, problem",
    )


def statuses_add_up(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    return per_tenant(
        con,
        "statuses_add_up",
        """
        with sums as (
            select tenant_id, date, dimension, sum(customers) as customers
            from marts.status_counts_daily group by all
        )
        select s.tenant_id, s.date, s.dimension, s.customers, b.customers
        from sums s
        left join marts.billable_counts_daily b using (tenant_id, date)
        where b.customers is distinct from s.customers
        order by all
        """,
        "per tenant and day, every dimension's counts add up to the customers counted",
        "day(s) where a dimension's counts do not add up",
        "date, dimension, sum of counts, customers",
    )


def every_status_change_has_reason_and_actor(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    return per_tenant(
        con,
        "every_status_change_has_reason_and_actor",
        """
        select tenant_id, customer_id, changed_on, dimension, to_value, reason, actor
        from marts.status_changes
        where nullif(trim(reason), '') is null or nullif(trim(actor), '') is null
        order by all
        """,
        "every status change has a reason and an actor",
        "status change(s) without a reason or an actor",
        "customer, changed_on, dimension, to, reason, actor",
    )


def daily_counts_reach_the_as_of_date(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    return per_tenant(
        con,
        "daily_counts_reach_the_as_of_date",
        """
        with as_of as (select as_of_date as d from intermediate.int_run_parameters),
        spans as (
            select tenant_id, 'billable_counts_daily' as table_name,
                min(date) as first_date, max(date) as last_date, count(distinct date) as days
            from marts.billable_counts_daily group by tenant_id
            union all
            select tenant_id, 'status_counts_daily',
                min(date), max(date), count(distinct date)
            from marts.status_counts_daily group by tenant_id
        )
        select s.tenant_id, s.table_name, s.first_date, s.last_date, s.days, as_of.d
        from spans s cross join as_of
        where s.last_date <> as_of.d or s.days <> as_of.d - s.first_date + 1
        order by all
        """,
        "every tenant's daily counts cover each day from their first day to the as-of date",
        "daily count table(s) that do not reach the as-of date day by day",
        "table, first day, last day, days present, as-of date",
    )


SWING_SQL = """
with as_of as (select as_of_date as d from intermediate.int_run_parameters),
today as (
    select b.tenant_id, b.billable_customers
    from marts.billable_counts_daily b, as_of where b.date = as_of.d
),
yesterday as (
    select b.tenant_id, b.billable_customers
    from marts.billable_counts_daily b, as_of where b.date = as_of.d - 1
)
select
    t.tenant_id,
    y.billable_customers as day_before,
    t.billable_customers as as_of_date,
    round(abs(t.billable_customers - y.billable_customers) / y.billable_customers, 4) as swing,
    coalesce(s.max_billable_swing, 0.25) as allowed
from today t
join yesterday y using (tenant_id)
left join staging.stg_landing__tenants s using (tenant_id)
where y.billable_customers > 0
  and abs(t.billable_customers - y.billable_customers)
      > coalesce(s.max_billable_swing, 0.25) * y.billable_customers
order by t.tenant_id
"""


def billable_swing(con: duckdb.DuckDBPyConnection, accept_swing: bool) -> list[CheckResult]:
    name = "billable_swing_within_limit"
    rows = con.execute(SWING_SQL).fetchall()
    if not rows:
        return [
            CheckResult(name, True, "no tenant's billable count moved more than its swing limit")
        ]
    results = []
    for tenant, before, after, swing, allowed in rows:
        detail = (
            f"billable customers {before:,} -> {after:,} ({float(swing):.1%}) exceeds "
            f"max_billable_swing {float(allowed):.0%}"
        )
        if accept_swing:
            results.append(
                CheckResult(
                    name,
                    True,
                    detail + "; accepted by the operator (--accept-swing)",
                    tenant_id=tenant,
                )
            )
        else:
            results.append(
                CheckResult(
                    name,
                    False,
                    detail + "; re-run with --accept-swing if it is expected",
                    tenant_id=tenant,
                    sample=[(before, after)],
                )
            )
    return results


CHECKS = (
    one_row_per_customer_per_day,
    statuses_add_up,
    every_status_change_has_reason_and_actor,
    daily_counts_reach_the_as_of_date,
)
