{#- The subscription facts of the lifecycle rules (rules §3) as coalesced local-date ranges:

    - `subscription_live`: at least one subscription whose latest event on or before the day
      is `in_progress` or `suspended` (several events on one day: the last one holds);
    - `subscription_had`: has had a subscription (from its first event on).

    A merged customer's subscriptions also count for each customer its history counts for at
    the time (`int_customer_merge_owners`), inside that owner's range only. -#}
with

events as (
    select * from {{ ref('stg_landing__subscription_events') }}
),

customers as (
    select * from {{ ref('int_customers_enriched') }}
),

owners as (
    select * from {{ ref('int_customer_merge_owners') }}
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
        on events.tenant_id = customers.tenant_id
            and events.customer_id = customers.customer_id
),

-- `owned_until`: the day the subscription stops counting for `customer_id` because the
-- history moves on to the next owner (NULL: the subscriber itself, or the last owner)
owned as (
    select
        tenant_id,
        customer_id,
        subscription_id,
        status,
        from_date,
        to_date,
        cast(null as date) as owned_until
    from states
    union all
    select
        states.tenant_id,
        owners.owner_id as customer_id,
        states.subscription_id,
        states.status,
        {{ customer_status.latest_start('states.from_date', 'owners.owner_from_date') }} as from_date,
        {{ customer_status.earliest_end('states.to_date', 'owners.owner_to_date') }} as to_date,
        owners.owner_to_date as owned_until
    from states
    inner join owners
        on states.tenant_id = owners.tenant_id
            and states.customer_id = owners.customer_id
),

live as (
    select * from owned
    where status in ('in_progress', 'suspended')
),

had as (
    select
        tenant_id,
        customer_id,
        subscription_id,
        from_date,
        owned_until as to_date
    from owned
),

live_islands as (
    {{ customer_status.coalesce_intervals(
        'live', ['tenant_id', 'customer_id'], carry=['subscription_id'], order_by_tiebreak='subscription_id'
    ) }}
),

had_islands as (
    {{ customer_status.coalesce_intervals(
        'had', ['tenant_id', 'customer_id'], carry=['subscription_id'], order_by_tiebreak='subscription_id'
    ) }}
),

final as (
    select
        tenant_id,
        customer_id,
        'subscription_live' as fact,
        subscription_id,
        from_date,
        to_date
    from live_islands
    union all
    select
        tenant_id,
        customer_id,
        'subscription_had' as fact,
        subscription_id,
        from_date,
        to_date
    from had_islands
)

select * from final
