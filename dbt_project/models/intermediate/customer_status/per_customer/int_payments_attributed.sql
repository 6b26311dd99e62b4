{#- Every counting payment (paid, not an outlier: rules §1, §5) with the local dates that the
    lifecycle rules need, for the customer who paid and, when that customer was merged, for
    each customer its history counts for at the time (`int_customer_merge_owners`: with A
    merged into B on day 1 and B into C on day 4, B on days 1-3, C from day 4). For such an
    owner the payment counts from greatest(paid date, the owner's first day) until its own
    window or refund ends, or the owner's range ends, whichever comes first.

    - `counts_from_date`: first local day the payment counts for `customer_id`;
    - `counts_until_date`: day it stops counting for `customer_id` because the history moves
      on to the next owner (exclusive), NULL for the payer's own payments and the last owner;
    - `window_end_date`: paid date + N (exclusive): the payment is "in the last N days" on
      paid date .. paid date + N - 1;
    - `refund_date`: local date of the refund (exclusive end of everything), NULL if none.

    A per-customer model (macros/per_customer.sql), keyed by the customer a row counts for:
    an incremental build recomputes the payer rows of the touched customers and the merge
    rows of the touched owners (whose payer may be untouched: a customer merged into a
    touched one). Every change to a merge chain touches each owner in it
    (`int_customers_touched`, merge partners). -#}
with

counting_orders as (
    select * from {{ ref('int_orders_flagged') }}
    where paid_at is not null and not is_outlier and invalid_reason is null
),

customers as (
    select * from {{ ref('int_customers_enriched') }}
),

-- each owner range of a merged customer's history, by the customer it counts for
owned as (
    select
        tenant_id,
        owner_id as customer_id,
        customer_id as merged_customer_id,
        owner_from_date,
        owner_to_date
    from {{ ref('int_customer_merge_owners') }}
),

owners as (
    {{ customer_status.touched_rows('owned', 'owned') }}
),

own_orders as (
    {{ customer_status.touched_rows('counting_orders', 'counting_orders') }}
),

-- the payments of the customers merged into a recomputed owner
merged_orders as (
    select counting_orders.*
    from counting_orders
    inner join (
        select distinct
            tenant_id,
            merged_customer_id
        from owners
    ) as merged
        on counting_orders.tenant_id = merged.tenant_id
            and counting_orders.customer_id = merged.merged_customer_id
),

paid as (
    -- `for_payer`: the payer's own row (a touched payer), else an owner's (a touched owner)
    select
        orders.tenant_id,
        orders.customer_id,
        orders.order_id,
        orders.for_payer,
        orders.paid_at,
        {{ customer_status.local_date('orders.paid_at', 'customers.timezone') }} as paid_date,
        {{ customer_status.local_date('orders.refunded_at', 'customers.timezone') }} as refund_date,
        customers.activity_window_days
    from (
        select
            own_orders.*,
            true as for_payer
        from own_orders
        union all
        select
            merged_orders.*,
            false as for_payer
        from merged_orders
    ) as orders
    inner join customers
        on orders.tenant_id = customers.tenant_id
            and orders.customer_id = customers.customer_id
),

attributed as (
    select
        tenant_id,
        customer_id,
        order_id,
        false as via_merge,
        paid_at,
        paid_date,
        paid_date as counts_from_date,
        cast(null as date) as counts_until_date,
        refund_date,
        activity_window_days
    from paid
    where for_payer
    union all
    select
        paid.tenant_id,
        owners.customer_id,
        paid.order_id,
        true as via_merge,
        paid.paid_at,
        paid.paid_date,
        {{ customer_status.latest_start('paid.paid_date', 'owners.owner_from_date') }} as counts_from_date,
        owners.owner_to_date as counts_until_date,
        paid.refund_date,
        paid.activity_window_days
    from paid
    inner join owners
        on paid.tenant_id = owners.tenant_id
            and paid.customer_id = owners.merged_customer_id
    where not paid.for_payer
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
        counts_until_date,
        {{ customer_status.add_days('paid_date', 'activity_window_days') }} as window_end_date,
        refund_date,
        activity_window_days
    from attributed
    -- paid after this owner's range ended: it counts for a later owner only
    where counts_until_date is null or counts_until_date > counts_from_date
)

select * from final
