{#- Published: every change of account_status, status_label, lifecycle_status, member_status
    or is_billable from one day to the next, up to the as-of date (SPEC §9), with the reason,
    actor and source of the change. `changed_on` is the first day with the new value.
    Behaviour-driven changes carry actor `system`. -#}
-- reads the run's as-of date or id: rebuilt every night (plugins/customer_status/pipeline/build.py)
{{ config(tags=['as_of_date']) }}
with

paired as (
    -- each segment with the published values of the day before it (NULL on the creation day)
    select * from {{ ref('int_customer_status_segments') }}
    where from_date <= {{ customer_status.as_of_date() }}
),

changes as (
    select
        tenant_id, customer_id, from_date as changed_on, 'account_status' as dimension,
        previous_account_status as from_value, account_status as to_value,
        account_reason as reason, account_actor as actor, account_source as source
    from paired
    where previous_account_status <> account_status
    union all
    select
        tenant_id, customer_id, from_date, 'status_label',
        previous_status_label, status_label, account_reason, account_actor, account_source
    from paired
    where previous_status_label <> status_label
    union all
    select
        tenant_id, customer_id, from_date, 'lifecycle_status',
        previous_lifecycle_status, lifecycle_status, lifecycle_reason, 'system', 'behaviour'
    from paired
    where previous_lifecycle_status <> lifecycle_status
    union all
    select
        tenant_id, customer_id, from_date, 'member_status',
        previous_member_status, member_status, member_reason, member_actor, member_source
    from paired
    where previous_member_status <> member_status
    union all
    select
        tenant_id, customer_id, from_date, 'is_billable',
        case when previous_is_billable then 'true' else 'false' end,
        case when is_billable then 'true' else 'false' end,
        case
            when is_billable then 'member active'
            when member_status = 'inactive' then {{ dbt.concat(["'member inactive: '", 'inactive_reason']) }}
            else 'does not accept marketing (billing basis: subscribers)'
        end,
        case when member_status <> previous_member_status then member_actor else 'system' end,
        'billing'
    from paired
    where previous_is_billable <> is_billable
),

final as (
    select * from changes
)

select * from final
