{#- A day spine per tenant: every local date from the tenant's first customer's creation to
    the as-of date D. Tenant x day grain, the grid the daily counts are computed on. Counted
    back from D (day = D - offset), so it always ends on D, whatever the first creation date;
    `customer_status__max_history_days` bounds how far back (1900-01-01 to 2099-12-31: a
    created_at before 1900 is rejected at ingest). A history longer than the bound fails the
    data test `tenant_days_start_on_the_first_creation_day`: counts are never silently cut.
    Portable: dbt's `generate_series`, no engine date functions. -#}
-- reads the run's as-of date or id: rebuilt every night (plugins/customer_status/pipeline/build.py)
{{ config(tags=['as_of_date']) }}
with

customers as (
    select * from {{ ref('int_customers_enriched') }}
),

tenant_starts as (
    select
        tenant_id,
        min(created_date) as first_date
    from customers
    group by tenant_id
),

offsets as (
    select generated_number - 1 as day_offset
    from ({{ dbt.generate_series(var('customer_status__max_history_days')) }}) as series
),

final as (
    select
        tenant_starts.tenant_id,
        {{ customer_status.add_days(customer_status.as_of_date(), '0 - offsets.day_offset') }} as day
    from tenant_starts
    inner join offsets
        on offsets.day_offset <= {{ dbt.datediff('tenant_starts.first_date', customer_status.as_of_date(), 'day') }}
    where tenant_starts.first_date <= {{ customer_status.as_of_date() }}
)

select * from final
