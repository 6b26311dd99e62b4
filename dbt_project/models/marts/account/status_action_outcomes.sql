{#- Published: every status action and every row of every CSV status import, with its
    outcome (`applied`, `no_change`, `rejected`) and, when rejected, why (rules §4, §9). A run
    for D publishes D's world: an action or import row requested after D (local date, the
    tenant's time zone) is not shown; it shows in the runs for its own day on. -#}
-- reads the run's as-of date or id: rebuilt every night (plugins/customer_status/pipeline/build.py)
{{ config(tags=['as_of_date']) }}
with

account_events as (
    select * from {{ ref('int_account_status_events') }}
    where request_kind in ('set_status', 'restore')
),

account_requests as (
    select * from {{ ref('int_account_status_requests') }}
),

member_actions as (
    select * from {{ ref('int_member_action_outcomes') }}
),

account_outcomes as (
    select
        account_events.tenant_id,
        account_events.request_id as action_id,
        account_events.customer_id,
        account_events.request_kind as action,
        account_requests.requested_status,
        account_events.requested_at,
        account_events.outcome,
        account_events.rejection_reason,
        account_events.source,
        account_events.actor,
        account_events.reason
    from account_events
    inner join account_requests
        on account_events.tenant_id = account_requests.tenant_id
            and account_events.customer_id = account_requests.customer_id
            and account_events.request_id = account_requests.request_id
),

rejected_requests as (
    select
        tenant_id,
        request_id as action_id,
        customer_id,
        request_kind as action,
        requested_status,
        requested_at,
        'rejected' as outcome,
        request_error as rejection_reason,
        source,
        actor,
        reason
    from account_requests
    where request_error is not null
        and request_kind in ('set_status', 'restore')
),

member_outcomes as (
    select
        tenant_id,
        action_id,
        customer_id,
        action,
        cast(null as {{ dbt.type_string() }}) as requested_status,
        requested_at,
        outcome,
        rejection_reason,
        source,
        actor,
        reason
    from member_actions
),

tenants as (
    select
        tenant_id,
        timezone
    from {{ ref('int_tenants') }}
),

all_outcomes as (
    select * from account_outcomes
    union all
    select * from rejected_requests
    union all
    select * from member_outcomes
),

final as (
    select all_outcomes.*
    from all_outcomes
    inner join tenants
        on all_outcomes.tenant_id = tenants.tenant_id
    where {{ customer_status.local_date('all_outcomes.requested_at', 'tenants.timezone') }}
        <= {{ customer_status.as_of_date() }}
)

select * from final
