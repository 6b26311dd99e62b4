{#- Published: each customer's statuses as validity ranges of local dates, from creation to
    the as-of date D (rules §9). `valid_to` is exclusive; NULL = still valid on D. Consecutive
    segments with the same published statuses are one range, so a range starts exactly on a
    day when something a reader sees changed: `int_customer_status_segments` links each
    segment to its range, and this model keeps the first segment of every range that starts by D. -#}
-- reads the run's as-of date or id: rebuilt every night (plugins/customer_status/pipeline/build.py)
{{ config(tags=['as_of_date']) }}
with

range_starts as (
    select * from {{ ref('int_customer_status_segments') }}
    where from_date = range_valid_from
        and from_date <= {{ customer_status.as_of_date() }}
),

final as (
    select
        tenant_id,
        customer_id,
        from_date as valid_from,
        case
            when range_valid_to > {{ customer_status.as_of_date() }} then null
            else range_valid_to
        end as valid_to,
        status,
        account_status,
        status_label,
        lifecycle_status,
        member_status,
        inactive_reason,
        is_billable
    from range_starts
)

select * from final
