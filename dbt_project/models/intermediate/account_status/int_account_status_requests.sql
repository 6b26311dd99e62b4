{#- Everything that asks to change a customer's account status, one row each, with the
    checks that do not depend on the customer's state at the time (rules §4):

    - `set_status` / `restore` status actions (staff, bulk, API);
    - self-deletion (`customers.deleted_at`, actor `customer`);
    - merges (`merged_into` + `merged_at` -> archived, reason `merged into <id>`).

    `request_error` says why a request can never apply (unknown customer, unknown status or
    label, missing reason or actor, restore not allowed for the tenant, requested before
    the customer existed); the rest go to the fold in `int_account_status_events`. -#}
with

actions as (
    select * from {{ ref('stg_landing__status_actions') }}
    where action in ('set_status', 'restore')
),

customers as (
    select * from {{ ref('stg_landing__customers') }}
),

tenants as (
    select * from {{ ref('int_tenants') }}
),

labels as (
    select * from {{ ref('stg_landing__status_labels') }}
),

predefined as (
    select distinct to_status as account_status from {{ ref('account_status_transitions') }}
),

merges as (
    select * from {{ ref('int_customer_merges_resolved') }}
),

staff_requests as (
    select
        actions.tenant_id,
        actions.customer_id,
        actions.action_id as request_id,
        actions.requested_at,
        actions.action as request_kind,
        case
            when actions.action = 'restore' then 'active'
            else coalesce(predefined.account_status, labels.account_status)
        end as target_status,
        case
            when actions.action = 'restore' then 'active'
            else coalesce(predefined.account_status, labels.label)
        end as target_label,
        actions.requested_status,
        actions.reason,
        actions.actor,
        actions.source,
        case
            when customers.customer_id is null
                then {{ dbt.concat(["'unknown customer '", 'actions.customer_id']) }}
            when actions.action = 'set_status' and actions.requested_status is null
                then 'set_status needs a status'
            when actions.action = 'set_status'
                and predefined.account_status is null and labels.label is null
                then {{ dbt.concat(["'unknown status or label '", "''''", 'actions.requested_status', "''''"]) }}
            when actions.reason is null or trim(actions.reason) = ''
                then 'missing reason'
            when actions.actor is null or trim(actions.actor) = ''
                then 'missing actor'
            when actions.action = 'restore' and not tenants.deleted_can_be_restored
                then 'restore is not allowed for this tenant (deleted_can_be_restored is off)'
            when actions.requested_at < customers.created_at
                then 'requested before the customer was created'
        end as request_error
    from actions
    left join customers
        on customers.tenant_id = actions.tenant_id
        and customers.customer_id = actions.customer_id
    left join tenants
        on tenants.tenant_id = actions.tenant_id
    left join predefined
        on predefined.account_status = actions.requested_status
    left join labels
        on labels.tenant_id = actions.tenant_id
        and labels.label = actions.requested_status
),

self_deletions as (
    select
        tenant_id,
        customer_id,
        'self_deletion' as request_id,
        deleted_at as requested_at,
        'self_deletion' as request_kind,
        'deleted' as target_status,
        'deleted' as target_label,
        'deleted' as requested_status,
        'deleted by the customer' as reason,
        'customer' as actor,
        'customer' as source,
        case
            when deleted_at < created_at
                then 'deleted before the customer was created; the deletion is ignored'
        end as request_error
    from customers
    where deleted_at is not null
),

merge_requests as (
    select
        tenant_id,
        customer_id,
        {{ dbt.concat(["'merge:'", 'merged_into']) }} as request_id,
        merged_at as requested_at,
        'merge' as request_kind,
        'archived' as target_status,
        'archived' as target_label,
        'archived' as requested_status,
        {{ dbt.concat(["'merged into '", 'merged_into']) }} as reason,
        'system' as actor,
        'merge' as source,
        merge_problem as request_error
    from merges
    where merged_at is not null
),

final as (
    select * from staff_requests
    union all
    select * from self_deletions
    union all
    select * from merge_requests
)

select * from final
