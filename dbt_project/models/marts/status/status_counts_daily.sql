{#- Published: per tenant, day, dimension and value (from the first day any of the tenant's
    customers had that value to the as-of date), how many customers had that value at the end
    of the day (rules §7, §9). Internal customers are left out (rules §9) and so are deleted ones (rules §4: "hidden
    from counts"). Built from the history's validity ranges (+1 where a range starts, -1
    where it ends, summed day by day), not from a customer x day grid. -#}
with

history as (
    -- the account statuses hidden from counts (seed account_statuses)
    select history.* from {{ ref('customer_status_history') }} as history
    inner join {{ ref('account_statuses') }} as account_statuses
        on history.account_status = account_statuses.status
    where not account_statuses.hidden_from_counts
),

by_dimension as (
    {%- set dimensions = [
        'status', 'account_status', 'status_label', 'lifecycle_status', 'member_status', 'is_billable'
    ] %}
    {%- for dimension in dimensions %}
    select
        tenant_id,
        '{{ dimension }}' as dimension,
        {% if dimension == 'is_billable' -%}
        case when is_billable then 'true' else 'false' end
        {%- else -%}
        {{ dimension }}
        {%- endif %} as value,
        valid_from,
        valid_to
    from history
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

deltas as (
    select
        tenant_id,
        dimension,
        value,
        day,
        sum(delta) as delta
    from (
        select
            tenant_id,
            dimension,
            value,
            valid_from as day,
            1 as delta
        from by_dimension
        union all
        select
            tenant_id,
            dimension,
            value,
            valid_to as day,
            -1 as delta
        from by_dimension
        where valid_to is not null
    ) as steps
    group by tenant_id, dimension, value, day
),

tenant_days as (
    select * from {{ ref('int_tenant_days') }}
),

dimension_values as (
    -- a value is counted from the first day any customer of the tenant had it: a value met
    -- for the first time on day X adds no rows before X (rules §1, a row counts from its own
    -- day on), and 0 from then on when nobody has it any more
    select
        tenant_id,
        dimension,
        value,
        min(valid_from) as first_day
    from by_dimension
    group by tenant_id, dimension, value
),

grid as (
    select
        tenant_days.tenant_id,
        tenant_days.day,
        dimension_values.dimension,
        dimension_values.value
    from tenant_days
    inner join dimension_values
        on tenant_days.tenant_id = dimension_values.tenant_id
            and tenant_days.day >= dimension_values.first_day
),

final as (
    select
        grid.tenant_id,
        grid.day as date,
        grid.dimension,
        grid.value,
        cast(sum(coalesce(deltas.delta, 0)) over (
            partition by grid.tenant_id, grid.dimension, grid.value order by grid.day
            rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as customers
    from grid
    left join deltas
        on grid.tenant_id = deltas.tenant_id
            and grid.dimension = deltas.dimension
            and grid.value = deltas.value
            and grid.day = deltas.day
)

select * from final
