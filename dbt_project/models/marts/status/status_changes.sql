{#- Published: every change of account_status, status_label, lifecycle_status, member_status
    or is_billable from one day to the next, up to the as-of date (rules §9), with the reason,
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
        tenant_id,
        customer_id,
        from_date as changed_on,
        'account_status' as dimension,
        previous_account_status as from_value,
        account_status as to_value,
        account_reason as reason,
        account_actor as actor,
        account_source as source
    from paired
    where previous_account_status <> account_status
    union all
    select
        tenant_id,
        customer_id,
        from_date as changed_on,
        'status_label' as dimension,
        previous_status_label as from_value,
        status_label as to_value,
        account_reason as reason,
        account_actor as actor,
        account_source as source
    from paired
    where previous_status_label <> status_label
    union all
    select
        tenant_id,
        customer_id,
        from_date as changed_on,
        'lifecycle_status' as dimension,
        previous_lifecycle_status as from_value,
        lifecycle_status as to_value,
        lifecycle_reason as reason,
        'system' as actor,
        'behaviour' as source
    from paired
    where previous_lifecycle_status <> lifecycle_status
    union all
    select
        tenant_id,
        customer_id,
        from_date as changed_on,
        'member_status' as dimension,
        previous_member_status as from_value,
        member_status as to_value,
        member_reason as reason,
        member_actor as actor,
        member_source as source
    from paired
    where previous_member_status <> member_status
    union all
    select
        tenant_id,
        customer_id,
        from_date as changed_on,
        'is_billable' as dimension,
        case when previous_is_billable then 'true' else 'false' end as from_value,
        case when is_billable then 'true' else 'false' end as to_value,
        case
            when is_billable then 'member active'
            when member_status = 'inactive' then {{ dbt.concat(["'member inactive: '", 'inactive_reason']) }}
            else 'does not accept marketing (billing basis: subscribers)'
        end as reason,
        case when member_status <> previous_member_status then member_actor else 'system' end as actor,
        'billing' as source
    from paired
    where previous_is_billable <> is_billable
),

final as (
    select * from changes
)

select * from final
