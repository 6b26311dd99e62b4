{#- Published: each customer's statuses as validity ranges of local dates, from creation to
    the as-of date D (SPEC §9). `valid_to` is exclusive; NULL = still valid on D. Consecutive
    pieces with the same published statuses are one range, so a range starts exactly on a
    day when something a reader sees changed. -#}
with

segments as (
    select * from {{ ref('int_customer_status_segments') }}
    where from_date <= {{ customer_status.as_of_date() }}
),

changes_flagged as (
    select
        segments.*,
        case
            when lag(status) over w is null then 1
            when lag(status) over w <> status
                or lag(account_status) over w <> account_status
                or lag(status_label) over w <> status_label
                or lag(lifecycle_status) over w <> lifecycle_status
                or lag(member_status) over w <> member_status
                or coalesce(lag(inactive_reason) over w, '') <> coalesce(inactive_reason, '')
                or lag(is_billable) over w <> is_billable
                then 1
            else 0
        end as starts_range
    from segments
    window w as (partition by tenant_id, customer_id order by from_date)
),

numbered as (
    select
        changes_flagged.*,
        sum(starts_range) over (
            partition by tenant_id, customer_id order by from_date
            rows between unbounded preceding and current row
        ) as range_number
    from changes_flagged
),

ranges as (
    select
        tenant_id,
        customer_id,
        range_number,
        min(from_date) as valid_from,
        max(coalesce(to_date, cast('9999-12-31' as date))) as range_end,
        max(status) as status,
        max(account_status) as account_status,
        max(status_label) as status_label,
        max(lifecycle_status) as lifecycle_status,
        max(member_status) as member_status,
        max(inactive_reason) as inactive_reason,
        max(case when is_billable then 1 else 0 end) = 1 as is_billable
    from numbered
    group by tenant_id, customer_id, range_number
),

final as (
    select
        tenant_id,
        customer_id,
        valid_from,
        case when range_end > {{ customer_status.as_of_date() }} then null else range_end end as valid_to,
        status,
        account_status,
        status_label,
        lifecycle_status,
        member_status,
        inactive_reason,
        is_billable
    from ranges
)

select * from final
