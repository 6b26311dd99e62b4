{#- Published: every order as it stood at the end of the as-of date D (local, the tenant's
    time zone), with outliers flagged and why (rules §5) and orders that cannot be right
    flagged with `invalid_reason` (unknown customer, paid before created, refunded before
    paid; such orders count nowhere). A run for D publishes D's world: an order created after
    D is not shown, a payment or refund after D is shown as not yet made (NULL), and a flag
    whose cause lies after D is not shown either. -#}
-- reads the run's as-of date or id: rebuilt every night (plugins/customer_status/pipeline/build.py)
{{ config(tags=['as_of_date']) }}
with

orders as (
    select * from {{ ref('int_orders_flagged') }}
),

tenants as (
    select
        tenant_id,
        timezone
    from {{ ref('int_tenants') }}
),

dated as (
    select
        orders.*,
        {{ customer_status.local_date('orders.paid_at', 'tenants.timezone') }}
        <= {{ customer_status.as_of_date() }} as paid_by_d,
        {{ customer_status.local_date('orders.refunded_at', 'tenants.timezone') }}
        <= {{ customer_status.as_of_date() }} as refunded_by_d,
        {{ customer_status.local_date('orders.invalid_since', 'tenants.timezone') }}
        <= {{ customer_status.as_of_date() }} as invalid_by_d
    from orders
    inner join tenants
        on orders.tenant_id = tenants.tenant_id
    where {{ customer_status.local_date('orders.created_at', 'tenants.timezone') }}
        <= {{ customer_status.as_of_date() }}
),

final as (
    select
        tenant_id,
        order_id,
        customer_id,
        created_at,
        case when paid_by_d then paid_at end as paid_at,
        case when refunded_by_d then refunded_at end as refunded_at,
        amount,
        currency,
        coalesce(is_outlier and paid_by_d, false) as is_outlier,
        case when is_outlier and paid_by_d then outlier_reason end as outlier_reason,
        case when invalid_by_d then invalid_reason end as invalid_reason
    from dated
)

select * from final
