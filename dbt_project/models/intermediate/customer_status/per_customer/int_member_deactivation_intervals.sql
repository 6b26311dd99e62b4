{#- Manual deactivation (rules §6 rule 3) as local-date ranges [from_date, to_date): a
    `deactivate` (staff, bulk, API or CSV import) holds until the customer's next manual
    action (an `activate` ends it; another `deactivate` takes over) or the first reactivating
    event after it, whichever comes first. Each range carries the action's reason, actor and
    source, and what ended it (`end_reason`, `end_actor`, `end_source`; `ended_by_action_id`
    when the next manual action ended it). Incremental like the other per-customer models:
    a night recomputes the touched customers only (`int_customers_touched`). -#}
with

customers as (
    {{ customer_status.touched_rows(ref('int_customers_enriched'), 'customers') }}
),

actions as (
    select actions.* from {{ ref('int_member_actions') }} as actions
    inner join customers
        on actions.tenant_id = customers.tenant_id
            and actions.customer_id = customers.customer_id
    where actions.outcome <> 'rejected' and actions.customer_id is not null
),

events as (
    select * from {{ ref('int_reactivating_events') }}
),

sequenced as (
    select
        actions.*,
        lead(requested_at) over action_order as next_action_at,
        lead(action) over action_order as next_action,
        lead(action_id) over action_order as next_action_id,
        lead(reason) over action_order as next_reason,
        lead(actor) over action_order as next_actor,
        lead(source) over action_order as next_source
    from actions
    window action_order as (partition by tenant_id, customer_id order by requested_at, action_id)
),

deactivations as (
    select * from sequenced
    where action = 'deactivate'
),

first_reactivations as (
    select *
    from (
        select
            deactivations.tenant_id,
            deactivations.customer_id,
            deactivations.action_id,
            events.event_at,
            events.event_description,
            row_number() over (
                partition by deactivations.tenant_id, deactivations.customer_id, deactivations.action_id
                order by events.event_at, events.event_id
            ) as event_rank
        from deactivations
        inner join events
            on deactivations.tenant_id = events.tenant_id
                and deactivations.customer_id = events.customer_id
                and deactivations.requested_at < events.event_at
                and (deactivations.next_action_at is null or deactivations.next_action_at > events.event_at)
    ) as ranked
    where event_rank = 1
),

ended as (
    select
        deactivations.tenant_id,
        deactivations.customer_id,
        deactivations.action_id,
        deactivations.requested_at,
        deactivations.reason,
        deactivations.actor,
        deactivations.source,
        coalesce(first_reactivations.event_at, deactivations.next_action_at) as ended_at,
        case
            when first_reactivations.event_at is null then deactivations.next_action_id
        end as ended_by_action_id,
        case
            when first_reactivations.event_at is not null
                then {{ dbt.concat(["'reactivated by '", 'first_reactivations.event_description']) }}
            when deactivations.next_action = 'activate'
                then {{ dbt.concat(["'activated: '", "coalesce(deactivations.next_reason, '')"]) }}
            when deactivations.next_action = 'deactivate'
                then {{ dbt.concat(["'deactivated again: '", "coalesce(deactivations.next_reason, '')"]) }}
        end as end_reason,
        case
            when first_reactivations.event_at is not null then 'system'
            else deactivations.next_actor
        end as end_actor,
        case
            when first_reactivations.event_at is not null then 'behaviour'
            else deactivations.next_source
        end as end_source
    from deactivations
    left join first_reactivations
        on deactivations.tenant_id = first_reactivations.tenant_id
            and deactivations.customer_id = first_reactivations.customer_id
            and deactivations.action_id = first_reactivations.action_id
),

final as (
    select
        ended.tenant_id,
        ended.customer_id,
        ended.action_id,
        {{ customer_status.local_date('ended.requested_at', 'customers.timezone') }} as from_date,
        {{ customer_status.local_date('ended.ended_at', 'customers.timezone') }} as to_date,
        ended.reason,
        ended.actor,
        ended.source,
        ended.end_reason,
        ended.end_actor,
        ended.end_source,
        ended.ended_by_action_id
    from ended
    inner join customers
        on ended.tenant_id = customers.tenant_id
            and ended.customer_id = customers.customer_id
)

select * from final
