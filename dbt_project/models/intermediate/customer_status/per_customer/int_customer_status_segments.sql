{#- The status engine (rules §2, §3, §6, §7): each customer's life cut into segments at every
    boundary of every fact (`int_customer_status_facts`), with the four statuses evaluated
    once per segment. A segment [from_date, to_date) is a run of local days on which no fact
    starts or ends, so every day in it has the same statuses; to_date NULL = until further
    notice. Segments are independent of the as-of date: the marts clip them at D.

    Each status is one `case`, in the rules' order, first rule wins; each also carries the reason,
    actor and source of the change that led to it (the fact that starts on the segment's first
    day, or the one that ended there). The pivot of every fact piece into segments carries
    flags and dates only; the strings are attached once per segment, after the windows below,
    by the first day of the fact that holds (`with_strings`; dbt_project/DECISIONS.md).

    Each segment is also linked to its neighbours, so that the marts only filter at D and never
    sort a customer's whole life again (their windows ran every night over every segment):
    - `previous_*`: the published values on the day before the segment (`status_changes`);
    - `range_valid_from` / `range_valid_to`: the published range the segment belongs to, a run
      of consecutive segments with the same published statuses (`customer_status_history`);
    - `status_since`: the first day of the run of segments with the segment's headline status
      (`customer_status`).
    Merging segments and then clipping at D gives the same ranges as clipping and then merging,
    so these, too, are independent of D. -#}
with

customers as (
    {{ customer_status.touched_rows(ref('int_customers_enriched'), 'customers') }}
),

ledger as (
    select max(load_id) as built_through_load_id from {{ source('landing', 'ingest_ledger') }}
),

facts as (
    -- only the recomputed customers' facts: the boundaries below are a distinct union that
    -- would otherwise run over every customer's facts before the join to `customers`
    {{ customer_status.touched_rows(ref('int_customer_status_facts'), 'facts') }}
),

boundaries as (
    select
        tenant_id,
        customer_id,
        created_date as boundary_date
    from customers
    union
    select
        facts.tenant_id,
        facts.customer_id,
        facts.from_date as boundary_date
    from facts
    union
    select
        facts.tenant_id,
        facts.customer_id,
        facts.to_date as boundary_date
    from facts
    where facts.to_date is not null
),

segments as (
    select
        boundaries.tenant_id,
        boundaries.customer_id,
        boundaries.boundary_date as from_date,
        lead(boundaries.boundary_date) over (
            partition by boundaries.tenant_id, boundaries.customer_id order by boundaries.boundary_date
        ) as to_date
    from boundaries
    inner join customers
        on boundaries.tenant_id = customers.tenant_id
            and boundaries.customer_id = customers.customer_id
    where boundaries.boundary_date >= customers.created_date
),

facts_at_start as (
    -- every fact that holds on the segment's first day: its kind and first day only, no strings
    select
        segments.tenant_id,
        segments.customer_id,
        segments.from_date,
        segments.to_date,
        facts.fact,
        facts.from_date as fact_from_date
    from segments
    inner join facts
        on segments.tenant_id = facts.tenant_id
            and segments.customer_id = facts.customer_id
            and segments.from_date >= facts.from_date
            and (facts.to_date is null or segments.from_date < facts.to_date)
),

flags as (
    -- the pivot: flags and, for the kinds of fact that never overlap for one customer (account
    -- ranges, islands of payments and subscriptions, one refund fact a day, sunsets), the first
    -- day of the one that holds, which names it; grouped by the segment's start only (its end
    -- follows from it, and a narrow key keeps the hash aggregate small)
    select
        tenant_id,
        customer_id,
        from_date,
        max(to_date) as to_date,
        max(case when fact = 'account' then fact_from_date end) as account_from_date,
        max(case when fact = 'subscription_live' then 1 else 0 end) as has_live_subscription,
        max(case when fact = 'subscription_live' then fact_from_date end) as live_subscription_from_date,
        max(case when fact = 'subscription_had' then 1 else 0 end) as has_had_subscription,
        max(case when fact = 'payment_in_window' then 1 else 0 end) as has_recent_payment,
        max(case when fact = 'payment_in_window' then fact_from_date end) as recent_payment_from_date,
        max(case when fact = 'payment_ever' then 1 else 0 end) as has_paid_ever,
        max(case when fact = 'payment_refunded' then fact_from_date end) as refunded_from_date,
        max(case when fact = 'suppressed_email' then 1 else 0 end) as is_blocklisted,
        max(case when fact = 'suppressed_domain' then 1 else 0 end) as is_domain_suppressed,
        max(case when fact = 'deactivated' then 1 else 0 end) as is_deactivated,
        max(case when fact = 'sunset' then 1 else 0 end) as is_sunset,
        max(case when fact = 'sunset' then fact_from_date end) as sunset_from_date,
        -- rules §6.1, §12: erased from the request's local date on, for good (one per customer)
        max(case when fact = 'erased' then 1 else 0 end) as is_erased,
        max(case when fact = 'erased' then fact_from_date end) as erased_from_date,
        -- the customer version holding on the segment accepts marketing (rules §1, §7)
        max(case when fact = 'accepts_marketing' then 1 else 0 end) as accepts_marketing
    from facts_at_start
    group by tenant_id, customer_id, from_date
),

