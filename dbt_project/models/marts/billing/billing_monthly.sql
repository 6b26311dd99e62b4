{#- Published: per tenant and month (rules §7): the billable count at month end (or on the last
    computed day of an unfinished month), the peak daily count and the first day it was
    reached, the average daily count over the days computed, and whether the month is
    complete (its last day has been computed). -#}
with

daily as (
    select * from {{ ref('billable_counts_daily') }}
),

tenants as (
    select * from {{ ref('int_tenants') }}
),

by_month as (
    select
        daily.*,
        cast({{ dbt.date_trunc('month', 'daily.date') }} as date) as month,
        row_number() over (
            partition by tenant_id, cast({{ dbt.date_trunc('month', 'daily.date') }} as date)
            order by date desc
        ) as latest_rank,
        row_number() over (
            partition by tenant_id, cast({{ dbt.date_trunc('month', 'daily.date') }} as date)
            order by billable_customers desc, date asc
        ) as peak_rank
    from daily
),

final as (
    select
        by_month.tenant_id,
        by_month.month,
        max(tenants.billing_basis) as billing_basis,
        max(case when by_month.latest_rank = 1 then by_month.billable_customers end) as month_end_billable,
        max(case when by_month.peak_rank = 1 then by_month.billable_customers end) as peak_billable,
        max(case when by_month.peak_rank = 1 then by_month.date end) as peak_date,
        cast(round(avg(cast(by_month.billable_customers as {{ dbt.type_numeric() }})), 2) as {{ dbt.type_numeric() }})
            as average_billable,
        count(*) as days_computed,
        max(by_month.date) = cast({{ dbt.last_day('by_month.month', 'month') }} as date) as is_complete
    from by_month
    left join tenants
        on by_month.tenant_id = tenants.tenant_id
    group by by_month.tenant_id, by_month.month
)

select * from final
