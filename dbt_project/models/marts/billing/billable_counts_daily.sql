{#- Published: per tenant and day, the billable customers (rules §7), the active and inactive
    members and the customers counted (internal and deleted customers left out, as in
    `status_counts_daily`, which this pivots). -#}
with

counts as (
    select * from {{ ref('status_counts_daily') }}
    where dimension in ('is_billable', 'member_status', 'status')
),

final as (
    select
        tenant_id,
        date,
        cast(
            sum(
                case when dimension = 'is_billable' and value = 'true' then customers else 0 end
            ) as {{ dbt.type_bigint() }}
        )
            as billable_customers,
        cast(
            sum(
                case when dimension = 'member_status' and value = 'active' then customers else 0 end
            ) as {{ dbt.type_bigint() }}
        )
            as active_members,
        cast(
            sum(
                case when dimension = 'member_status' and value = 'inactive' then customers else 0 end
            ) as {{ dbt.type_bigint() }}
        )
            as inactive_members,
        cast(sum(case when dimension = 'status' then customers else 0 end) as {{ dbt.type_bigint() }}) as customers
    from counts
    group by tenant_id, date
)

select * from final
