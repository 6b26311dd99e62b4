{#- Published: every customer that exists on the as-of date D, with its statuses on D, its
    contact permissions (rules §8), the "last updated on / by" of its account status, and
    `status_since`: the first day of the current run of its headline status. `code`, `email`,
    `full_name`, `phone` and `accepts_marketing` are additions (the export reads them).
    Contact permissions and those attributes are the customer version holding on D
    (`int_customer_attribute_intervals`, rules §1): a version stamped after D counts from its
    own day, in later runs. -#}
-- reads the run's as-of date or id: rebuilt every night (plugins/customer_status/pipeline/build.py)
{{ config(tags=['as_of_date']) }}
with

on_as_of_date as (
    -- the segment that holds on D; it carries `status_since` (int_customer_status_segments)
    select * from {{ ref('int_customer_status_segments') }}
    where from_date <= {{ customer_status.as_of_date() }}
        and (to_date is null or to_date > {{ customer_status.as_of_date() }})
),

customers as (
    select * from {{ ref('int_customers_enriched') }}
),

attributes as (
    -- the version that holds on D
    select * from {{ ref('int_customer_attribute_intervals') }}
    where from_date <= {{ customer_status.as_of_date() }}
        and (to_date is null or to_date > {{ customer_status.as_of_date() }})
),

final as (
    select
        on_as_of_date.tenant_id,
        on_as_of_date.customer_id,
        {{ customer_status.as_of_date() }} as as_of_date,
        on_as_of_date.status,
        on_as_of_date.account_status,
        on_as_of_date.status_label,
        on_as_of_date.lifecycle_status,
        on_as_of_date.member_status,
        on_as_of_date.inactive_reason,
        on_as_of_date.is_billable,
        on_as_of_date.member_status = 'active'
        and attributes.email is not null
        and (attributes.accepts_marketing or not customers.send_to_accept_marketing_only) as can_email,
        on_as_of_date.member_status = 'active' and attributes.phone is not null as can_sms,
        on_as_of_date.member_status = 'active' as can_push,
        not account_statuses.blocks_redemption
        and not (on_as_of_date.account_status = 'suspended' and customers.suspended_blocks_redemption)
            as can_redeem,
        on_as_of_date.account_reason as account_status_reason,
        on_as_of_date.account_status_updated_at,
        on_as_of_date.account_actor as account_status_updated_by,
        on_as_of_date.status_since,
        attributes.code,
        attributes.email,
        attributes.full_name,
        attributes.phone,
        coalesce(attributes.accepts_marketing, false) as accepts_marketing,
        customers.created_at
    from on_as_of_date
    inner join customers
        on on_as_of_date.tenant_id = customers.tenant_id
            and on_as_of_date.customer_id = customers.customer_id
    left join attributes
        on on_as_of_date.tenant_id = attributes.tenant_id
            and on_as_of_date.customer_id = attributes.customer_id
    -- what the account status blocks (rules §8; seed account_statuses)
    left join {{ ref('account_statuses') }} as account_statuses
        on on_as_of_date.account_status = account_statuses.status
)

select * from final