evaluated as (
    select
        flags.*,
        account.value as account_status,
        account.detail as status_label,
        account.reason as account_reason,
        account.actor as account_actor,
        account.source as account_source,
        account.changed_at as account_status_updated_at,
        -- rules §6: the account statuses that make the member inactive (seed account_statuses)
        coalesce(account_statuses.makes_member_inactive, false) as account_makes_member_inactive,
        coalesce(account_statuses.is_headline, false) as account_is_headline,
        customers.activity_window_days,
        customers.sunset_after_days,
        customers.billing_basis,
        -- rules §3: first rule that holds
        case
            when has_live_subscription = 1 then 'subscribed'
            when has_recent_payment = 1 then 'active'
            when has_had_subscription = 1 then 'unsubscribed'
            when has_paid_ever = 1 then 'sleeping'
            else 'prospect'
        end as lifecycle_status,
        -- rules §6: first rule that holds; NULL = member active
        case
            when account_statuses.makes_member_inactive then account.value
            when is_erased = 1 then 'erased'
            when is_blocklisted = 1 then 'blocklisted'
            when is_domain_suppressed = 1 then 'domain_suppressed'
            when is_deactivated = 1 then 'deactivated'
            when is_sunset = 1 then 'no_engagement'
        end as inactive_reason
    from flags
    inner join customers
        on flags.tenant_id = customers.tenant_id
            and flags.customer_id = customers.customer_id
    left join facts as account
        on flags.tenant_id = account.tenant_id
            and flags.customer_id = account.customer_id
            and account.fact = 'account'
            and flags.account_from_date = account.from_date
    left join {{ ref('account_statuses') }} as account_statuses
        on account.value = account_statuses.status
),

statuses as (
    -- the published statuses, the account's strings (one join, above), and the first days the
    -- other strings are attached by after the windows below
    select
        tenant_id,
        customer_id,
        from_date,
        to_date,
        -- rules §2
        case when account_is_headline then account_status else lifecycle_status end as status,
        account_status,
        status_label,
        lifecycle_status,
        case when inactive_reason is null then 'active' else 'inactive' end as member_status,
        inactive_reason,
        -- rules §7
        inactive_reason is null
        and (billing_basis <> 'subscribers' or accepts_marketing = 1) as is_billable,
        account_makes_member_inactive,
        account_reason,
        account_actor,
        account_source,
        account_status_updated_at,
        activity_window_days,
        live_subscription_from_date,
        recent_payment_from_date,
        refunded_from_date,
        sunset_from_date,
        erased_from_date
    from evaluated
),

with_previous as (
    select
        statuses.*,
        lag(status) over w as previous_status,
        lag(account_status) over w as previous_account_status,
        lag(status_label) over w as previous_status_label,
        lag(lifecycle_status) over w as previous_lifecycle_status,
        lag(member_status) over w as previous_member_status,
        lag(inactive_reason) over w as previous_inactive_reason,
        lag(is_billable) over w as previous_is_billable
    from statuses
    window w as (partition by tenant_id, customer_id order by from_date)
),

