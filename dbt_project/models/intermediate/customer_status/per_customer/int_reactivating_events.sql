{#- Reactivating events (rules §6): a counting payment, or, where the tenant's
    `reactivation_trigger` is `any_engagement`, also any engagement event. They lift a manual
    deactivation and reset the sunset clock. Only the customer's own events count here (a
    merged customer's past activity does not reactivate the survivor). -#}
with

payments as (
    select * from {{ ref('int_payments_attributed') }}
    where not via_merge
),

engagement as (
    select * from {{ ref('stg_landing__engagement_events') }}
),

customers as (
    {{ customer_status.touched_rows(ref('int_customers_enriched'), 'customers') }}
),

from_payments as (
    select
        payments.tenant_id,
        payments.customer_id,
        payments.paid_at as event_at,
        payments.paid_date as event_date,
        payments.order_id as event_id,
        {{ dbt.concat(["'order '", 'payments.order_id']) }} as event_description
    from payments
    inner join customers
        on payments.tenant_id = customers.tenant_id
            and payments.customer_id = customers.customer_id
),

from_engagement as (
    select
        engagement.tenant_id,
        engagement.customer_id,
        engagement.occurred_at as event_at,
        {{ customer_status.local_date('engagement.occurred_at', 'customers.timezone') }} as event_date,
        engagement.event_id,
        {{ dbt.concat([
            "coalesce(engagement.event_type, 'engagement')", "' '", 'engagement.event_id'
        ]) }} as event_description
    from engagement
    inner join customers
        on engagement.tenant_id = customers.tenant_id
            and engagement.customer_id = customers.customer_id
    where customers.reactivation_trigger = 'any_engagement'
),

final as (
    select * from from_payments
    union all
    select * from from_engagement
)

select * from final
