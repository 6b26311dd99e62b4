{#- Published: every order, with outliers flagged and why (SPEC §5). -#}
with

orders as (
    select * from {{ ref('int_orders_flagged') }}
),

final as (
    select
        tenant_id,
        order_id,
        customer_id,
        created_at,
        paid_at,
        refunded_at,
        amount,
        currency,
        is_outlier,
        outlier_reason
    from orders
)

select * from final
