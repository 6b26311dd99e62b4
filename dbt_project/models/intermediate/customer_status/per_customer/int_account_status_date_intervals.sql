{#- Account status (and label) by local day: the status on day D is the one holding at the end
    of D in the tenant's time zone, so a range of instants [valid_from, valid_to) covers the
    local days [local date of valid_from, local date of valid_to). A status that held only
    within one day (superseded the same day) covers no day. -#}
with

intervals as (
    {{ customer_status.touched_rows(ref('int_account_status_intervals'), 'intervals') }}
),

customers as (
    select * from {{ ref('int_customers_enriched') }}
),

final as (
    select *
    from (
        select
            intervals.tenant_id,
            intervals.customer_id,
            intervals.account_status,
            intervals.status_label,
            {{ customer_status.local_date('intervals.valid_from', 'customers.timezone') }} as from_date,
            {{ customer_status.local_date('intervals.valid_to', 'customers.timezone') }} as to_date,
            intervals.account_status_reason,
            intervals.account_status_updated_at,
            intervals.account_status_updated_by,
            intervals.account_status_source
        from intervals
        inner join customers
            on intervals.tenant_id = customers.tenant_id
                and intervals.customer_id = customers.customer_id
    ) as days
    where to_date is null or to_date > from_date
)

select * from final
