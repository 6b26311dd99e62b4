{#- Every counting payment (paid, not an outlier: SPEC §1, §5) with the local dates that the
    lifecycle rules need, for the customer who paid and, when that customer was merged, for
    the survivor from the merge on (a payment counts for the survivor from
    greatest(paid date, merge date) until its own window or refund ends).

    - `counts_from_date`: first local day the payment counts for `customer_id`;
    - `window_end_date`: paid date + N (exclusive): the payment is "in the last N days" on
      paid date .. paid date + N - 1;
    - `refund_date`: local date of the refund (exclusive end of everything), NULL if none. -#}
with

orders as (
    select * from {{ ref('int_orders_flagged') }}
    where paid_at is not null and not is_outlier and invalid_reason is null
),

customers as (
    select * from {{ ref('int_customers_enriched') }}
),

merges as (
    select tenant_id, customer_id, survivor_id, merged_at
    from {{ ref('int_customer_merges_resolved') }}
    where merge_problem is null and survivor_id is not null
),

owners as (
    select
        orders.tenant_id,
        orders.customer_id,
        orders.order_id,
        orders.paid_at,
        orders.refunded_at,
        orders.paid_at as counts_from_at,
        false as via_merge
    from orders
    union all
    select
        orders.tenant_id,
        merges.survivor_id as customer_id,
        orders.order_id,
        orders.paid_at,
        orders.refunded_at,
        case when orders.paid_at > merges.merged_at then orders.paid_at else merges.merged_at end as counts_from_at,
        true as via_merge
    from orders
    inner join merges
        on merges.tenant_id = orders.tenant_id
        and merges.customer_id = orders.customer_id
),

dated as (
    select
        owners.tenant_id,
        owners.customer_id,
        owners.order_id,
        owners.via_merge,
        owners.paid_at,
        {{ customer_status.local_date('owners.paid_at', 'customers.timezone') }} as paid_date,
        {{ customer_status.local_date('owners.counts_from_at', 'customers.timezone') }} as counts_from_date,
        {{ customer_status.local_date('owners.refunded_at', 'customers.timezone') }} as refund_date,
        customers.activity_window_days
    from owners
    inner join customers
        on customers.tenant_id = owners.tenant_id
        and customers.customer_id = owners.customer_id
),

final as (
    select
        tenant_id,
        customer_id,
        order_id,
        via_merge,
        paid_at,
        paid_date,
        counts_from_date,
        {{ customer_status.add_days('paid_date', 'activity_window_days') }} as window_end_date,
        refund_date,
        activity_window_days
    from dated
)

select * from final
