{#- Sunset (rules §6 rule 4) as local-date ranges: where the tenant sets `sunset_after_days`
    S, a customer with no reactivating event and no `activate` in the last S days (and older
    than S days) is inactive, reason `no_engagement`. Every "touch" (creation, an activate,
    a reactivating event) restarts the clock: after a touch on day t, the customer is
    sunset from t + S until the next touch.
    The reactivating events are named where they are read, not through a shared CTE: DuckDB
    would materialise all of them (12.7M rows at M) for the two readers. -#}
{%- set events = ref('int_reactivating_events') %}
{%- set activation_date = customer_status.local_date('activations.requested_at', 'customers.timezone') %}
with

customers as (
    {{ customer_status.touched_rows(ref('int_customers_enriched'), 'customers') }}
    where customers.sunset_after_days is not null
),

activations as (
    select * from {{ ref('int_member_actions') }}
    where action = 'activate' and outcome <> 'rejected' and customer_id is not null
),

touch_days as (
    -- one row per touch, dates only: most customers are touched on many days, and few of
    -- those touches end a sunset (their descriptions are looked up below, for those only).
    -- Not made distinct: of the touches of one day, all but the last in `gaps` see that same
    -- day next, which is no sunset
    select
        tenant_id,
        customer_id,
        created_date as touch_date
    from customers
    union all
    select
        activations.tenant_id,
        activations.customer_id,
        {{ activation_date }} as touch_date
    from activations
    inner join customers
        on activations.tenant_id = customers.tenant_id
            and activations.customer_id = customers.customer_id
    union all
    select
        events.tenant_id,
        events.customer_id,
        events.event_date as touch_date
    from {{ events }} as events
    inner join customers
        on events.tenant_id = customers.tenant_id
            and events.customer_id = customers.customer_id
),

gaps as (
    select
        touch_days.tenant_id,
        touch_days.customer_id,
        touch_days.touch_date,
        customers.sunset_after_days,
        lead(touch_days.touch_date) over (
            partition by touch_days.tenant_id, touch_days.customer_id
            order by touch_days.touch_date
        ) as next_touch_date
    from touch_days
    inner join customers
        on touch_days.tenant_id = customers.tenant_id
            and touch_days.customer_id = customers.customer_id
),

sunsets as (
    select * from gaps
    where next_touch_date is null
        or next_touch_date > {{ customer_status.add_days('touch_date', 'sunset_after_days') }}
),

ending_touches as (
    -- the touch that ends a sunset: the first of its day by description (creation, an
    -- activate, a reactivating event), each kind joined to the sunsets before it is described
    select *
    from (
        select
            touches.*,
            row_number() over (
                partition by touches.tenant_id, touches.customer_id, touches.touch_date
                order by touches.touch_description
            ) as touch_rank
        from (
            select
                customers.tenant_id,
                customers.customer_id,
                customers.created_date as touch_date,
                'created' as touch_description,
                'system' as touch_actor,
                'behaviour' as touch_source
            from customers
            inner join sunsets
                on customers.tenant_id = sunsets.tenant_id  -- noqa: ST09 (flagged in either order here)
                    and customers.customer_id = sunsets.customer_id  -- noqa: ST09
                    and customers.created_date = sunsets.next_touch_date  -- noqa: ST09
            union all
            select
                activations.tenant_id,
                activations.customer_id,
                sunsets.next_touch_date as touch_date,
                {{ dbt.concat(["'activated: '", "coalesce(activations.reason, '')"]) }} as touch_description,
                activations.actor as touch_actor,
                activations.source as touch_source
            from activations
            inner join customers
                on activations.tenant_id = customers.tenant_id
                    and activations.customer_id = customers.customer_id
            inner join sunsets
                on activations.tenant_id = sunsets.tenant_id
                    and activations.customer_id = sunsets.customer_id
                    and sunsets.next_touch_date = {{ activation_date }}
            union all
            select
                events.tenant_id,
                events.customer_id,
                events.event_date as touch_date,
                {{ dbt.concat(["'reactivated by '", 'events.event_description']) }} as touch_description,
                'system' as touch_actor,
                'behaviour' as touch_source
            from {{ events }} as events
            inner join sunsets
                on events.tenant_id = sunsets.tenant_id
                    and events.customer_id = sunsets.customer_id
                    and events.event_date = sunsets.next_touch_date
        ) as touches
    ) as ranked
    where touch_rank = 1
),

final as (
    select
        sunsets.tenant_id,
        sunsets.customer_id,
        {{ customer_status.add_days('sunsets.touch_date', 'sunsets.sunset_after_days') }} as from_date,
        sunsets.next_touch_date as to_date,
        {{ dbt.concat([
            "'no reactivating event or activation for '",
            'cast(sunsets.sunset_after_days as ' ~ dbt.type_string() ~ ')', "' days'"
        ]) }} as reason,
        ending_touches.touch_description as end_reason,
        ending_touches.touch_actor as end_actor,
        ending_touches.touch_source as end_source
    from sunsets
    left join ending_touches
        on sunsets.tenant_id = ending_touches.tenant_id
            and sunsets.customer_id = ending_touches.customer_id
            and sunsets.next_touch_date = ending_touches.touch_date
)

select * from final
