{#- Published: every rejected landing row (`scope` row) and every rejected whole file
    (`scope` file, row_number NULL), with the reason in words (docs/contract.md), plus merges
    that cannot apply (`scope` merge: a cycle, a self-merge, an unknown target or a merge
    dated before the customer was created) and self-deletions dated before the customer was
    created (`scope` deletion): the customer row itself is loaded, only its merge or deletion
    is ignored; plus, per source, file and tenant, the rows held because no accepted `tenants`
    row declares their tenant (`scope` held, `held_rows` the count, rules §1): loaded and kept
    in `raw`, not computed or published, reported every night until the tenant is declared
    (then the status engine computes them from their own dates). -#}
{%- set held_sources = [
    'customers', 'orders', 'subscription_events', 'engagement_events', 'status_actions',
    'status_labels', 'suppressions', 'status_imports', 'erasure_requests',
] %}
with

rejects as (
    select * from {{ source('landing', 'import_rejects') }}
),

merges as (
    select * from {{ ref('int_customer_merges_resolved') }}
    where merge_problem is not null
),

customers as (
    select * from {{ ref('stg_landing__customers') }}
),

declared_tenants as (
    select tenant_id from {{ ref('int_tenants') }}
),

rejected_tenants as (
    select distinct tenant_id from {{ source('landing', 'import_rejects') }}
    where source = 'tenants' and tenant_id is not null
),

held_rows as (
    {%- for source_name in held_sources %}
    select
        '{{ source_name }}' as source,
        _source_file as file,
        tenant_id,
        count(*) as held_rows
    from {{ source('landing', source_name) }}
    where tenant_id not in (select tenant_id from declared_tenants)
    group by _source_file, tenant_id
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

held as (
    select
        held_rows.source,
        held_rows.file,
        held_rows.tenant_id,
        held_rows.held_rows,
        {{ dbt.concat([
            "'tenant '''", 'held_rows.tenant_id', "''' is not declared in tenants'",
            "case when rejected_tenants.tenant_id is not null"
            ~ " then ' (its tenants row was rejected)' else '' end",
            "': '", 'cast(held_rows.held_rows as ' ~ dbt.type_string() ~ ')',
            "case when held_rows.held_rows = 1 then ' row held' else ' rows held' end",
        ]) }} as error
    from held_rows
    left join rejected_tenants
        on rejected_tenants.tenant_id = held_rows.tenant_id
),

erasures as (
    select * from {{ ref('int_erasure_requests') }}
    where outcome = 'rejected'
),

deletions as (
    select * from {{ ref('int_account_status_requests') }}
    where request_kind = 'self_deletion' and request_error is not null
),

final as (
    select
        source,
        file,
        row_number,
        tenant_id,
        error,
        case when row_number is null then 'file' else 'row' end as scope,
        cast(null as {{ dbt.type_bigint() }}) as held_rows
    from rejects

    union all

    select
        'customers' as source,
        customers.source_file as file,
        customers.source_row_number as row_number,
        merges.tenant_id,
        merges.merge_problem as error,
        'merge' as scope,
        cast(null as {{ dbt.type_bigint() }}) as held_rows
    from merges
    inner join customers
        on customers.tenant_id = merges.tenant_id
        and customers.customer_id = merges.customer_id

    union all

    select
        'customers' as source,
        customers.source_file as file,
        customers.source_row_number as row_number,
        deletions.tenant_id,
        deletions.request_error as error,
        'deletion' as scope,
        cast(null as {{ dbt.type_bigint() }}) as held_rows
    from deletions
    inner join customers
        on customers.tenant_id = deletions.tenant_id
        and customers.customer_id = deletions.customer_id

    union all

    select
        'erasure_requests' as source,
        source_file as file,
        source_row_number as row_number,
        tenant_id,
        rejection_reason as error,
        'erasure' as scope,
        cast(null as {{ dbt.type_bigint() }}) as held_rows
    from erasures

    union all

    select
        source,
        file,
        cast(null as {{ dbt.type_bigint() }}) as row_number,
        tenant_id,
        error,
        'held' as scope,
        held_rows
    from held
)

select * from final
