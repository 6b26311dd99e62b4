-- naive_grid.sql: the baseline a user might write instead of the status engine.
--
-- WHAT IT COMPUTES
--   A dense customer x day grid: one row for every customer and every local calendar day
--   from the customer's creation (tenant time zone) to the as-of date, with
--     - lifecycle_status (rules §3, all five rules: subscribed, active, unsubscribed,
--       sleeping, prospect; window N = tenants.activity_window_days, default 60; a payment
--       counts from its local paid date until its local refund date), and
--     - member_status / inactive_reason (rules §6) for rule 2 (email blocklist and
--       suppressed domains, parent domains included, from added_at until removed_at), rule 3
--       (the latest activate/deactivate status action, undone by a later reactivating event:
--       a payment, or also any engagement where reactivation_trigger = any_engagement) and
--       rule 4 (sunset_after_days: no creation, activate or reactivating event in that many
--       days).
--   It is written the way a daily-snapshot model usually is: build the grid in full, join the
--   day's events onto it by (customer, day), and derive every state with running window
--   functions over each customer's days. The whole grid is materialised into
--   `naive_status_daily` (every day of every customer, not only the as-of date).
--
-- WHAT IT LEAVES OUT (so it can disagree with marts.customer_status)
--   - account status (rules §4) entirely: no outliers (payments made while suspended or
--     under a fraud status count here, rules §5) and no member rule 1 (deleted,
--     archived, internal, fraud_confirmed customers are not made inactive);
--   - merges: a merged customer's payments and subscriptions do not move to the survivor;
--   - CSV status imports (status_imports) as activate/deactivate actions, and the rejection
--     of actions the engine rejects (unknown labels etc.; only a missing reason/actor or a
--     request before creation is dropped here);
--   - billing, contactability, history, change reasons.
--
-- HOW TO RUN (benchmarks/nightly.py does this): in a fresh DuckDB database, with the
-- pipeline's work file attached read-only as `work` (its `staging` schema after a run) and
-- the as-of date in a variable:
--   ATTACH '<warehouse dir>/<stem>.work/work.duckdb' AS work (READ_ONLY);
--   SET VARIABLE as_of_date = DATE '2026-10-31';
--   .read benchmarks/naive_grid.sql        (or execute this file's text)

create or replace table naive_status_daily as
with

tenants as (
    select * from work.staging.stg_landing__tenants
),

customers as (
    select
        c.tenant_id,
        c.customer_id,
        c.email,
        c.email_domain,
        c.created_at,
        coalesce(t.timezone, 'UTC') as tz,
        cast(coalesce(t.activity_window_days, 60) as integer) as window_days,
        coalesce(t.reactivation_trigger, 'purchase') as reactivation_trigger,
        cast(t.sunset_after_days as integer) as sunset_after_days,
        cast(timezone(coalesce(t.timezone, 'UTC'), timezone('UTC', c.created_at)) as date)
            as created_date
    from work.staging.stg_landing__customers as c
    left join tenants as t on t.tenant_id = c.tenant_id
),

-- every customer x every day from creation to the as-of date
grid as (
    select
        tenant_id,
        customer_id,
        cast(unnest(generate_series(
            cast(created_date as timestamp),
            cast(getvariable('as_of_date') as timestamp),
            interval 1 day
        )) as date) as day
    from customers
    where created_date <= getvariable('as_of_date')
),

payments as (
    select
        o.tenant_id,
        o.customer_id,
        o.paid_at,
        c.created_date,
        c.window_days,
        cast(timezone(c.tz, timezone('UTC', o.paid_at)) as date) as paid_date,
        cast(timezone(c.tz, timezone('UTC', o.refunded_at)) as date) as refund_date
    from work.staging.stg_landing__orders as o
    inner join customers as c on c.tenant_id = o.tenant_id and c.customer_id = o.customer_id
    where o.paid_at is not null
),

-- +1/-1 on the days a payment starts and stops counting (in the window; ever)
payment_deltas as (
    select tenant_id, customer_id, created_date, paid_date as day,
        1 as window_delta, 1 as ever_delta
    from payments
    where refund_date is null or refund_date > paid_date
    union all
    select tenant_id, customer_id, created_date,
        least(paid_date + window_days, coalesce(refund_date, paid_date + window_days)) as day,
        -1 as window_delta, 0 as ever_delta
    from payments
    where refund_date is null or refund_date > paid_date
    union all
    select tenant_id, customer_id, created_date, refund_date as day,
        0 as window_delta, -1 as ever_delta
    from payments
    where refund_date > paid_date
),

-- each subscription's state at the end of each day it has events (the last event holds)
subscription_days as (
    select
        tenant_id,
        subscription_id,
        any_value(customer_id) as customer_id,
        any_value(created_date) as created_date,
        day,
        arg_max(status, changed_at) as status
    from (
        select
            e.tenant_id,
            e.subscription_id,
            e.customer_id,
            e.status,
            e.changed_at,
            c.created_date,
            cast(timezone(c.tz, timezone('UTC', e.changed_at)) as date) as day
        from work.staging.stg_landing__subscription_events as e
        inner join customers as c on c.tenant_id = e.tenant_id and c.customer_id = e.customer_id
    ) as events
    group by tenant_id, subscription_id, day
),

subscription_deltas as (
    select
        tenant_id,
        customer_id,
        created_date,
        day,
        (case when status in ('in_progress', 'suspended') then 1 else 0 end)
            - coalesce(case when previous_status in ('in_progress', 'suspended') then 1 else 0 end, 0)
            as live_delta,
        case when previous_status is null then 1 else 0 end as had_delta
    from (
        select
            *,
            lag(status) over (partition by tenant_id, subscription_id order by day) as previous_status
        from subscription_days
    ) as s
),

suppression_matches as (
    select
        c.tenant_id,
        c.customer_id,
        c.created_date,
        lower(trim(s.kind)) as kind,
        cast(timezone(c.tz, timezone('UTC', s.added_at)) as date) as added_date,
        cast(timezone(c.tz, timezone('UTC', s.removed_at)) as date) as removed_date
    from customers as c
    inner join work.staging.stg_landing__suppressions as s
        on s.tenant_id = c.tenant_id
        and (
            (lower(trim(s.kind)) = 'email' and lower(trim(s.value)) = c.email)
            or (
                lower(trim(s.kind)) = 'domain'
                and (
                    c.email_domain = lower(trim(s.value))
                    or c.email_domain like '%.' || lower(trim(s.value))
                )
            )
        )
),

suppression_deltas as (
    select tenant_id, customer_id, created_date, added_date as day,
        case when kind = 'email' then 1 else 0 end as blocklist_delta,
        case when kind = 'domain' then 1 else 0 end as domain_delta
    from suppression_matches
    where removed_date is null or removed_date > added_date
    union all
    select tenant_id, customer_id, created_date, removed_date as day,
        case when kind = 'email' then -1 else 0 end as blocklist_delta,
        case when kind = 'domain' then -1 else 0 end as domain_delta
    from suppression_matches
    where removed_date > added_date
),

member_actions as (
    select
        a.tenant_id,
        a.customer_id,
        c.created_date,
        cast(timezone(c.tz, timezone('UTC', a.requested_at)) as date) as day,
        case when a.action = 'deactivate' then a.requested_at end as deactivated_at,
        case when a.action = 'activate' then a.requested_at end as activated_at
    from work.staging.stg_landing__status_actions as a
    inner join customers as c on c.tenant_id = a.tenant_id and c.customer_id = a.customer_id
    where a.action in ('activate', 'deactivate')
        and nullif(trim(a.reason), '') is not null
        and nullif(trim(a.actor), '') is not null
        and a.requested_at >= c.created_at
),

reactivating_events as (
    select tenant_id, customer_id, created_date, paid_date as day, paid_at as event_at
    from payments
    union all
    select
        e.tenant_id,
        e.customer_id,
        c.created_date,
        cast(timezone(c.tz, timezone('UTC', e.occurred_at)) as date) as day,
        e.occurred_at as event_at
    from work.staging.stg_landing__engagement_events as e
    inner join customers as c on c.tenant_id = e.tenant_id and c.customer_id = e.customer_id
    where c.reactivation_trigger = 'any_engagement'
),

-- everything that happens on a customer's day, one row per (customer, day); a change dated
-- before the customer's creation takes effect on its first day
events_by_day as (
    select
        tenant_id,
        customer_id,
        greatest(day, created_date) as day,
        sum(window_delta) as window_delta,
        sum(ever_delta) as ever_delta,
        sum(live_delta) as live_delta,
        sum(had_delta) as had_delta,
        sum(blocklist_delta) as blocklist_delta,
        sum(domain_delta) as domain_delta,
        max(deactivated_at) as deactivated_at,
        max(activated_at) as activated_at,
        max(event_at) as event_at,
        max(case when activated_at is not null or event_at is not null then day end) as touch_date
    from (
        select tenant_id, customer_id, created_date, day, window_delta, ever_delta,
            0 as live_delta, 0 as had_delta, 0 as blocklist_delta, 0 as domain_delta,
            null::timestamp as deactivated_at, null::timestamp as activated_at,
            null::timestamp as event_at
        from payment_deltas
        union all
        select tenant_id, customer_id, created_date, day, 0, 0, live_delta, had_delta, 0, 0,
            null, null, null
        from subscription_deltas
        union all
        select tenant_id, customer_id, created_date, day, 0, 0, 0, 0, blocklist_delta,
            domain_delta, null, null, null
        from suppression_deltas
        union all
        select tenant_id, customer_id, created_date, day, 0, 0, 0, 0, 0, 0,
            deactivated_at, activated_at, null
        from member_actions
        union all
        select tenant_id, customer_id, created_date, day, 0, 0, 0, 0, 0, 0, null, null, event_at
        from reactivating_events
    ) as changes
    where day is not null
    group by tenant_id, customer_id, greatest(day, created_date)
),

-- the states of every grid day: running sums and maxima over the customer's days so far
running as (
    select
        grid.tenant_id,
        grid.customer_id,
        grid.day,
        sum(coalesce(e.window_delta, 0)) over w as payments_in_window,
        sum(coalesce(e.ever_delta, 0)) over w as payments_ever,
        sum(coalesce(e.live_delta, 0)) over w as live_subscriptions,
        sum(coalesce(e.had_delta, 0)) over w as subscriptions_had,
        sum(coalesce(e.blocklist_delta, 0)) over w as blocklisted,
        sum(coalesce(e.domain_delta, 0)) over w as domain_suppressed,
        max(e.deactivated_at) over w as last_deactivated_at,
        max(e.activated_at) over w as last_activated_at,
        max(e.event_at) over w as last_event_at,
        max(e.touch_date) over w as last_touch_date
    from grid
    left join events_by_day as e
        on e.tenant_id = grid.tenant_id
        and e.customer_id = grid.customer_id
        and e.day = grid.day
    window w as (
        partition by grid.tenant_id, grid.customer_id order by grid.day
        rows between unbounded preceding and current row
    )
),

final as (
    select
        running.tenant_id,
        running.customer_id,
        running.day,
        case
            when live_subscriptions > 0 then 'subscribed'
            when payments_in_window > 0 then 'active'
            when subscriptions_had > 0 then 'unsubscribed'
            when payments_ever > 0 then 'sleeping'
            else 'prospect'
        end as lifecycle_status,
        case
            when blocklisted > 0 then 'blocklisted'
            when domain_suppressed > 0 then 'domain_suppressed'
            when last_deactivated_at is not null
                and (last_activated_at is null or last_deactivated_at > last_activated_at)
                and (last_event_at is null or last_event_at <= last_deactivated_at)
                then 'deactivated'
            when customers.sunset_after_days is not null
                and running.day >= greatest(customers.created_date, coalesce(last_touch_date, customers.created_date))
                    + customers.sunset_after_days
                then 'no_engagement'
        end as inactive_reason
    from running
    inner join customers
        on customers.tenant_id = running.tenant_id
        and customers.customer_id = running.customer_id
)

select
    tenant_id,
    customer_id,
    day,
    lifecycle_status,
    case when inactive_reason is null then 'active' else 'inactive' end as member_status,
    inactive_reason
from final;