run_starts as (
    select
        with_previous.*,
        -- a published range starts where any published value differs from the day before
        case
            when previous_status is null
                or previous_status <> status
                or previous_account_status <> account_status
                or previous_status_label <> status_label
                or previous_lifecycle_status <> lifecycle_status
                or previous_member_status <> member_status
                or coalesce(previous_inactive_reason, '') <> coalesce(inactive_reason, '')
                or previous_is_billable <> is_billable
                then from_date
        end as range_start,
        case when previous_status is null or previous_status <> status then from_date end as status_run_start
    from with_previous
),

linked as (
    select
        run_starts.*,
        max(range_start) over (
            partition by tenant_id, customer_id order by from_date
            rows between unbounded preceding and current row
        ) as range_valid_from,
        -- exclusive; NULL = the range is the customer's last, open-ended one
        min(range_start) over (
            partition by tenant_id, customer_id order by from_date
            rows between 1 following and unbounded following
        ) as range_valid_to,
        max(status_run_start) over (
            partition by tenant_id, customer_id order by from_date
            rows between unbounded preceding and current row
        ) as status_since
    from run_starts
),

overlapping_at_start as (
    -- the facts that can overlap (two suppression entries covering one email, deactivations)
    -- with their strings, on the segments where they hold, and the facts that lift an
    -- inactive member on the segment where they end (few rows: most segments have neither)
    select
        segments.tenant_id,
        segments.customer_id,
        segments.from_date,
        facts.fact,
        facts.reason,
        facts.actor,
        facts.source,
        cast(null as {{ dbt.type_string() }}) as end_reason,
        cast(null as {{ dbt.type_string() }}) as end_actor,
        cast(null as {{ dbt.type_string() }}) as end_source
    from segments
    inner join facts
        on segments.tenant_id = facts.tenant_id
            and segments.customer_id = facts.customer_id
            and segments.from_date >= facts.from_date
            and (facts.to_date is null or segments.from_date < facts.to_date)
    where facts.fact in ('suppressed_email', 'suppressed_domain', 'deactivated')
    union all
    select
        segments.tenant_id,
        segments.customer_id,
        segments.from_date,
        cast(null as {{ dbt.type_string() }}) as fact,
        cast(null as {{ dbt.type_string() }}) as reason,
        cast(null as {{ dbt.type_string() }}) as actor,
        cast(null as {{ dbt.type_string() }}) as source,
        facts.end_reason,
        facts.end_actor,
        facts.end_source
    from segments
    inner join facts
        on segments.tenant_id = facts.tenant_id
            and segments.customer_id = facts.customer_id
            and segments.from_date = facts.to_date
    where facts.fact in ('deactivated', 'sunset', 'suppressed_email', 'suppressed_domain')
),

overlapping_strings as (
    select
        tenant_id,
        customer_id,
        from_date,
        max(case when fact = 'suppressed_email' then reason end) as blocklist_reason,
        max(case when fact = 'suppressed_email' then actor end) as blocklist_actor,
        max(case when fact = 'suppressed_domain' then reason end) as domain_reason,
        max(case when fact = 'suppressed_domain' then actor end) as domain_actor,
        max(case when fact = 'deactivated' then reason end) as deactivation_reason,
        max(case when fact = 'deactivated' then actor end) as deactivation_actor,
        max(case when fact = 'deactivated' then source end) as deactivation_source,
        -- what ended on this day: the reason a member became active again
        max(end_reason) as lifted_reason,
        max(end_actor) as lifted_actor,
        max(end_source) as lifted_source
    from overlapping_at_start
    group by tenant_id, customer_id, from_date
),

