{#- Every order, with payments made while the account was suspended or under a fraud status
    flagged as outliers (rules §5), and orders that cannot be right flagged as invalid
    (`invalid_reason`, NULL when fine; the first that holds): an unknown customer (no
    customer of the tenant has the id, yet), paid before it was created, refunded before it
    was paid. Neither outliers nor invalid orders ever count as activity, reactivation or
    revenue downstream (`int_payments_attributed` leaves them out). An order of an unknown
    customer counts once the customer lands, from its own dates: the flag is recomputed
    build that recomputes the customer, and the customer's arrival touches it
    (`int_customers_touched`, which also touches the customer an earlier version of a
    re-landed order named). A per-customer model (macros/per_customer.sql): an order's row
    reads only its own customer's existence and account ranges.
    `invalid_since` is the instant the problem shows (the later of the two timestamps
    involved), so that a run for an earlier date does not show it (`orders` clips at D). -#}
with

orders as (
    {{ customer_status.touched_rows(ref('stg_landing__orders'), 'orders') }}
),

customers as (
    select
        customers.tenant_id,
        customers.customer_id
    from ({{ customer_status.touched_rows(ref('stg_landing__customers'), 'customers') }}) as customers
),

blocking_periods as (
    -- the account statuses under which a payment is an outlier (seed account_statuses)
    select intervals.*
    from ({{ customer_status.touched_rows(ref('int_account_status_intervals'), 'touched_intervals') }}) as intervals
    inner join {{ ref('account_statuses') }} as account_statuses
        on intervals.account_status = account_statuses.status
    where account_statuses.flags_outliers
),

checked as (
    select
        orders.*,
        case
            when customers.customer_id is null then 'unknown customer'
            when orders.paid_at < orders.created_at then 'paid before it was created'
            when orders.refunded_at < orders.paid_at then 'refunded before it was paid'
        end as invalid_reason,
        case
            when customers.customer_id is null then orders.created_at
            when orders.paid_at < orders.created_at then orders.created_at
            when orders.refunded_at < orders.paid_at then orders.paid_at
        end as invalid_since
    from orders
    left join customers
        on orders.tenant_id = customers.tenant_id
            and orders.customer_id = customers.customer_id
),

final as (
    select
        checked.tenant_id,
        checked.order_id,
        checked.customer_id,
        checked.created_at,
        checked.paid_at,
        checked.refunded_at,
        checked.amount,
        checked.currency,
        blocking_periods.account_status is not null as is_outlier,
        case when blocking_periods.account_status is not null then
                {{ dbt.concat(["'paid while the account was '", 'blocking_periods.account_status']) }}
        end as outlier_reason,
        checked.invalid_reason,
        checked.invalid_since
    from checked
    left join blocking_periods
        on checked.tenant_id = blocking_periods.tenant_id
            and checked.customer_id = blocking_periods.customer_id
            and checked.paid_at >= blocking_periods.valid_from
            and (blocking_periods.valid_to is null or checked.paid_at < blocking_periods.valid_to)
)

select * from final
