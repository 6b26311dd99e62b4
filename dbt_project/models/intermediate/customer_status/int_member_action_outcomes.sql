{#- The outcome of every manual member action and CSV import row (rules §9): `rejected` (why
    is in `rejection_reason`), else what it did to the member's manual state at that moment:

    - a `deactivate` is `no_change` when an earlier deactivation still held (nothing
      reactivated the customer since), else `applied`;
    - an `activate` is `applied` when it lifted a deactivation that still held, or a sunset
      that held on its local day; else `no_change` (the member was already active, or is
      inactive for a reason an activate cannot lift: account status, suppression). -#}
with

actions as (
    select * from {{ ref('int_member_actions') }}
),

deactivations as (
    select * from {{ ref('int_member_deactivation_intervals') }}
),

sunsets as (
    select * from {{ ref('int_member_sunset_intervals') }}
),

customers as (
    select * from {{ ref('int_customers_enriched') }}
),

held_before as (
    -- actions that ended a deactivation still holding when they came
    select distinct
        tenant_id,
        customer_id,
        ended_by_action_id as action_id
    from deactivations
    where ended_by_action_id is not null
),

sunset_lifted as (
    select distinct
        actions.tenant_id,
        actions.customer_id,
        actions.action_id
    from actions
    inner join customers
        on actions.tenant_id = customers.tenant_id
            and actions.customer_id = customers.customer_id
    inner join sunsets
        on actions.tenant_id = sunsets.tenant_id
            and actions.customer_id = sunsets.customer_id
            and sunsets.from_date <= {{ customer_status.local_date('actions.requested_at', 'customers.timezone') }}
            and (
                sunsets.to_date is null
                or sunsets.to_date >= {{ customer_status.local_date('actions.requested_at', 'customers.timezone') }}
            )
    where actions.action = 'activate' and actions.outcome <> 'rejected'
),

final as (
    select
        actions.tenant_id,
        actions.action_id,
        actions.customer_id,
        actions.action,
        actions.requested_at,
        actions.reason,
        actions.actor,
        actions.source,
        case
            when actions.outcome = 'rejected' then 'rejected'
            when actions.action = 'deactivate' and held_before.action_id is not null then 'no_change'
            when actions.action = 'deactivate' then 'applied'
            when held_before.action_id is not null or sunset_lifted.action_id is not null then 'applied'
            else 'no_change'
        end as outcome,
        actions.rejection_reason
    from actions
    left join held_before
        on actions.tenant_id = held_before.tenant_id
            and actions.customer_id = held_before.customer_id
            and actions.action_id = held_before.action_id
    left join sunset_lifted
        on actions.tenant_id = sunset_lifted.tenant_id
            and actions.customer_id = sunset_lifted.customer_id
            and actions.action_id = sunset_lifted.action_id
)

select * from final
