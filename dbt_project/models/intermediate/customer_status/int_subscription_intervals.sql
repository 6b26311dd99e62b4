{#- The subscription facts of the lifecycle rules (SPEC §3) as coalesced local-date ranges:

    - `subscription_live`: at least one subscription whose latest event on or before the day
      is `in_progress` or `suspended` (several events on one day: the last one holds);
    - `subscription_had`: has had a subscription (from its first event on).

    A merged customer's subscriptions count for the survivor from the merge date on. -#}
with

events as (
    select * from {{ ref('stg_landing__subscription_events') }}
),

customers as (
    select * from {{ ref('int_customers_enriched') }}
),

merges as (
    select tenant_id, customer_id, survivor_id, merged_at
    from {{ ref('int_customer_merges_resolved') }}
    where merge_problem is null and survivor_id is not null
),

states as (
    select
        events.tenant_id,
        events.customer_id,
        events.subscription_id,
        events.status,
        events.changed_at,
        {{ customer_status.local_date('events.changed_at', 'customers.timezone') }} as from_date,
        {{ customer_status.local_date(
            'lead(events.changed_at) over (partition by events.tenant_id, events.subscription_id order by events.changed_at)',
            'customers.timezone'
        ) }} as to_date
    from events
    inner join customers
        on customers.tenant_id = events.tenant_id
        and customers.customer_id = events.customer_id
),

owned as (
    select tenant_id, customer_id, subscription_id, status, from_date, to_date
    from states
    union all
    select
        states.tenant_id,
        merges.survivor_id as customer_id,
        states.subscription_id,
        states.status,
        case when states.from_date > merge_days.merge_date then states.from_date else merge_days.merge_date end as from_date,
        states.to_date
    from states
    inner join merges
        on merges.tenant_id = states.tenant_id
        and merges.customer_id = states.customer_id
    inner join (
        select
            merges.tenant_id,
            merges.customer_id,
            {{ customer_status.local_date('merges.merged_at', 'customers.timezone') }} as merge_date
        from merges
        inner join customers
            on customers.tenant_id = merges.tenant_id
            and customers.customer_id = merges.customer_id
    ) as merge_days
        on merge_days.tenant_id = merges.tenant_id
        and merge_days.customer_id = merges.customer_id
),

live as (
    select * from owned
    where status in ('in_progress', 'suspended')
),

had as (
    select tenant_id, customer_id, subscription_id, from_date, cast(null as date) as to_date
    from owned
),

live_islands as (
    {{ customer_status.coalesce_intervals('live', ['tenant_id', 'customer_id'], carry=['subscription_id'], order_by_tiebreak='subscription_id') }}
),

had_islands as (
    {{ customer_status.coalesce_intervals('had', ['tenant_id', 'customer_id'], carry=['subscription_id'], order_by_tiebreak='subscription_id') }}
),

final as (
    select tenant_id, customer_id, 'subscription_live' as fact, subscription_id, from_date, to_date
    from live_islands
    union all
    select tenant_id, customer_id, 'subscription_had' as fact, subscription_id, from_date, to_date
    from had_islands
)

select * from final
