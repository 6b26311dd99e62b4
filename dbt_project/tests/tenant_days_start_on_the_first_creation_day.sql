{#- The tenant x day spine (int_tenant_days) covers the whole history: it starts on the
    tenant's first creation day. A history longer than `customer_status__max_history_days`
    (the spine counts back from the as-of date) fails the night here rather than publishing
    daily counts that miss their first days. One row per tenant whose spine is cut. -#}
with

firsts as (
    select
        tenant_id,
        min(created_date) as first_date
    from {{ ref('int_customers_enriched') }}
    group by tenant_id
),

spines as (
    select
        tenant_id,
        min(day) as first_day
    from {{ ref('int_tenant_days') }}
    group by tenant_id
)

select
    firsts.tenant_id,
    firsts.first_date,
    spines.first_day
from firsts
left join spines
    on firsts.tenant_id = spines.tenant_id
where firsts.first_date <= {{ customer_status.as_of_date() }}
    and (spines.first_day is null or spines.first_day <> firsts.first_date)
