{#- Every order, with payments made while the account was suspended or under a fraud status
    flagged as outliers (SPEC §5). Outliers never count as activity, reactivation or revenue
    downstream (`int_payments_attributed` leaves them out). -#}
with

orders as (
    select * from {{ ref('stg_landing__orders') }}
),

blocking_periods as (
    select * from {{ ref('int_account_status_intervals') }}
    where account_status in ('suspended', 'fraud_suspected', 'fraud_confirmed')
),

final as (
    select
        orders.tenant_id,
        orders.order_id,
        orders.customer_id,
        orders.created_at,
        orders.paid_at,
        orders.refunded_at,
        orders.amount,
        orders.currency,
        blocking_periods.account_status is not null as is_outlier,
        case when blocking_periods.account_status is not null then
            {{ dbt.concat(["'paid while the account was '", 'blocking_periods.account_status']) }}
        end as outlier_reason
    from orders
    left join blocking_periods
        on blocking_periods.tenant_id = orders.tenant_id
        and blocking_periods.customer_id = orders.customer_id
        and orders.paid_at >= blocking_periods.valid_from
        and (blocking_periods.valid_to is null or orders.paid_at < blocking_periods.valid_to)
)

select * from final
