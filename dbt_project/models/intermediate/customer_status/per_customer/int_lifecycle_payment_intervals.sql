{#- The two payment facts of the lifecycle rules (rules §3), as coalesced local-date ranges
    [from_date, to_date) per customer:

    - `payment_in_window`: a counting payment in the last N days (window end or refund,
      whichever comes first);
    - `payment_ever`: at least one counting payment so far (a refunded payment stops
      counting from the refund's local date on);
    - `payment_refunded`: the day a counting payment was refunded (one day), so that a
      change it causes can say so.

    A payment inherited through a merge counts for an owner only inside the owner's range
    (`counts_until_date`, int_customer_merge_owners). Each range keeps the order that started
    it, for a reason a person can read. -#}
with

payments as (
    -- every range is per customer: the touched customers' payments are all it needs
    {{ customer_status.touched_rows(ref('int_payments_attributed'), 'payments') }}
),

windows as (
    select
        tenant_id,
        customer_id,
        order_id,
        counts_from_date as from_date,
        {{ customer_status.earliest_end(
            customer_status.earliest_end('window_end_date', 'refund_date'), 'counts_until_date'
        ) }} as to_date
    from payments
),

ever as (
    select
        tenant_id,
        customer_id,
        order_id,
        counts_from_date as from_date,
        {{ customer_status.earliest_end('refund_date', 'counts_until_date') }} as to_date
    from payments
),

window_islands as (
    {{ customer_status.coalesce_intervals(
        'windows', ['tenant_id', 'customer_id'], carry=['order_id'], order_by_tiebreak='order_id'
    ) }}
),

ever_islands as (
    {{ customer_status.coalesce_intervals(
        'ever', ['tenant_id', 'customer_id'], carry=['order_id'], order_by_tiebreak='order_id'
    ) }}
),

refunds as (
    select
        tenant_id,
        customer_id,
        min(order_id) as order_id,
        refund_date as from_date,
        {{ customer_status.add_days('refund_date', 1) }} as to_date
    from payments
    where refund_date is not null and refund_date >= counts_from_date
        -- a refund after the history moved on to the next owner is that owner's
        and (counts_until_date is null or refund_date < counts_until_date)
    group by tenant_id, customer_id, refund_date
),

final as (
    select
        tenant_id,
        customer_id,
        'payment_in_window' as fact,
        order_id,
        from_date,
        to_date
    from window_islands
    union all
    select
        tenant_id,
        customer_id,
        'payment_ever' as fact,
        order_id,
        from_date,
        to_date
    from ever_islands
    union all
    select
        tenant_id,
        customer_id,
        'payment_refunded' as fact,
        order_id,
        from_date,
        to_date
    from refunds
)

select * from final
