{#- Published (an addition to the contract's tables): each customer's account status as
    validity ranges of instants (UTC), with the reason and "last updated on / by" of the
    change that started each range -- the account-status log (rules §4, §9). `valid_to` is
    exclusive; NULL = still holds. A run for D publishes D's world: a range that starts after
    D (local date, the tenant's time zone) is not shown, and the range that holds at the end
    of D is open (`valid_to` NULL) even when a later change already landed. -#}
-- reads the run's as-of date or id: rebuilt every night (plugins/customer_status/pipeline/build.py)
{{ config(tags=['as_of_date']) }}
with

intervals as (
    select * from {{ ref('int_account_status_intervals') }}
),

tenants as (
    select
        tenant_id,
        timezone
    from {{ ref('int_tenants') }}
),

final as (
    select
        intervals.tenant_id,
        intervals.customer_id,
        intervals.valid_from,
        case
            when {{ customer_status.local_date('intervals.valid_to', 'tenants.timezone') }}
                <= {{ customer_status.as_of_date() }}
                then intervals.valid_to
        end as valid_to,
        intervals.account_status,
        intervals.status_label,
        intervals.account_status_reason,
        intervals.account_status_updated_at,
        intervals.account_status_updated_by,
        intervals.account_status_source
    from intervals
    inner join tenants
        on intervals.tenant_id = tenants.tenant_id
    where {{ customer_status.local_date('intervals.valid_from', 'tenants.timezone') }}
        <= {{ customer_status.as_of_date() }}
)

select * from final