with_strings as (
    -- the strings attached once per segment, by the first day of the fact that holds
    select
        linked.*,
        live.value as live_subscription_id,
        recent.value as recent_order_id,
        refunded.value as refunded_order_id,
        sunset.reason as sunset_reason,
        erased.reason as erased_reason,
        erased.actor as erased_actor,
        overlapping.blocklist_reason,
        overlapping.blocklist_actor,
        overlapping.domain_reason,
        overlapping.domain_actor,
        overlapping.deactivation_reason,
        overlapping.deactivation_actor,
        overlapping.deactivation_source,
        overlapping.lifted_reason,
        overlapping.lifted_actor,
        overlapping.lifted_source
    from linked
    left join facts as live
        on linked.tenant_id = live.tenant_id
            and linked.customer_id = live.customer_id
            and live.fact = 'subscription_live'
            and linked.live_subscription_from_date = live.from_date
    left join facts as recent
        on linked.tenant_id = recent.tenant_id
            and linked.customer_id = recent.customer_id
            and recent.fact = 'payment_in_window'
            and linked.recent_payment_from_date = recent.from_date
    left join facts as refunded
        on linked.tenant_id = refunded.tenant_id
            and linked.customer_id = refunded.customer_id
            and refunded.fact = 'payment_refunded'
            and linked.refunded_from_date = refunded.from_date
    left join facts as sunset
        on linked.tenant_id = sunset.tenant_id
            and linked.customer_id = sunset.customer_id
            and sunset.fact = 'sunset'
            and linked.sunset_from_date = sunset.from_date
    left join facts as erased
        on linked.tenant_id = erased.tenant_id
            and linked.customer_id = erased.customer_id
            and erased.fact = 'erased'
            and linked.erased_from_date = erased.from_date
    left join overlapping_strings as overlapping
        on linked.tenant_id = overlapping.tenant_id
            and linked.customer_id = overlapping.customer_id
            and linked.from_date = overlapping.from_date
),

final as (
    select
        tenant_id,
        customer_id,
        from_date,
        to_date,
        status,
        account_status,
        status_label,
        lifecycle_status,
        member_status,
        inactive_reason,
        is_billable,
        account_reason,
        account_actor,
        account_source,
        account_status_updated_at,
        case lifecycle_status
            when 'subscribed' then {{ dbt.concat(["'live subscription '", 'live_subscription_id']) }}
            when 'active' then {{ dbt.concat(["'paid order '", 'recent_order_id']) }}
            when 'unsubscribed' then 'all subscriptions terminated'
            when 'sleeping'
                then coalesce(
                        {{ dbt.concat(["'order '", 'refunded_order_id', "' refunded'"]) }},
                {{ dbt.concat([
                    "'no payment for '", 'cast(activity_window_days as ' ~ dbt.type_string() ~ ')', "' days'"
                ]) }}
                    )
            else coalesce({{ dbt.concat(["'order '", 'refunded_order_id', "' refunded'"]) }}, 'no payment yet')
        end as lifecycle_reason,
        case
            when account_makes_member_inactive
                then {{ dbt.concat(["'account status is '", 'account_status']) }}
            when inactive_reason = 'erased' then erased_reason
            when inactive_reason = 'blocklisted' then blocklist_reason
            when inactive_reason = 'domain_suppressed' then domain_reason
            when inactive_reason = 'deactivated' then deactivation_reason
            when inactive_reason = 'no_engagement' then sunset_reason
            else coalesce(lifted_reason, 'member active')
        end as member_reason,
        case
            when account_makes_member_inactive then account_actor
            when inactive_reason = 'erased' then erased_actor
            when inactive_reason = 'blocklisted' then blocklist_actor
            when inactive_reason = 'domain_suppressed' then domain_actor
            when inactive_reason = 'deactivated' then deactivation_actor
            when inactive_reason = 'no_engagement' then 'system'
            else coalesce(lifted_actor, 'system')
        end as member_actor,
        case
            when account_makes_member_inactive then account_source
            when inactive_reason = 'erased' then 'erasure_requests'
            when inactive_reason in ('blocklisted', 'domain_suppressed') then 'suppressions'
            when inactive_reason = 'deactivated' then deactivation_source
            when inactive_reason = 'no_engagement' then 'behaviour'
            else coalesce(lifted_source, 'behaviour')
        end as member_source,
        previous_account_status,
        previous_status_label,
        previous_lifecycle_status,
        previous_member_status,
        previous_is_billable,
        range_valid_from,
        range_valid_to,
        status_since,
        -- the last load this customer's segments were computed from (int_customers_touched)
        (select built_through_load_id from ledger) as built_through_load_id
    from with_strings
)

select * from final
