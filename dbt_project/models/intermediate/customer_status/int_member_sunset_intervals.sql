{#- Sunset (SPEC §6 rule 4) as local-date ranges: where the tenant sets `sunset_after_days`
    S, a customer with no reactivating event and no `activate` in the last S days (and older
    than S days) is inactive, reason `no_engagement`. Every "touch" (creation, an activate,
    a reactivating event) restarts the clock: after a touch on day t, the customer is
    sunset from t + S until the next touch. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ customer_status.delete_touched_customers() }}"
) }}
-- depends_on: {{ ref('int_customers_touched') }}
with

customers as (
    select customers.* from {{ ref('int_customers_enriched') }} as customers
    {{ customer_status.join_touched_customers('customers') }}
    where customers.sunset_after_days is not null
),

activations as (
    select * from {{ ref('int_member_actions') }}
    where action = 'activate' and outcome <> 'rejected' and customer_id is not null
),

events as (
    select * from {{ ref('int_reactivating_events') }}
),

touches as (
    select tenant_id, customer_id, created_date as touch_date, 'created' as touch_description,
        'system' as touch_actor, 'behaviour' as touch_source
    from customers
    union all
    select
        activations.tenant_id,
        activations.customer_id,
        {{ customer_status.local_date('activations.requested_at', 'customers.timezone') }} as touch_date,
        {{ dbt.concat(["'activated: '", "coalesce(activations.reason, '')"]) }} as touch_description,
        activations.actor as touch_actor,
        activations.source as touch_source
    from activations
    inner join customers
        on customers.tenant_id = activations.tenant_id
        and customers.customer_id = activations.customer_id
    union all
    select
        events.tenant_id,
        events.customer_id,
        events.event_date as touch_date,
        {{ dbt.concat(["'reactivated by '", 'events.event_description']) }} as touch_description,
        'system' as touch_actor,
        'behaviour' as touch_source
    from events
    inner join customers
        on customers.tenant_id = events.tenant_id
        and customers.customer_id = events.customer_id
),

touch_days as (
    -- one row per customer and day touched (the first touch of the day names it)
    select * from (
        select
            touches.*,
            row_number() over (
                partition by tenant_id, customer_id, touch_date
                order by touch_description
            ) as touch_rank
        from touches
    ) as ranked
    where touch_rank = 1
),

gaps as (
    select
        touch_days.tenant_id,
        touch_days.customer_id,
        touch_days.touch_date,
        customers.sunset_after_days,
        lead(touch_days.touch_date) over touch_order as next_touch_date,
        lead(touch_days.touch_description) over touch_order as next_touch_description,
        lead(touch_days.touch_actor) over touch_order as next_touch_actor,
        lead(touch_days.touch_source) over touch_order as next_touch_source
    from touch_days
    inner join customers
        on customers.tenant_id = touch_days.tenant_id
        and customers.customer_id = touch_days.customer_id
    window touch_order as (
        partition by touch_days.tenant_id, touch_days.customer_id order by touch_days.touch_date
    )
),

final as (
    select
        tenant_id,
        customer_id,
        {{ customer_status.add_days('touch_date', 'sunset_after_days') }} as from_date,
        next_touch_date as to_date,
        {{ dbt.concat([
            "'no reactivating event or activation for '",
            'cast(sunset_after_days as ' ~ dbt.type_string() ~ ')', "' days'"
        ]) }} as reason,
        next_touch_description as end_reason,
        next_touch_actor as end_actor,
        next_touch_source as end_source
    from gaps
    where next_touch_date is null
        or next_touch_date > {{ customer_status.add_days('touch_date', 'sunset_after_days') }}
)

select * from final
